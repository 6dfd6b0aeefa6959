// The mail login client (src/mail) against scripted servers on 127.0.0.1:
// each protocol's login, its error challenge, STARTTLS and implicit TLS with
// a test CA, proxies (squid, a SOCKS5 server), and every error code.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { BrokerError } from '../../src/errors/index.js';
import { saslXoauth2 } from '../../src/broker/index.js';
import { decodeErrorChallenge, openMailSession, resolveProxy } from '../../src/mail/index.js';
import type { MailSessionOptions } from '../../src/mail/index.js';
import { makeAuthority } from '../support/pki.js';
import type { IssuedCertificate, TestAuthority } from '../support/pki.js';
import { freePort } from '../support/ports.js';
import { startScriptedMailServer } from '../support/scripted-mail-server.js';
import type { Conversation, ScriptedMailServer } from '../support/scripted-mail-server.js';
import { startSocks5AuthServer } from '../support/socks5-auth-server.js';
import { squidBinary, startSquid } from '../support/squid.js';
import type { Squid } from '../support/squid.js';

const TOKEN = `eyJ0eXAiOiJKV1QifQ.${'x'.repeat(1400)}.signature`;
const XOAUTH2 = saslXoauth2('sales@contoso.example', TOKEN);
const ERROR_JSON = { status: '401', schemes: 'bearer', scope: 'https://outlook.office365.com/.default' };
const ERROR_CHALLENGE = Buffer.from(JSON.stringify(ERROR_JSON)).toString('base64');
const TIMEOUT_MS = 20_000;

function assertNoSecret(lines: readonly string[]): void {
  const text = lines.join('\n');
  assert.ok(!text.includes(TOKEN), 'the token is in the transcript');
  assert.ok(!text.includes(XOAUTH2), 'the XOAUTH2 string is in the transcript');
}

async function rejectsWith(promise: Promise<unknown>, code: string, message: RegExp): Promise<BrokerError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof BrokerError, `not a BrokerError: ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.match(error.message, message);
    assert.ok(!error.message.includes(TOKEN));
    assert.ok(error.remediation !== undefined && error.remediation.length > 0, 'no remediation');
    return error;
  }
  assert.fail(`expected a ${code} error`);
}

/** An IMAP server: CAPABILITY as given, then AUTHENTICATE answered by `onAuth`, then SELECT. */
function imapScript(capabilities: string, onAuth: (conversation: Conversation, tag: string, line: string) => Promise<void> | void) {
  return async (c: Conversation): Promise<void> => {
    c.send('* OK [CAPABILITY IMAP4rev1] scripted ready');
    for (;;) {
      const line = await c.readLine();
      const [tag = '', verb = ''] = line.split(' ');
      if (verb === 'CAPABILITY') c.send(`* CAPABILITY ${capabilities}`, `${tag} OK done`);
      else if (verb === 'AUTHENTICATE') await onAuth(c, tag, line);
      else if (verb === 'SELECT') c.send('* 3 EXISTS', '* FLAGS {7}', '\\Seen x', `${tag} OK [READ-WRITE] SELECT completed`);
      else if (verb === 'LOGOUT') {
        c.send('* BYE', `${tag} OK LOGOUT completed`);
        c.end();
        return;
      } else c.send(`${tag} BAD unexpected`);
    }
  };
}

describe('mail login client', () => {
  let authority: TestAuthority;
  let certificate: IssuedCertificate;
  const servers: ScriptedMailServer[] = [];
  const serve = async (...args: Parameters<typeof startScriptedMailServer>): Promise<ScriptedMailServer> => {
    const server = await startScriptedMailServer(...args);
    servers.push(server);
    return server;
  };
  const options = (server: ScriptedMailServer, extra: Partial<MailSessionOptions> & Pick<MailSessionOptions, 'protocol'>): MailSessionOptions => ({
    host: server.host,
    port: server.port,
    security: 'none',
    timeoutMs: TIMEOUT_MS,
    ...extra,
  });

  before(() => {
    authority = makeAuthority('mail test CA');
    certificate = authority.issueServer();
  });
  after(async () => {
    await Promise.all(servers.map((server) => server.close()));
  });

  describe('IMAP', () => {
    test('logs in with SASL-IR on the AUTHENTICATE line; the transcript hides the string', async () => {
      const server = await serve(
        imapScript('IMAP4rev1 SASL-IR AUTH=XOAUTH2 AUTH=OAUTHBEARER', (c, tag) => {
          c.send(`${tag} OK [CAPABILITY IMAP4rev1] Logged in`);
        }),
      );
      const session = await openMailSession(options(server, { protocol: 'imap' }));
      assert.deepEqual(session.mechanisms, ['XOAUTH2', 'OAUTHBEARER']);
      const result = await session.authenticate('XOAUTH2', XOAUTH2);
      assert.equal(result.accepted, true);
      assert.deepEqual(result.reply, ['A2 OK [CAPABILITY IMAP4rev1] Logged in']);
      const select = await session.command('SELECT INBOX');
      assert.deepEqual(select, ['* 3 EXISTS', '* FLAGS {7}\r\n\\Seen x', 'A3 OK [READ-WRITE] SELECT completed']);
      await session.close();
      assert.equal(server.conversations[0]?.[1], `A2 AUTHENTICATE XOAUTH2 ${XOAUTH2}`);
      assert.ok(session.transcript.includes(`C: A2 AUTHENTICATE XOAUTH2 <XOAUTH2 string, ${XOAUTH2.length} bytes>`), session.transcript.join('\n'));
      assertNoSecret(session.transcript);
      assert.deepEqual(server.failures, []);
    });

    test('without SASL-IR waits for "+", and answers an error challenge with an empty line before the tagged NO', async () => {
      const server = await serve(
        imapScript('IMAP4rev1 AUTH=XOAUTH2', async (c, tag) => {
          c.send('+ ');
          const response = await c.readLine();
          assert.equal(response, XOAUTH2);
          c.send(`+ ${ERROR_CHALLENGE}`);
          assert.equal(await c.readLine(), '');
          c.send(`${tag} NO [AUTHENTICATIONFAILED] Authentication failed.`);
        }),
      );
      const session = await openMailSession(options(server, { protocol: 'imap' }));
      const result = await session.authenticate('XOAUTH2', XOAUTH2);
      await session.close();
      assert.equal(result.accepted, false);
      assert.deepEqual(result.reply, ['A2 NO [AUTHENTICATIONFAILED] Authentication failed.']);
      assert.deepEqual(result.errorDetail, ERROR_JSON);
      assert.equal(server.conversations[0]?.[1], 'A2 AUTHENTICATE XOAUTH2');
      assertNoSecret(session.transcript);
      assert.deepEqual(server.failures, []);
    });

    test('STARTTLS with the test CA, then CAPABILITY again over TLS', async () => {
      let tlsStarted = false;
      const server = await serve(
        async (c) => {
          c.send('* OK ready');
          for (;;) {
            const line = await c.readLine();
            const [tag = '', verb = ''] = line.split(' ');
            if (verb === 'CAPABILITY') c.send(tlsStarted ? '* CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2' : '* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED', `${tag} OK`);
            else if (verb === 'STARTTLS') {
              c.send(`${tag} OK Begin TLS negotiation now.`);
              await c.startTls();
              tlsStarted = true;
            } else if (verb === 'AUTHENTICATE') c.send(`${tag} OK Logged in`);
            else if (verb === 'LOGOUT') return c.send(`${tag} OK bye`);
          }
        },
        { certificate },
      );
      const session = await openMailSession(options(server, { protocol: 'imap', security: 'starttls', ca: authority.certificatePem, servername: 'localhost' }));
      assert.deepEqual(session.mechanisms, ['XOAUTH2']);
      assert.equal((await session.authenticate('XOAUTH2', XOAUTH2)).accepted, true);
      await session.close();
      assert.ok(session.transcript.some((line) => /^-- TLS TLSv1\.[23] established with localhost --$/.test(line)), session.transcript.join('\n'));
    });

    test('implicit TLS: trusted with the CA; untrusted without it; the wrong name is said to be the wrong name', async () => {
      const server = await serve(imapScript('IMAP4rev1 AUTH=XOAUTH2', (c, tag) => c.send(`${tag} OK`)), { certificate, implicitTls: true });
      const session = await openMailSession(options(server, { protocol: 'imap', security: 'tls', ca: authority.certificatePem }));
      await session.close();
      await rejectsWith(openMailSession(options(server, { protocol: 'imap', security: 'tls' })), 'tls_untrusted', /127\.0\.0\.1:\d+ is not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/);
      const mismatch = await rejectsWith(
        openMailSession(options(server, { protocol: 'imap', security: 'tls', ca: authority.certificatePem, servername: 'imap.contoso.example' })),
        'tls_untrusted',
        /ERR_TLS_CERT_ALTNAME_INVALID: it is not issued for that name/,
      );
      assert.match(mismatch.remediation ?? '', /name the certificate is issued for/);
    });

    test('TLS to a plain-text port is a protocol error that suggests --starttls', async () => {
      const server = await serve(imapScript('IMAP4rev1', () => undefined));
      const error = await rejectsWith(openMailSession(options(server, { protocol: 'imap', security: 'tls' })), 'mail_protocol_error', /TLS handshake with the mail server 127\.0\.0\.1:\d+ failed/);
      assert.match(error.remediation ?? '', /--starttls/);
    });

    test('a mechanism the server does not offer', async () => {
      const server = await serve(imapScript('IMAP4rev1 AUTH=PLAIN', () => undefined));
      const session = await openMailSession(options(server, { protocol: 'imap' }));
      await rejectsWith(session.authenticate('XOAUTH2', XOAUTH2), 'mail_mechanism_not_offered', /does not offer SASL XOAUTH2 over IMAP \(it offers: PLAIN\)/);
      await session.close();
    });

    test('STARTTLS asked of a server that does not offer it', async () => {
      const server = await serve(imapScript('IMAP4rev1 AUTH=XOAUTH2', () => undefined));
      const error = await rejectsWith(openMailSession(options(server, { protocol: 'imap', security: 'starttls' })), 'mail_protocol_error', /does not offer STARTTLS/);
      assert.match(error.remediation ?? '', /--tls/);
    });

    test('a server that is no IMAP server (an HTTP answer) is a protocol error', async () => {
      const server = await serve((c) => {
        c.send('HTTP/1.1 400 Bad Request');
        c.end();
      });
      await rejectsWith(openMailSession(options(server, { protocol: 'imap' })), 'mail_protocol_error', /did not greet as an IMAP server \(it sent "HTTP\/1\.1 400 Bad Request"\)/);
    });
  });

  describe('POP3', () => {
    test('AUTH with the initial response on the line; STLS first; CAPA parsed', async () => {
      let secure = false;
      const server = await serve(
        async (c) => {
          c.send('+OK scripted POP3');
          for (;;) {
            const line = await c.readLine();
            if (line === 'CAPA') c.send('+OK', 'TOP', 'UIDL', ...(secure ? ['SASL XOAUTH2 OAUTHBEARER'] : ['STLS']), 'USER', '.');
            else if (line === 'STLS') {
              c.send('+OK Begin TLS');
              await c.startTls();
              secure = true;
            } else if (line.startsWith('AUTH XOAUTH2 ')) c.send('+OK Logged in.');
            else if (line === 'STAT') c.send('+OK 2 320');
            else if (line === 'LIST') c.send('+OK 2 messages', '1 120', '2 200', '.');
            else if (line === 'QUIT') return c.send('+OK bye');
          }
        },
        { certificate },
      );
      const session = await openMailSession(options(server, { protocol: 'pop3', security: 'starttls', ca: authority.certificatePem }));
      assert.deepEqual(session.mechanisms, ['XOAUTH2', 'OAUTHBEARER']);
      const result = await session.authenticate('XOAUTH2', XOAUTH2);
      assert.deepEqual(result, { accepted: true, reply: ['+OK Logged in.'] });
      assert.deepEqual(await session.command('STAT'), ['+OK 2 320']);
      assert.deepEqual(await session.command('LIST'), ['+OK 2 messages', '1 120', '2 200']);
      await session.close();
      assert.ok(server.conversations[0]?.includes(`AUTH XOAUTH2 ${XOAUTH2}`));
      assertNoSecret(session.transcript);
    });

    test('an error challenge is answered with an empty line; the -ERR is the reply', async () => {
      const server = await serve(async (c) => {
        c.send('+OK ready');
        assert.equal(await c.readLine(), 'CAPA');
        c.send('+OK', 'SASL XOAUTH2', '.');
        assert.match(await c.readLine(), /^AUTH XOAUTH2 /);
        c.send(`+ ${ERROR_CHALLENGE}`);
        assert.equal(await c.readLine(), '');
        c.send('-ERR [AUTH] Authentication failed.');
        assert.equal(await c.readLine(), 'QUIT');
        c.send('+OK');
      });
      const session = await openMailSession(options(server, { protocol: 'pop3' }));
      const result = await session.authenticate('XOAUTH2', XOAUTH2);
      await session.close();
      assert.deepEqual(result, { accepted: false, reply: ['-ERR [AUTH] Authentication failed.'], errorDetail: ERROR_JSON });
      assert.deepEqual(server.failures, []);
    });
  });

  describe('SMTP', () => {
    test('EHLO, STARTTLS, EHLO again; AUTH XOAUTH2 alone, then the string after 334', async () => {
      let secure = false;
      const server = await serve(
        async (c) => {
          c.send('220-smtp.scripted ESMTP', '220 second greeting line');
          for (;;) {
            const line = await c.readLine();
            if (line.startsWith('EHLO ')) c.send('250-smtp.scripted', '250-PIPELINING', ...(secure ? ['250-AUTH PLAIN XOAUTH2'] : ['250-STARTTLS']), '250 8BITMIME');
            else if (line === 'STARTTLS') {
              c.send('220 2.0.0 Ready to start TLS');
              await c.startTls();
              secure = true;
            } else if (line === 'AUTH XOAUTH2') {
              c.send('334 ');
              assert.equal(await c.readLine(), XOAUTH2);
              c.send('235 2.7.0 Authentication successful');
            } else if (line.startsWith('MAIL FROM:')) c.send('250 2.1.0 Ok');
            else if (line === 'QUIT') return c.send('221 2.0.0 Bye');
          }
        },
        { certificate },
      );
      const session = await openMailSession(options(server, { protocol: 'smtp', security: 'starttls', ca: authority.certificatePem }));
      assert.equal(session.greeting, '220-smtp.scripted ESMTP\n220 second greeting line');
      assert.deepEqual(session.mechanisms, ['PLAIN', 'XOAUTH2']);
      const result = await session.authenticate('XOAUTH2', XOAUTH2);
      assert.deepEqual(result, { accepted: true, reply: ['235 2.7.0 Authentication successful'] });
      assert.deepEqual(await session.command('MAIL FROM:<sales@contoso.example>'), ['250 2.1.0 Ok']);
      await session.close();
      const received = server.conversations[0] ?? [];
      assert.deepEqual(received.slice(0, 4), ['EHLO token-broker.localhost', 'STARTTLS', 'EHLO token-broker.localhost', 'AUTH XOAUTH2']);
      assertNoSecret(session.transcript);
      assert.deepEqual(server.failures, []);
    });

    test('a 334 error challenge is answered with an empty line and the 535 is the reply', async () => {
      const server = await serve(async (c) => {
        c.send('220 ready');
        assert.match(await c.readLine(), /^EHLO /);
        c.send('250-hi', '250 AUTH=LOGIN XOAUTH2');
        assert.equal(await c.readLine(), 'AUTH XOAUTH2');
        c.send('334 ');
        await c.readLine();
        c.send(`334 ${ERROR_CHALLENGE}`);
        assert.equal(await c.readLine(), '');
        c.send('535 5.7.3 Authentication unsuccessful [SN4PR0501CA0054.namprd05.prod.outlook.com]');
        await c.readLine();
        c.send('221 bye');
      });
      const session = await openMailSession(options(server, { protocol: 'smtp' }));
      const result = await session.authenticate('XOAUTH2', XOAUTH2);
      await session.close();
      assert.equal(result.accepted, false);
      assert.deepEqual(result.reply, ['535 5.7.3 Authentication unsuccessful [SN4PR0501CA0054.namprd05.prod.outlook.com]']);
      assert.deepEqual(result.errorDetail, ERROR_JSON);
      assert.deepEqual(server.failures, []);
    });
  });

  describe('secrets a server echoes back', () => {
    /** No part of the token or of the SASL string long enough to matter: what a 200-character cut of a quoted line would leave. */
    const assertNothingSecret = (text: string): void => {
      assertNoSecret([text]);
      assert.ok(!text.includes(TOKEN.slice(0, 30)), `the start of the token is in: ${text.slice(0, 300)}`);
      assert.ok(!text.includes(XOAUTH2.slice(0, 100)), `the start of the XOAUTH2 string is in: ${text.slice(0, 300)}`);
    };

    test('IMAP: an unexpected answer quoting our AUTHENTICATE line is quoted in the error without the string', async () => {
      const server = await serve(imapScript('IMAP4rev1 SASL-IR AUTH=XOAUTH2', (c, _tag, line) => c.send(`? BAD unparsable: ${line}`)));
      const session = await openMailSession(options(server, { protocol: 'imap' }));
      const error = await rejectsWith(session.authenticate('XOAUTH2', XOAUTH2), 'mail_protocol_error', /answered "\? BAD unparsable: A2 AUTHENTICATE XOAUTH2 <XOAUTH2 string, \d+ bytes>" during AUTHENTICATE/);
      await session.close();
      assertNothingSecret(`${error.message} ${error.remediation ?? ''}`);
      assertNoSecret(session.transcript);
    });

    test('POP3: an unexpected answer quoting the token is quoted without it', async () => {
      const server = await serve(async (c) => {
        c.send('+OK ready');
        assert.equal(await c.readLine(), 'CAPA');
        c.send('+OK', 'SASL XOAUTH2', '.');
        await c.readLine();
        c.send(`?? the token ${TOKEN} is not one of ours`);
        await c.readLine();
        c.send('+OK');
      });
      const session = await openMailSession(options(server, { protocol: 'pop3' }));
      const error = await rejectsWith(session.authenticate('XOAUTH2', XOAUTH2), 'mail_protocol_error', /answered "\?\? the token <access token> is not one of ours" to AUTH XOAUTH2/);
      await session.close();
      assertNothingSecret(error.message);
    });

    test('SMTP: a line that is no SMTP reply, echoing the string, is quoted without it', async () => {
      const server = await serve(async (c) => {
        c.send('220 ready');
        await c.readLine();
        c.send('250-hi', '250 AUTH XOAUTH2');
        assert.equal(await c.readLine(), 'AUTH XOAUTH2');
        c.send('334 ');
        const response = await c.readLine();
        c.send(`what is ${response}?`);
        await c.readLine();
        c.send('221 bye');
      });
      const session = await openMailSession(options(server, { protocol: 'smtp' }));
      const error = await rejectsWith(session.authenticate('XOAUTH2', XOAUTH2), 'mail_protocol_error', /answered "what is <XOAUTH2 string, \d+ bytes>\?", which is no SMTP reply/);
      await session.close();
      assertNothingSecret(error.message);
    });

    test('a refusal and an error challenge that echo the token are returned without it', async () => {
      const echoing = Buffer.from(JSON.stringify({ status: '401', token: TOKEN })).toString('base64');
      const server = await serve(
        imapScript('IMAP4rev1 SASL-IR AUTH=XOAUTH2', async (c, tag) => {
          c.send(`+ ${echoing}`);
          assert.equal(await c.readLine(), '');
          c.send(`${tag} NO [AUTHENTICATIONFAILED] not valid: ${TOKEN}`);
        }),
      );
      const session = await openMailSession(options(server, { protocol: 'imap' }));
      const result = await session.authenticate('XOAUTH2', XOAUTH2);
      await session.close();
      assert.equal(result.accepted, false);
      assert.deepEqual(result.reply, ['A2 NO [AUTHENTICATIONFAILED] not valid: <access token>']);
      assert.deepEqual(result.errorDetail, { status: '401', token: '<access token>' });
      assertNothingSecret(JSON.stringify(result));
      assert.deepEqual(server.failures, []);
    });
  });

  describe('errors', () => {
    test('nothing listens: server_unreachable, naming host:port', async () => {
      const port = await freePort();
      await rejectsWith(openMailSession({ protocol: 'imap', host: '127.0.0.1', port, security: 'none', timeoutMs: TIMEOUT_MS }), 'server_unreachable', new RegExp(`127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`));
    });

    test('a server that never greets: timeout, saying what we waited for', async () => {
      const held = new Set<Socket>();
      const silent: Server = createServer((socket) => held.add(socket));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      try {
        const port = (silent.address() as AddressInfo).port;
        await rejectsWith(openMailSession({ protocol: 'smtp', host: '127.0.0.1', port, security: 'none', timeoutMs: 300 }), 'timeout', /within 300 ms \(waiting for the SMTP greeting\)/);
      } finally {
        for (const socket of held) socket.destroy();
        await new Promise<void>((resolve) => silent.close(() => resolve()));
      }
    });

    test('a cancelled signal ends the wait', async () => {
      const silent: Server = createServer(() => undefined);
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      try {
        const controller = new AbortController();
        const opening = openMailSession({ protocol: 'imap', host: '127.0.0.1', port: (silent.address() as AddressInfo).port, security: 'none', timeoutMs: 600_000, signal: controller.signal });
        controller.abort();
        await rejectsWith(opening, 'timeout', /was cancelled/);
      } finally {
        await new Promise<void>((resolve) => silent.close(() => resolve()));
      }
    });
  });

  describe('through a SOCKS5 proxy', () => {
    test('logs in through it with its credentials; a wrong password is proxy_auth_failed', async () => {
      const socks = await startSocks5AuthServer({ username: 'broker', password: 'socks-secret', hostnames: ['imap.contoso.test'] });
      try {
        const server = await serve(imapScript('IMAP4rev1 SASL-IR AUTH=XOAUTH2', (c, tag) => c.send(`${tag} OK`)));
        const proxy = { name: 'office', url: socks.url, username: 'broker', password: { reveal: () => 'socks-secret' } };
        const session = await openMailSession({ protocol: 'imap', host: 'imap.contoso.test', port: server.port, security: 'none', timeoutMs: TIMEOUT_MS, proxy });
        assert.equal((await session.authenticate('XOAUTH2', XOAUTH2)).accepted, true);
        await session.close();
        assert.deepEqual(socks.tunnels, [{ target: `imap.contoso.test:${server.port}`, username: 'broker' }]);
        const wrong = { ...proxy, password: { reveal: () => 'wrong' } };
        const error = await rejectsWith(
          openMailSession({ protocol: 'imap', host: 'imap.contoso.test', port: server.port, security: 'none', timeoutMs: TIMEOUT_MS, proxy: wrong }),
          'proxy_auth_failed',
          /proxy office \(socks5:\/\/127\.0\.0\.1:\d+\) refused our credentials .* imap\.contoso\.test:\d+/,
        );
        assert.match(error.remediation ?? '', /proxies\.office\.username/);
        await rejectsWith(
          openMailSession({ protocol: 'imap', host: 'unknown.contoso.test', port: server.port, security: 'none', timeoutMs: TIMEOUT_MS, proxy }),
          'proxy_unreachable',
          /would not connect to unknown\.contoso\.test:\d+: the proxy could not connect: host unreachable/,
        );
      } finally {
        await socks.close();
      }
    });

    test('a proxy that is not there: proxy_unreachable', async () => {
      const port = await freePort();
      await rejectsWith(
        openMailSession({ protocol: 'imap', host: '127.0.0.1', port: 143, security: 'none', timeoutMs: TIMEOUT_MS, proxy: { name: 'office', url: `socks5://127.0.0.1:${port}` } }),
        'proxy_unreachable',
        /proxy office .* cannot be reached \(ECONNREFUSED\)/,
      );
    });
  });

  describe('through squid (HTTP CONNECT)', { skip: squidBinary.skip }, () => {
    let squid: Squid;
    before(async () => {
      squid = await startSquid({ username: 'broker', password: 'squid-secret', hostnames: ['pop.contoso.test'] });
    });
    after(async () => {
      await squid.stop();
    });

    test('logs in through the tunnel with the proxy credentials; a wrong password is proxy_auth_failed', async () => {
      const server = await serve(async (c) => {
        c.send('+OK ready');
        await c.readLine();
        c.send('+OK', 'SASL XOAUTH2', '.');
        await c.readLine();
        c.send('+OK Logged in.');
        await c.readLine();
        c.send('+OK bye');
      });
      const proxy = { name: 'corp', url: squid.url, username: 'broker', password: { reveal: () => 'squid-secret' } };
      const session = await openMailSession({ protocol: 'pop3', host: 'pop.contoso.test', port: server.port, security: 'none', timeoutMs: TIMEOUT_MS, proxy });
      assert.equal((await session.authenticate('XOAUTH2', XOAUTH2)).accepted, true);
      await session.close();
      await squid.waitForAccessLine((line) => line.includes(`CONNECT pop.contoso.test:${server.port}`) && line.includes(' broker '));
      await rejectsWith(
        openMailSession({ protocol: 'pop3', host: 'pop.contoso.test', port: server.port, security: 'none', timeoutMs: TIMEOUT_MS, proxy: { ...proxy, password: { reveal: () => 'wrong' } } }),
        'proxy_auth_failed',
        /proxy corp \(http:\/\/127\.0\.0\.1:\d+\) refused our credentials \(HTTP 407\)/,
      );
    });

    test('a CONNECT the proxy cannot make (nothing listens there): proxy_unreachable with its status', async () => {
      const proxy = { name: 'corp', url: squid.url, username: 'broker', password: { reveal: () => 'squid-secret' } };
      const port = await freePort();
      await rejectsWith(
        openMailSession({ protocol: 'smtp', host: '127.0.0.1', port, security: 'starttls', timeoutMs: TIMEOUT_MS, proxy }),
        'proxy_unreachable',
        new RegExp(`answered HTTP 503 when asked to CONNECT to 127\\.0\\.0\\.1:${port}`),
      );
    });
  });

  describe('pieces', () => {
    test('error challenges: JSON, text, empty', () => {
      assert.deepEqual(decodeErrorChallenge(` ${ERROR_CHALLENGE}`), ERROR_JSON);
      assert.equal(decodeErrorChallenge(Buffer.from('plain words').toString('base64')), 'plain words');
      assert.equal(decodeErrorChallenge(' '), undefined);
    });

    test('proxy: environment reads HTTPS_PROXY (credentials from the URL) and honours NO_PROXY', () => {
      const route = { name: 'environment', url: 'from HTTPS_PROXY / HTTP_PROXY', fromEnvironment: true };
      const env = { HTTPS_PROXY: 'http://svc:p%40ss@proxy.corp.example:3128', NO_PROXY: 'localhost,.internal.example,10.0.0.1:993' };
      const resolved = resolveProxy(route, 'outlook.office365.com', 993, env);
      assert.equal(resolved?.url.href, 'http://proxy.corp.example:3128/');
      assert.equal(resolved?.username, 'svc');
      assert.equal(resolved?.password, 'p@ss');
      assert.equal(resolveProxy(route, 'imap.internal.example', 993, env), undefined);
      assert.equal(resolveProxy(route, '10.0.0.1', 993, env), undefined);
      assert.notEqual(resolveProxy(route, '10.0.0.1', 143, env), undefined);
      assert.equal(resolveProxy(route, 'outlook.office365.com', 993, {}), undefined);
    });
  });
});
