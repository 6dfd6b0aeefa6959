// The doctor's login probe: the TLS rule by port, the mechanism chosen from
// what the server offers (OAUTHBEARER when XOAUTH2 is not), and a refusal
// reported with the server's words, its error challenge and their meaning.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultSecurity, probeLogin } from '../../src/doctor/index.js';
import { saslOauthbearer, saslXoauth2 } from '../../src/broker/index.js';
import { startScriptedMailServer } from '../support/scripted-mail-server.js';
import type { ScriptedMailServer } from '../support/scripted-mail-server.js';

const TOKEN = 'header.payload-of-a-token.signature';
const USER = 'alice@contoso.example';
/** The strings the broker hands out with the token (Token.sasl_xoauth2, Token.sasl_oauthbearer): the probe sends them as they are. */
const TOKEN_STRINGS = { saslXoauth2: saslXoauth2(USER, TOKEN), saslOauthbearer: saslOauthbearer(USER, TOKEN) };
const CHALLENGE = Buffer.from('{"status":"invalid_token","schemes":"bearer"}').toString('base64');

describe('doctor probe', () => {
  const servers: ScriptedMailServer[] = [];
  after(async () => {
    await Promise.all(servers.map((server) => server.close()));
  });

  test('TLS at once on 993, 995 and 465; STARTTLS on any other port', () => {
    assert.deepEqual([993, 995, 465, 143, 110, 587, 25, 1143].map(defaultSecurity), ['tls', 'tls', 'tls', 'starttls', 'starttls', 'starttls', 'starttls', 'starttls']);
  });

  test('OAUTHBEARER when the server does not offer XOAUTH2; the refusal, its challenge and Dovecot meaning; no token in the result', async () => {
    const server = await startScriptedMailServer(async (c) => {
      c.send('+OK Dovecot ready.');
      assert.equal(await c.readLine(), 'CAPA');
      c.send('+OK', 'SASL OAUTHBEARER', '.');
      const auth = await c.readLine();
      const [, mechanism = '', initial = ''] = auth.split(' ');
      assert.equal(mechanism, 'OAUTHBEARER');
      // The broker's Token.sasl_oauthbearer as it is: no second OAUTHBEARER builder in the doctor.
      assert.equal(initial, TOKEN_STRINGS.saslOauthbearer);
      c.send(`+ ${CHALLENGE}`);
      assert.equal(await c.readLine(), '');
      c.send('-ERR [AUTH] Authentication failed.');
      await c.readLine();
      c.send('+OK Logging out.');
    });
    servers.push(server);
    const result = await probeLogin({
      protocol: 'pop3',
      host: server.host,
      port: server.port,
      security: 'none',
      timeoutMs: 20_000,
      token: TOKEN_STRINGS,
      context: { protocol: 'pop3', kind: 'user', mailbox: 'pop', loginUser: USER, username: USER, clientId: 'client' },
    });
    assert.deepEqual(server.failures, []);
    assert.equal(result.mechanism, 'OAUTHBEARER');
    assert.equal(result.accepted, false);
    assert.deepEqual(result.reply, ['-ERR [AUTH] Authentication failed.']);
    assert.deepEqual(result.errorDetail, { status: 'invalid_token', schemes: 'bearer' });
    assert.equal(result.explanation?.id, 'dovecot-authentication-failed');
    assert.ok(result.transcript.some((line) => /^C: AUTH OAUTHBEARER <OAUTHBEARER string, \d+ bytes>$/.test(line)), result.transcript.join('\n'));
    assert.ok(!JSON.stringify(result).includes(TOKEN));
  });

  test('a server that echoes the token in an unexpected answer: the mail_protocol_error message quotes it without the token', async () => {
    const server = await startScriptedMailServer(async (c) => {
      c.send('* OK ready');
      const capability = await c.readLine();
      c.send('* CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2', `${capability.split(' ')[0] ?? ''} OK done`);
      const auth = await c.readLine();
      const token = Buffer.from(auth.split(' ')[3] ?? '', 'base64').toString().split('\x01')[1]?.replace('auth=Bearer ', '') ?? '';
      c.send(`=) token ${token} looks odd`);
      await c.readLine();
      c.end();
    });
    servers.push(server);
    const result = await probeLogin({
      protocol: 'imap',
      host: server.host,
      port: server.port,
      security: 'none',
      timeoutMs: 20_000,
      token: TOKEN_STRINGS,
      context: { protocol: 'imap', kind: 'user', mailbox: 'imap', loginUser: USER, username: USER, clientId: 'client' },
    });
    assert.deepEqual(server.failures, []);
    assert.equal(result.accepted, false);
    assert.equal(result.error?.code, 'mail_protocol_error');
    assert.match(result.error?.message ?? '', /answered "=\) token <access token> looks odd" during AUTHENTICATE/);
    assert.ok(!JSON.stringify(result).includes(TOKEN), JSON.stringify(result, null, 2));
  });

  /** An IMAP server offering both mechanisms that logs in whatever it is sent, and notes the mechanism. */
  const bothMechanisms = async (used: string[]): Promise<ScriptedMailServer> => {
    const server = await startScriptedMailServer(async (c) => {
      c.send('* OK ready');
      for (;;) {
        const [tag = '', verb = '', mechanism = ''] = (await c.readLine()).split(' ');
        if (verb === 'CAPABILITY') c.send('* CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2 AUTH=OAUTHBEARER', `${tag} OK done`);
        else if (verb === 'AUTHENTICATE') {
          used.push(mechanism);
          c.send(`${tag} OK Logged in`);
        } else {
          c.send('* BYE', `${tag} OK bye`);
          return c.end();
        }
      }
    });
    servers.push(server);
    return server;
  };
  const imapProbe = (server: ScriptedMailServer, mechanism?: 'XOAUTH2' | 'OAUTHBEARER') =>
    probeLogin({
      protocol: 'imap',
      host: server.host,
      port: server.port,
      security: 'none',
      timeoutMs: 20_000,
      token: TOKEN_STRINGS,
      ...(mechanism === undefined ? {} : { mechanism }),
      context: { protocol: 'imap', kind: 'user', mailbox: 'imap', loginUser: USER, username: USER, clientId: 'client' },
    });

  test('XOAUTH2 when offered; a forced mechanism (--mechanism) is used even when both are offered', async () => {
    const used: string[] = [];
    const server = await bothMechanisms(used);
    assert.equal((await imapProbe(server)).mechanism, 'XOAUTH2');
    const forced = await imapProbe(server, 'OAUTHBEARER');
    assert.equal(forced.accepted, true);
    assert.equal(forced.mechanism, 'OAUTHBEARER');
    assert.deepEqual(used, ['XOAUTH2', 'OAUTHBEARER']);
    assert.equal(server.conversations[1]?.[1], `A2 AUTHENTICATE OAUTHBEARER ${TOKEN_STRINGS.saslOauthbearer}`);
    assert.deepEqual(server.failures, []);
  });

  test('a forced mechanism the server does not offer: mail_mechanism_not_offered, naming what it offers', async () => {
    const server = await startScriptedMailServer(async (c) => {
      c.send('+OK ready');
      assert.equal(await c.readLine(), 'CAPA');
      c.send('+OK', 'SASL XOAUTH2', '.');
      assert.equal(await c.readLine(), 'QUIT');
      c.send('+OK bye');
      c.end();
    });
    servers.push(server);
    const result = await probeLogin({
      protocol: 'pop3',
      host: server.host,
      port: server.port,
      security: 'none',
      timeoutMs: 20_000,
      token: TOKEN_STRINGS,
      mechanism: 'OAUTHBEARER',
      context: { protocol: 'pop3', kind: 'user', mailbox: 'pop', loginUser: USER, username: USER, clientId: 'client' },
    });
    assert.equal(result.accepted, false);
    assert.equal(result.mechanism, 'OAUTHBEARER');
    assert.equal(result.error?.code, 'mail_mechanism_not_offered');
    assert.match(result.error?.message ?? '', /does not offer SASL OAUTHBEARER over POP3 \(it offers: XOAUTH2\)/);
    assert.match(result.error?.remediation ?? '', /--mechanism xoauth2/);
    assert.deepEqual(server.failures, []);
  });

  test('a server that cannot be reached is a result with the error, not a throw', async () => {
    const result = await probeLogin({
      protocol: 'smtp',
      host: '127.0.0.1',
      port: 1,
      security: 'starttls',
      timeoutMs: 20_000,
      token: TOKEN_STRINGS,
      context: { protocol: 'smtp', kind: 'user', mailbox: 'smtp', loginUser: USER, username: USER, clientId: 'client' },
    });
    assert.equal(result.accepted, false);
    assert.equal(result.error?.code, 'server_unreachable');
    assert.match(result.error?.message ?? '', /127\.0\.0\.1:1 \(ECONNREFUSED\)/);
  });
});
