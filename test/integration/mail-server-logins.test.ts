// A token is only right when a mail server accepts it. The mail world
// (test/support/mail-world.ts) runs the sandbox as Entra and as Exchange's
// token introspection, the real broker daemon, and a private Dovecot whose
// oauth2 passdb asks the sandbox about every token: this suite logs in with
// tokens straight from the running broker (gRPC, the CLI, curl), over IMAP,
// POP3 and submission, and sees every refusal from the real server together
// with the reason the sandbox recorded for it. Finally it plays a connector
// whose token was refused: ReportRejected gives it a new one that logs in.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { BrokerToken } from '../../src/client/index.js';
import { saslOauthbearer } from '../../src/broker/sasl-strings.js';
import { openMailSession } from '../../src/mail/index.js';
import type { MailSecurity, MailSession, SaslMechanism } from '../../src/mail/index.js';
import type { ResourceDecision } from '../../src/sandbox/index.js';
import { runCli } from '../support/daemon-process.js';
import { dovecotBinary, startDovecot } from '../support/dovecot.js';
import type { Dovecot, MailProtocol } from '../support/dovecot.js';
import { ALICE, APP_BOX, BOB, introspectionUrl, SHARED, startMailWorld } from '../support/mail-world.js';
import type { MailWorld, WorldMailbox } from '../support/mail-world.js';
import { findSystemBinary } from '../support/system-binary.js';

const needsDovecot = { skip: dovecotBinary.skip };
const curlPath = findSystemBinary('curl');
const needsCurl = { skip: dovecotBinary.skip !== false ? dovecotBinary.skip : curlPath === undefined ? 'curl is not installed: the XOAUTH2-with-curl test needs it (apt-get install curl)' : false };
if (curlPath === undefined) console.warn('SKIPPED: curl is not installed, the XOAUTH2-with-curl login is not tested');

const TIMEOUT_MS = 30_000;
const MECHANISMS: readonly SaslMechanism[] = ['XOAUTH2', 'OAUTHBEARER'];
const SECURITIES: readonly Exclude<MailSecurity, 'none'>[] = ['starttls', 'tls'];
/** Where the submitted messages go: a mailbox outside the tenant, as a connector's reply would. */
const RECIPIENT = 'carol@fabrikam.example';

/** What the IMAP / POP3 / submission server answers to a refused OAuth login (measured on Dovecot 2.3.19). */
const REFUSED_REPLY: Record<MailProtocol, RegExp> = {
  imap: /^\S+ NO \[AUTHENTICATIONFAILED\] Authentication failed\.$/,
  pop3: /^-ERR \[AUTH\] Authentication failed\.$/,
  smtp: /^535 5\.7\.8 Authentication failed\.$/,
};
/** The error challenge Dovecot sends before the refusal, decoded. */
const ERROR_CHALLENGE: Record<SaslMechanism, Record<string, unknown>> = {
  XOAUTH2: { status: '401', schemes: 'bearer', scope: 'mail' },
  OAUTHBEARER: { status: 'invalid_token' },
};

/** The SASL string of a broker token for `mechanism`, as the broker made it. */
function saslOf(token: BrokerToken, mechanism: SaslMechanism): string {
  return mechanism === 'XOAUTH2' ? token.saslXoauth2 : token.saslOauthbearer;
}

function rfc822(from: string, to: string, subject: string): string {
  return [`From: ${from}`, `To: ${to}`, `Subject: ${subject}`, `Message-ID: <${randomUUID()}@contoso.example>`, '', `Body of ${subject}.`, ''].join('\r\n');
}

describe('broker tokens log in to a real Dovecot that asks Exchange-shaped introspection', needsDovecot, () => {
  let world: MailWorld;

  before(async () => {
    world = await startMailWorld({ prefix: 'tb-mail-logins-' });
  });

  after(async () => {
    await world?.stop();
  });

  function port(protocol: MailProtocol, security: Exclude<MailSecurity, 'none'>): number {
    const ports = world.dovecot.ports;
    if (protocol === 'imap') return security === 'tls' ? ports.imaps : ports.imap;
    if (protocol === 'pop3') return security === 'tls' ? ports.pop3s : ports.pop3;
    // The private Dovecot's submission listens with STARTTLS only (no 465-style port).
    assert.equal(security, 'starttls', 'submission is tested over STARTTLS only');
    return ports.submission;
  }

  function open(protocol: MailProtocol, security: Exclude<MailSecurity, 'none'>, server: Dovecot = world.dovecot): Promise<MailSession> {
    return openMailSession({ protocol, host: server.host, port: port(protocol, security), security, ca: server.caCertificatePem, timeoutMs: TIMEOUT_MS });
  }

  /** Failure text: the transcript (tokens hidden by the session) and Dovecot's log (auth_debug off: no token). */
  async function explain(session: MailSession, what: string): Promise<string> {
    return `${what}\n--- transcript ---\n${session.transcript.join('\n')}\n--- dovecot.log (tail) ---\n${(await world.dovecot.log()).slice(-4000)}`;
  }

  /** Runs `login` and returns what it returned and the resource decisions the sandbox made meanwhile. */
  async function withDecisions<T>(login: () => Promise<T>): Promise<{ result: T; decisions: Pick<ResourceDecision, 'endpoint' | 'protocol' | 'mailbox' | 'allowed' | 'reason'>[] }> {
    const before = world.environment.sandbox.resourceDecisions.length;
    const result = await login();
    // Dovecot answers the client only after the introspection answered: the decision is already recorded.
    const decisions = world.environment.sandbox.resourceDecisions.slice(before).map(({ endpoint, protocol, mailbox, allowed, reason }) => ({
      endpoint,
      ...(protocol === undefined ? {} : { protocol }),
      mailbox,
      allowed,
      reason,
    }));
    return { result, decisions };
  }

  /** Opens a session and logs in; asserts the login was accepted and introspection admitted it for `reason`. */
  async function loggedIn(
    protocol: MailProtocol,
    security: Exclude<MailSecurity, 'none'>,
    mechanism: SaslMechanism,
    sasl: string,
    mailbox: string,
    reason: ResourceDecision['reason'],
  ): Promise<MailSession> {
    const session = await open(protocol, security);
    try {
      assert.ok(session.mechanisms.includes(mechanism), await explain(session, `Dovecot does not offer ${mechanism}`));
      const { result, decisions } = await withDecisions(() => session.authenticate(mechanism, sasl));
      assert.equal(result.accepted, true, await explain(session, `${protocol} ${mechanism} over ${security} was refused: ${result.reply.join(' | ')}`));
      assert.deepEqual(decisions, [{ endpoint: 'introspection', protocol, mailbox, allowed: true, reason }], await explain(session, 'the sandbox decided otherwise'));
      return session;
    } catch (error) {
      await session.close();
      throw error;
    }
  }

  /** Logs in expecting a refusal; returns the result and the sandbox's decisions. */
  async function refused(protocol: MailProtocol, security: Exclude<MailSecurity, 'none'>, mechanism: SaslMechanism, sasl: string) {
    const session = await open(protocol, security);
    try {
      const { result, decisions } = await withDecisions(() => session.authenticate(mechanism, sasl));
      assert.equal(result.accepted, false, await explain(session, `${protocol} ${mechanism} was accepted, a refusal was expected`));
      assert.match(result.reply.at(-1) ?? '', REFUSED_REPLY[protocol], await explain(session, 'not the refusal Dovecot sends'));
      assert.deepEqual(result.errorDetail, ERROR_CHALLENGE[mechanism], await explain(session, 'not the error challenge Dovecot sends'));
      return { result, decisions };
    } finally {
      await session.close();
    }
  }

  /** A refusal for `reason` recorded by the introspection of `protocol` for `mailbox`. */
  function refusal(protocol: MailProtocol, mailbox: string, reason: ResourceDecision['reason']) {
    return [{ endpoint: 'introspection' as const, protocol, mailbox, allowed: false, reason }];
  }

  const IMAP_LOGINS: readonly [WorldMailbox, string, ResourceDecision['reason']][] = [
    ['alice-imap', ALICE, 'own_mailbox'],
    ['shared-imap', SHARED, 'delegated_access'],
    ['app-imap', APP_BOX, 'application_access'],
  ];
  for (const [name, address, reason] of IMAP_LOGINS) {
    for (const mechanism of MECHANISMS) {
      for (const security of SECURITIES) {
        test(`IMAP ${name} (${address}) with ${mechanism} over ${security}: logs in and SELECT INBOX sees a delivered message`, async () => {
          const token = await world.environment.client.getToken(name);
          assert.equal(token.username, address);
          const subject = `imap ${name} ${mechanism} ${security} ${randomUUID()}`;
          await world.dovecot.deliver(address, rfc822(BOB, address, subject));
          const session = await loggedIn('imap', security, mechanism, saslOf(token, mechanism), address, reason);
          try {
            const selected = await session.command('SELECT INBOX');
            assert.match(selected.at(-1) ?? '', /^\S+ OK /, await explain(session, 'SELECT INBOX failed'));
            const exists = selected.map((line) => /^\* (\d+) EXISTS$/.exec(line)?.[1]).find((count) => count !== undefined);
            assert.ok(Number(exists) >= 1, await explain(session, 'SELECT INBOX shows no message'));
            const found = await session.command(`SEARCH SUBJECT "${subject}"`);
            assert.match(found.find((line) => line.startsWith('* SEARCH')) ?? '', /^\* SEARCH \d+$/, await explain(session, 'the delivered message is not in INBOX'));
          } finally {
            await session.close();
          }
        });
      }
    }
  }

  const POP3_LOGINS: readonly [WorldMailbox, string, ResourceDecision['reason']][] = [
    ['alice-pop3', ALICE, 'own_mailbox'],
    ['app-pop3', APP_BOX, 'application_access'],
  ];
  for (const [name, address, reason] of POP3_LOGINS) {
    for (const mechanism of MECHANISMS) {
      for (const security of SECURITIES) {
        test(`POP3 ${name} (${address}) with ${mechanism} over ${security}: logs in, STAT counts and RETR reads a delivered message`, async () => {
          const token = await world.environment.client.getToken(name);
          assert.equal(token.username, address);
          const subject = `pop3 ${name} ${mechanism} ${security} ${randomUUID()}`;
          await world.dovecot.deliver(address, rfc822(BOB, address, subject));
          const session = await loggedIn('pop3', security, mechanism, saslOf(token, mechanism), address, reason);
          try {
            const [stat = ''] = await session.command('STAT');
            const count = Number(/^\+OK (\d+) \d+$/.exec(stat)?.[1] ?? 0);
            assert.ok(count >= 1, await explain(session, `STAT shows no message: ${stat}`));
            let retrieved: string[] | undefined;
            for (let number = count; number >= 1 && retrieved === undefined; number -= 1) {
              const message = await session.command(`RETR ${number}`);
              assert.match(message[0] ?? '', /^\+OK/, await explain(session, `RETR ${number} failed`));
              if (message.includes(`Subject: ${subject}`)) retrieved = message;
            }
            assert.ok(retrieved !== undefined, await explain(session, 'RETR found no delivered message with the subject'));
          } finally {
            await session.close();
          }
        });
      }
    }
  }

  const SMTP_LOGINS: readonly [WorldMailbox, string, ResourceDecision['reason']][] = [
    ['alice-smtp', ALICE, 'own_mailbox'],
    ['shared-smtp', SHARED, 'delegated_access'],
    ['app-smtp', APP_BOX, 'application_access'],
  ];
  for (const [name, address, reason] of SMTP_LOGINS) {
    for (const mechanism of MECHANISMS) {
      test(`submission ${name} (${address}) with ${mechanism} over STARTTLS: sends a message that reaches the relay`, async () => {
        const token = await world.environment.client.getToken(name);
        assert.equal(token.username, address);
        const subject = `submission ${name} ${mechanism} ${randomUUID()}`;
        const session = await loggedIn('smtp', 'starttls', mechanism, saslOf(token, mechanism), address, reason);
        try {
          for (const [line, code] of [[`MAIL FROM:<${address}>`, '250'], [`RCPT TO:<${RECIPIENT}>`, '250'], ['DATA', '354']] as const) {
            const reply = await session.command(line);
            assert.ok(reply.at(-1)?.startsWith(code), await explain(session, `${line} was answered ${reply.join(' | ')}`));
          }
          // The session's DATA convention: the whole message, CRLF-separated, ending in "\r\n." (no line starts with a dot).
          const accepted = await session.command(`${rfc822(address, RECIPIENT, subject)}.`);
          assert.ok(accepted.at(-1)?.startsWith('250'), await explain(session, `the message was answered ${accepted.join(' | ')}`));
        } finally {
          await session.close();
        }
        const message = await world.sink.waitForMessage((received) => received.data.includes(`Subject: ${subject}\r\n`));
        assert.equal(message.from, address);
        assert.deepEqual(message.to, [RECIPIENT]);
      });
    }
  }

  for (const mechanism of MECHANISMS) {
    const flag = mechanism === 'XOAUTH2' ? '--xoauth2' : '--oauthbearer';
    test(`the string \`token-broker token alice-imap ${flag}\` prints logs in over IMAP`, async () => {
      const printed = await runCli(['token', 'alice-imap', flag, '--socket', world.environment.address]);
      assert.equal(printed.code, 0, `token-broker token exited ${printed.code}: ${printed.stderr}`);
      const sasl = printed.stdout.trim();
      // The printed string is the broker's own: the same as GetToken's field.
      const token = await world.environment.client.getToken('alice-imap');
      assert.ok(sasl === saslOf(token, mechanism), `the CLI printed another string than GetToken's ${mechanism} field`);
      const session = await loggedIn('imap', 'tls', mechanism, sasl, ALICE, 'own_mailbox');
      await session.close();
    });
  }

  describe('curl against a Dovecot offering XOAUTH2 alone', needsCurl, () => {
    let xoauth2Only: Dovecot;
    /** This Dovecot's own CA (world.mailCaFile is the first Dovecot's). */
    let caFile: string;

    before(async () => {
      const sandbox = world.environment.sandbox;
      xoauth2Only = await startDovecot({
        mailboxes: [ALICE, BOB, SHARED, APP_BOX],
        introspection: { url: (protocol, mailbox) => introspectionUrl(sandbox.url, protocol, mailbox), caFile: path.join(world.environment.directory, 'ca.pem') },
        // curl 7.88 takes OAUTHBEARER whenever it is offered, whatever --login-options says.
        mechanisms: ['xoauth2'],
      });
      caFile = path.join(world.environment.directory, 'xoauth2-only-ca.pem');
      await writeFile(caFile, xoauth2Only.caCertificatePem);
    });

    after(async () => {
      await xoauth2Only?.stop();
    });

    test('curl --oauth2-bearer with AUTH=XOAUTH2 lists alice\'s mailbox with the broker\'s token', async () => {
      assert.ok(curlPath !== undefined);
      const token = await world.environment.client.getToken('alice-imap');
      const { result, decisions } = await withDecisions(() =>
        promisify(execFile)(
          curlPath,
          [
            '--silent',
            '--show-error',
            '--url', `imaps://127.0.0.1:${xoauth2Only.ports.imaps}/`,
            '--user', token.username,
            '--oauth2-bearer', token.accessToken,
            '--login-options', 'AUTH=XOAUTH2',
            '--cacert', caFile,
          ],
          { timeout: TIMEOUT_MS },
        ).catch((error: unknown) => {
          // curl's own message names the server's answer, never the token (it is only on curl's command line).
          const stderr = (error as { stderr?: string }).stderr ?? '';
          throw new Error(`curl failed: ${stderr}`);
        }),
      );
      assert.match(result.stdout, /^\* LIST \(.*\) "[./]" INBOX\r?$/m, `curl listed no INBOX: ${result.stdout}`);
      assert.deepEqual(decisions, [{ endpoint: 'introspection', protocol: 'imap', mailbox: ALICE, allowed: true, reason: 'own_mailbox' }]);
      assert.match(await xoauth2Only.log(), /imap-login: Info: Login: user=<alice@contoso\.example>, method=XOAUTH2,/);
    });
  });

  describe('refusals come from the real server, with the reason the sandbox recorded', () => {
    test('a Graph-audience token (alice-graph) on IMAP: NO [AUTHENTICATIONFAILED], wrong_audience', async () => {
      const token = await world.environment.client.getToken('alice-graph');
      const { decisions } = await refused('imap', 'tls', 'XOAUTH2', token.saslXoauth2);
      assert.deepEqual(decisions, refusal('imap', ALICE, 'wrong_audience'));
    });

    test('an IMAP token (alice-imap) on submission: 535 5.7.8, missing_scope', async () => {
      const token = await world.environment.client.getToken('alice-imap');
      const { decisions } = await refused('smtp', 'starttls', 'XOAUTH2', token.saslXoauth2);
      assert.deepEqual(decisions, refusal('smtp', ALICE, 'missing_scope'));
    });

    test('alice\'s IMAP token offered for bob\'s mailbox: NO [AUTHENTICATIONFAILED], no_mailbox_permission', async () => {
      const token = await world.environment.client.getToken('alice-imap');
      const sasl = saslOauthbearer(BOB, token.accessToken);
      const { decisions } = await refused('imap', 'starttls', 'OAUTHBEARER', sasl);
      assert.deepEqual(decisions, refusal('imap', BOB, 'no_mailbox_permission'));
    });

    test('the application\'s token for bob\'s mailbox (app-bob-imap): NO [AUTHENTICATIONFAILED], no_mailbox_permission', async () => {
      const token = await world.environment.client.getToken('app-bob-imap');
      assert.equal(token.username, BOB);
      const { decisions } = await refused('imap', 'tls', 'XOAUTH2', token.saslXoauth2);
      assert.deepEqual(decisions, refusal('imap', BOB, 'no_mailbox_permission'));
    });

    test('an expired token (the sandbox\'s clock past its expiry) on POP3: -ERR [AUTH], expired', async () => {
      const token = await world.environment.client.getToken('alice-pop3');
      world.setSandboxClockOffset(token.expiresAt.getTime() - Date.now() + 60_000);
      try {
        const { decisions } = await refused('pop3', 'starttls', 'XOAUTH2', token.saslXoauth2);
        assert.deepEqual(decisions, refusal('pop3', ALICE, 'expired'));
      } finally {
        world.setSandboxClockOffset(0);
      }
      // The same token is good again on the real clock: the refusal was the expiry, nothing else.
      const session = await loggedIn('pop3', 'starttls', 'XOAUTH2', token.saslXoauth2, ALICE, 'own_mailbox');
      await session.close();
    });

    test('a revoked token (app-pop3) on POP3: -ERR [AUTH], revoked', async () => {
      const client = world.environment.client;
      const token = await client.getToken('app-pop3');
      world.environment.sandbox.revokeAccessToken(token.accessToken);
      try {
        const { decisions } = await refused('pop3', 'tls', 'OAUTHBEARER', token.saslOauthbearer);
        assert.deepEqual(decisions, refusal('pop3', APP_BOX, 'revoked'));
      } finally {
        // Leaves app-pop3 with a good token for the other tests, as a connector would.
        await client.reportRejected('app-pop3', token.accessToken, 'revoked');
      }
    });
  });

  test('a connector whose token was revoked reports it and logs in with the new token; the mailbox stays READY', async () => {
    const client = world.environment.client;
    const revoked = await client.getToken('alice-imap');
    world.environment.sandbox.revokeAccessToken(revoked.accessToken);
    const refusedLogin = await refused('imap', 'tls', 'XOAUTH2', revoked.saslXoauth2);
    assert.deepEqual(refusedLogin.decisions, refusal('imap', ALICE, 'revoked'));

    const renewed = await client.reportRejected('alice-imap', revoked.accessToken, refusedLogin.result.reply.join(' '));
    assert.ok(renewed.accessToken !== revoked.accessToken, 'ReportRejected returned the revoked token again');
    assert.equal(renewed.username, ALICE);
    const session = await loggedIn('imap', 'tls', 'XOAUTH2', renewed.saslXoauth2, ALICE, 'own_mailbox');
    await session.close();

    const status = await client.getMailboxStatus('alice-imap');
    assert.equal(status.state, 'READY', `alice-imap is ${status.state}: ${status.lastErrorCode} ${status.lastErrorMessage}`);
    const next = await client.getToken('alice-imap');
    assert.ok(next.accessToken === renewed.accessToken, 'GetToken after ReportRejected does not return the new token');
  });
});
