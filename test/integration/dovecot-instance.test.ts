// The tests' private Dovecot (test/support/dovecot.ts) against a tiny HTTPS
// introspection server: logins with XOAUTH2 and OAUTHBEARER over IMAP
// (STARTTLS and IMAPS), POP3 (STLS and POP3S) and submission (STARTTLS) are
// accepted for the mailbox a token is for and refused for any other, Dovecot's
// introspection request names the mailbox and the protocol, and a message
// sent through submission reaches the SMTP sink. The SASL strings are built
// here, by hand, so this suite checks the server, not the broker's encoder.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { connect as connectTcp } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect as connectTls } from 'node:tls';
import { dovecotBinary, startDovecot } from '../support/dovecot.js';
import type { Dovecot, MailProtocol } from '../support/dovecot.js';
import { makeAuthority } from '../support/pki.js';
import { startSmtpSink } from '../support/smtp-sink.js';
import type { SmtpSink } from '../support/smtp-sink.js';

const ALICE = 'alice@contoso.test';
const SHARED = 'shared@contoso.test';
/** Has no passdb of its own: the catch-all passdb answers for it. */
const STRANGER = 'mallory@contoso.test';
const READ_TIMEOUT_MS = 30_000;

// Skipped per test, not per suite: node:test counts skipped tests in its summary, not skipped suites.
const needsDovecot = { skip: dovecotBinary.skip };

/** A token the introspection server calls active for `mailbox` (any protocol); unique per call, to find its request. */
function goodToken(mailbox: string): string {
  return `good-${mailbox}.${randomUUID()}`;
}

function xoauth2(user: string, token: string): string {
  return Buffer.from(`user=${user}\x01auth=Bearer ${token}\x01\x01`).toString('base64');
}

function oauthbearer(user: string, token: string, port: number): string {
  return Buffer.from(`n,a=${user},\x01host=127.0.0.1\x01port=${port}\x01auth=Bearer ${token}\x01\x01`).toString('base64');
}

type Mechanism = 'XOAUTH2' | 'OAUTHBEARER';

function saslString(mechanism: Mechanism, user: string, token: string, port: number): string {
  return mechanism === 'XOAUTH2' ? xoauth2(user, token) : oauthbearer(user, token, port);
}

interface IntrospectionRequest {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly token: string | null;
}

/**
 * An RFC 7662 endpoint shaped like the sandbox's `POST /exchange/introspect/{protocol}/{mailbox}`:
 * active for a token made by goodToken(mailbox), inactive for anything else and for the catch-all '-'.
 */
async function startIntrospection(directory: string): Promise<{ server: Server; url: string; caFile: string; requests: IntrospectionRequest[] }> {
  const authority = makeAuthority('dovecot-instance test introspection CA');
  const leaf = authority.issueServer();
  const caFile = path.join(directory, 'introspection-ca.pem');
  await writeFile(caFile, authority.certificatePem);
  const requests: IntrospectionRequest[] = [];
  const server = createServer({ cert: leaf.certificatePem, key: leaf.keyPem }, (request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const token = new URLSearchParams(body).get('token');
      requests.push({ path: request.url ?? '', headers: request.headers, token });
      const match = /^\/exchange\/introspect\/(imap|pop3|smtp)\/([^/]+)$/.exec(request.url ?? '');
      const mailbox = match?.[2];
      const active = request.method === 'POST' && mailbox !== undefined && mailbox !== '-' && token?.startsWith(`good-${mailbox}.`) === true;
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify(active ? { active: true, username: mailbox, scope: 'mail', exp: Math.floor(Date.now() / 1000) + 3600 } : { active: false }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return { server, url: `https://localhost:${address.port}`, caFile, requests };
}

/** A line-oriented client for IMAP, POP3 and SMTP: reads CRLF lines, sends lines, upgrades to TLS in place. */
class LineSession {
  private buffered = '';
  private readonly lines: string[] = [];
  private waiter: (() => void) | undefined;
  private closed = false;
  readonly transcript: string[] = [];

  private constructor(
    private socket: Socket,
    private readonly caCertificatePem: string,
  ) {
    this.listen(socket);
  }

  static open(port: number, tls: boolean, caCertificatePem: string): Promise<LineSession> {
    return new Promise((resolve, reject) => {
      const socket = tls ? connectTls({ host: '127.0.0.1', port, ca: caCertificatePem, servername: 'localhost' }) : connectTcp({ host: '127.0.0.1', port });
      socket.once(tls ? 'secureConnect' : 'connect', () => resolve(new LineSession(socket, caCertificatePem)));
      socket.once('error', reject);
    });
  }

  private listen(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => {
      this.buffered += chunk.toString();
      for (let end = this.buffered.indexOf('\r\n'); end !== -1; end = this.buffered.indexOf('\r\n')) {
        this.lines.push(this.buffered.slice(0, end));
        this.buffered = this.buffered.slice(end + 2);
      }
      this.waiter?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
    socket.on('error', () => undefined);
  }

  send(line: string): void {
    this.transcript.push(`C: ${line.length > 120 ? `${line.slice(0, 100)}...(${line.length} characters)` : line}`);
    this.socket.write(`${line}\r\n`);
  }

  /** The next line from the server; rejects with the transcript when none comes or the connection closes. */
  async line(): Promise<string> {
    const deadline = Date.now() + READ_TIMEOUT_MS;
    while (this.lines.length === 0) {
      if (this.closed) throw new Error(`connection closed while waiting for a line\n${this.transcript.join('\n')}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no line within ${READ_TIMEOUT_MS} ms\n${this.transcript.join('\n')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          this.waiter = undefined;
          resolve();
        };
      });
    }
    const line = this.lines.shift() ?? '';
    this.transcript.push(`S: ${line}`);
    return line;
  }

  /** The next `count` lines, read one after the other (line() serves one reader at a time). */
  async next(count: number): Promise<string[]> {
    const read: string[] = [];
    while (read.length < count) read.push(await this.line());
    return read;
  }

  /** Lines up to and including the first that `last` accepts. */
  async until(last: (line: string) => boolean): Promise<string[]> {
    const seen: string[] = [];
    for (;;) {
      const line = await this.line();
      seen.push(line);
      if (last(line)) return seen;
    }
  }

  /** Replaces the plain socket with TLS over it (after the server's go-ahead for STARTTLS / STLS). */
  async startTls(): Promise<void> {
    this.socket.removeAllListeners('data');
    const plain = this.socket;
    this.socket = await new Promise<Socket>((resolve, reject) => {
      const secure = connectTls({ socket: plain, ca: this.caCertificatePem, servername: 'localhost' });
      secure.once('secureConnect', () => resolve(secure));
      secure.once('error', reject);
    });
    this.listen(this.socket);
  }

  close(): void {
    this.socket.destroy();
  }
}

describe('the tests\' private Dovecot checks OAuth tokens by introspection', () => {
  let directory: string;
  let introspection: Awaited<ReturnType<typeof startIntrospection>>;
  let sink: SmtpSink;
  let dovecot: Dovecot;
  /** Offers XOAUTH2 alone, as a curl test of XOAUTH2 needs. */
  let xoauth2Only: Dovecot;

  before(async () => {
    if (needsDovecot.skip !== false) return;
    directory = await mkdtemp(path.join(tmpdir(), 'tb-dovecot-test-'));
    introspection = await startIntrospection(directory);
    sink = await startSmtpSink();
    const options = {
      mailboxes: [ALICE, SHARED],
      introspection: { url: (protocol: MailProtocol, mailbox: string) => `${introspection.url}/exchange/introspect/${protocol}/${mailbox}`, caFile: introspection.caFile },
    };
    dovecot = await startDovecot({ ...options, smtpRelay: { host: sink.host, port: sink.port } });
    xoauth2Only = await startDovecot({ ...options, mechanisms: ['xoauth2'] });
  });

  after(async () => {
    await xoauth2Only?.stop();
    await dovecot?.stop();
    await sink?.stop();
    introspection?.server.close();
    introspection?.server.closeAllConnections();
    if (directory !== undefined) await rm(directory, { recursive: true, force: true });
  });

  /** Failure text with Dovecot's own account of what happened. */
  async function withLog(session: LineSession, what: string): Promise<string> {
    return `${what}\n--- transcript ---\n${session.transcript.join('\n')}\n--- dovecot.log ---\n${await dovecot.log()}`;
  }

  function requestsFor(token: string): IntrospectionRequest[] {
    return introspection.requests.filter((request) => request.token === token);
  }

  /** Connects to IMAP (STARTTLS on the plain port, or IMAPS), AUTHENTICATEs with an initial response; the tagged answer. */
  async function imapLogin(server: Dovecot, transport: 'starttls' | 'imaps', mechanism: Mechanism, user: string, token: string): Promise<{ session: LineSession; answer: string; greeting: string }> {
    const port = transport === 'imaps' ? server.ports.imaps : server.ports.imap;
    const session = await LineSession.open(port, transport === 'imaps', server.caCertificatePem);
    let greeting = await session.line();
    if (transport === 'starttls') {
      session.send('s1 STARTTLS');
      await session.until((line) => line.startsWith('s1 '));
      await session.startTls();
      session.send('c1 CAPABILITY');
      greeting = (await session.until((line) => line.startsWith('c1 '))).join('\n');
    }
    session.send(`a1 AUTHENTICATE ${mechanism} ${saslString(mechanism, user, token, port)}`);
    for (;;) {
      const line = await session.line();
      // A refusal first comes as a continuation carrying the error JSON; the client must answer it.
      if (line.startsWith('+ ')) session.send('');
      else if (line.startsWith('a1 ')) return { session, answer: line, greeting };
    }
  }

  for (const transport of ['starttls', 'imaps'] as const) {
    for (const mechanism of ['XOAUTH2', 'OAUTHBEARER'] as const) {
      test(`IMAP ${mechanism} over ${transport}: the mailbox's token opens it, another mailbox's token does not`, needsDovecot, async () => {
        const token = goodToken(ALICE);
        const accepted = await imapLogin(dovecot, transport, mechanism, ALICE, token);
        assert.match(accepted.answer, /^a1 OK /, await withLog(accepted.session, 'the right token was refused'));
        accepted.session.send('a2 SELECT INBOX');
        const selected = await accepted.session.until((line) => line.startsWith('a2 '));
        assert.match(selected.at(-1) ?? '', /^a2 OK/, await withLog(accepted.session, 'SELECT INBOX failed after login'));
        accepted.session.close();
        assert.deepEqual(
          requestsFor(token).map((request) => [request.path, request.headers['x-dovecot-auth-service']]),
          [[`/exchange/introspect/imap/${ALICE}`, 'imap']],
        );

        const sharedToken = goodToken(SHARED);
        const refused = await imapLogin(dovecot, transport, mechanism, ALICE, sharedToken);
        assert.equal(refused.answer, 'a1 NO [AUTHENTICATIONFAILED] Authentication failed.', await withLog(refused.session, 'a token for another mailbox was not refused'));
        refused.session.close();
        assert.deepEqual(
          requestsFor(sharedToken).map((request) => request.path),
          [`/exchange/introspect/imap/${ALICE}`],
          'a refused token is asked about once, at the mailbox the login names (result_failure = return-fail)',
        );
      });
    }
  }

  test('IMAP: a user without a passdb of its own is refused through the catch-all, not with a temporary failure', needsDovecot, async () => {
    const token = goodToken(STRANGER);
    const { session, answer } = await imapLogin(dovecot, 'imaps', 'XOAUTH2', STRANGER, token);
    session.close();
    assert.equal(answer, 'a1 NO [AUTHENTICATIONFAILED] Authentication failed.', await withLog(session, 'the stranger was not refused cleanly'));
    assert.deepEqual(
      requestsFor(token).map((request) => request.path),
      ['/exchange/introspect/imap/-'],
    );
  });

  test('IMAP: a shared mailbox opens with its own token; an unknown token is refused without an auth penalty', needsDovecot, async () => {
    const opened = await imapLogin(dovecot, 'imaps', 'OAUTHBEARER', SHARED, goodToken(SHARED));
    opened.session.close();
    assert.match(opened.answer, /^a1 OK /, await withLog(opened.session, 'the shared mailbox did not open'));
    // With anvil's penalty on, each refusal from 127.0.0.1 would delay the next login more (2, 4, 8... s).
    for (let attempt = 1; attempt <= 3; attempt++) {
      const refused = await imapLogin(dovecot, 'imaps', 'XOAUTH2', SHARED, `wrong-${randomUUID()}`);
      refused.session.close();
      assert.equal(refused.answer, 'a1 NO [AUTHENTICATIONFAILED] Authentication failed.');
    }
    assert.deepEqual(await dovecot.penalties(), [], 'anvil holds an auth penalty: later logins would be delayed');
  });

  test('IMAP: an instance offering XOAUTH2 alone does not take OAUTHBEARER', needsDovecot, async () => {
    const accepted = await imapLogin(xoauth2Only, 'imaps', 'XOAUTH2', ALICE, goodToken(ALICE));
    accepted.session.close();
    assert.match(accepted.greeting, /AUTH=XOAUTH2/);
    assert.doesNotMatch(accepted.greeting, /AUTH=OAUTHBEARER/);
    assert.match(accepted.answer, /^a1 OK /, await withLog(accepted.session, 'XOAUTH2 was refused'));
    const refused = await imapLogin(xoauth2Only, 'imaps', 'OAUTHBEARER', ALICE, goodToken(ALICE));
    refused.session.close();
    assert.match(refused.answer, /^a1 NO .*Unsupported authentication mechanism/i);
  });

  test('IMAP: an initial response of 8192 base64 characters is too large, 8188 is not (measured limit)', needsDovecot, async () => {
    // 6141 bytes encode to 8188 base64 characters; one byte more makes 8192.
    const fits = goodToken(ALICE).padEnd((8188 / 4) * 3 - `user=${ALICE}\x01auth=Bearer \x01\x01`.length, 'x');
    assert.equal(xoauth2(ALICE, fits).length, 8188);
    const accepted = await imapLogin(dovecot, 'imaps', 'XOAUTH2', ALICE, fits);
    accepted.session.close();
    assert.match(accepted.answer, /^a1 OK /, await withLog(accepted.session, 'an 8188-character initial response was refused'));
    const tooLong = `${fits}x`;
    assert.equal(xoauth2(ALICE, tooLong).length, 8192);
    await assert.rejects(imapLogin(dovecot, 'imaps', 'XOAUTH2', ALICE, tooLong), /connection closed while waiting for a line/);
  });

  /** POP3 (STLS on the plain port, or POP3S) AUTH with an initial response; the final answer. */
  async function pop3Login(transport: 'stls' | 'pop3s', mechanism: Mechanism, user: string, token: string): Promise<{ session: LineSession; answer: string }> {
    const port = transport === 'pop3s' ? dovecot.ports.pop3s : dovecot.ports.pop3;
    const session = await LineSession.open(port, transport === 'pop3s', dovecot.caCertificatePem);
    await session.line();
    if (transport === 'stls') {
      session.send('STLS');
      assert.match(await session.line(), /^\+OK/);
      await session.startTls();
    }
    session.send(`AUTH ${mechanism} ${saslString(mechanism, user, token, port)}`);
    for (;;) {
      const line = await session.line();
      if (line.startsWith('+ ')) session.send('');
      else return { session, answer: line };
    }
  }

  test('POP3 over STLS and POP3S: the mailbox token reads a delivered message; another mailbox token is refused', needsDovecot, async () => {
    const subject = `pop3 ${randomUUID()}`;
    await dovecot.deliver(ALICE, `From: bob@contoso.test\r\nTo: ${ALICE}\r\nSubject: ${subject}\r\n\r\nHello over POP3.\r\n`);
    const token = goodToken(ALICE);
    const { session, answer } = await pop3Login('stls', 'XOAUTH2', ALICE, token);
    assert.match(answer, /^\+OK/, await withLog(session, 'the right token was refused over POP3'));
    session.send('LIST');
    const listing = await session.until((line) => line === '.');
    assert.ok(listing.length >= 3, await withLog(session, 'the delivered message is not listed'));
    const newest = listing.at(-2)?.split(' ')[0] ?? '';
    session.send(`RETR ${newest}`);
    const message = await session.until((line) => line === '.');
    assert.ok(message.includes(`Subject: ${subject}`), await withLog(session, 'RETR did not return the delivered message'));
    session.send('QUIT');
    session.close();
    assert.deepEqual(
      requestsFor(token).map((request) => [request.path, request.headers['x-dovecot-auth-service']]),
      [[`/exchange/introspect/pop3/${ALICE}`, 'pop3']],
    );

    const overTls = await pop3Login('pop3s', 'OAUTHBEARER', ALICE, goodToken(ALICE));
    overTls.session.close();
    assert.match(overTls.answer, /^\+OK/, await withLog(overTls.session, 'OAUTHBEARER over POP3S was refused'));

    const refused = await pop3Login('pop3s', 'XOAUTH2', ALICE, goodToken(SHARED));
    refused.session.close();
    assert.equal(refused.answer, '-ERR [AUTH] Authentication failed.');
  });

  /** Submission: EHLO, STARTTLS, EHLO, then `AUTH <mechanism>`, `334 `, the string on its own line (or as initial response). */
  async function submissionLogin(mechanism: Mechanism, user: string, token: string, form: 'continuation' | 'initial-response' = 'continuation'): Promise<{ session: LineSession; answer: string }> {
    const port = dovecot.ports.submission;
    const session = await LineSession.open(port, false, dovecot.caCertificatePem);
    await session.until((line) => line.startsWith('220 '));
    session.send('EHLO client.contoso.test');
    const capabilities = await session.until((line) => line.startsWith('250 '));
    assert.ok(capabilities.includes('250-STARTTLS'), await withLog(session, 'submission does not offer STARTTLS'));
    session.send('STARTTLS');
    assert.match(await session.line(), /^220 /);
    await session.startTls();
    session.send('EHLO client.contoso.test');
    await session.until((line) => line.startsWith('250 '));
    const sasl = saslString(mechanism, user, token, port);
    if (form === 'initial-response') session.send(`AUTH ${mechanism} ${sasl}`);
    else {
      session.send(`AUTH ${mechanism}`);
      assert.equal(await session.line(), '334 ');
      session.send(sasl);
    }
    for (;;) {
      const line = await session.line();
      if (line.startsWith('334 ')) session.send('');
      else return { session, answer: line };
    }
  }

  test('submission: AUTH XOAUTH2 then 334 then the string; the message reaches the sink, dot-unstuffed', needsDovecot, async () => {
    const token = goodToken(ALICE);
    const { session, answer } = await submissionLogin('XOAUTH2', ALICE, token);
    assert.equal(answer, '235 2.7.0 Logged in.', await withLog(session, 'the right token was refused over submission'));
    const subject = `submission ${randomUUID()}`;
    session.send(`MAIL FROM:<${ALICE}>`);
    assert.match(await session.line(), /^250 /, await withLog(session, 'MAIL FROM refused'));
    session.send('RCPT TO:<carol@fabrikam.test>');
    assert.match(await session.line(), /^250 /, await withLog(session, 'RCPT TO refused'));
    session.send('DATA');
    assert.match(await session.line(), /^354 /);
    // The client stuffs the leading dot; the sink must take it off again.
    for (const line of [`From: ${ALICE}`, 'To: carol@fabrikam.test', `Subject: ${subject}`, '', '..a line that starts with a dot', '.']) session.send(line);
    assert.match(await session.line(), /^250 /, await withLog(session, 'the message was not accepted'));
    session.send('QUIT');
    session.close();

    const message = await sink.waitForMessage((received) => received.data.includes(subject));
    assert.equal(message.from, ALICE);
    assert.deepEqual(message.to, ['carol@fabrikam.test']);
    assert.match(message.data, /\r\n\.a line that starts with a dot\r\n$/);
    assert.deepEqual(
      requestsFor(token).map((request) => [request.path, request.headers['x-dovecot-auth-service']]),
      [[`/exchange/introspect/smtp/${ALICE}`, 'submission']],
    );
  });

  test('submission: OAUTHBEARER opens the mailbox; another mailbox token gets 535', needsDovecot, async () => {
    const accepted = await submissionLogin('OAUTHBEARER', SHARED, goodToken(SHARED));
    accepted.session.close();
    assert.equal(accepted.answer, '235 2.7.0 Logged in.', await withLog(accepted.session, 'OAUTHBEARER over submission was refused'));
    const refused = await submissionLogin('XOAUTH2', SHARED, goodToken(ALICE));
    refused.session.close();
    assert.equal(refused.answer, '535 5.7.8 Authentication failed.');
  });

  test('submission: an initial response over 1016 base64 characters is "Line too long"; the continuation form takes a real-sized token', needsDovecot, async () => {
    // A token the size of an Entra access token (about 2 KB): too long for `AUTH XOAUTH2 <initial response>`.
    const entraSized = goodToken(ALICE).padEnd(2000, 'x');
    const inline = await submissionLogin('XOAUTH2', ALICE, entraSized, 'initial-response');
    inline.session.close();
    assert.equal(inline.answer, '500 5.5.2 Line too long');
    const continued = await submissionLogin('XOAUTH2', ALICE, entraSized);
    continued.session.close();
    assert.equal(continued.answer, '235 2.7.0 Logged in.', await withLog(continued.session, 'the continuation form was refused'));

    // The measured edge: 1016 characters after `AUTH XOAUTH2 ` pass, 1020 do not.
    const edge = goodToken(ALICE).padEnd((1016 / 4) * 3 - `user=${ALICE}\x01auth=Bearer \x01\x01`.length, 'x');
    assert.equal(xoauth2(ALICE, edge).length, 1016);
    const atEdge = await submissionLogin('XOAUTH2', ALICE, edge, 'initial-response');
    atEdge.session.close();
    assert.equal(atEdge.answer, '235 2.7.0 Logged in.', await withLog(atEdge.session, 'a 1016-character initial response was refused'));
    const overEdge = await submissionLogin('XOAUTH2', ALICE, `${edge}xxx`, 'initial-response');
    overEdge.session.close();
    assert.equal(overEdge.answer, '500 5.5.2 Line too long');
  });
});

describe('the SMTP sink Dovecot relays to', () => {
  let sink: SmtpSink;

  before(async () => {
    sink = await startSmtpSink();
  });

  after(async () => {
    await sink.stop();
  });

  test('takes HELO, pipelined commands, RSET, NOOP and two messages in one session, refuses commands out of order', async () => {
    const session = await LineSession.open(sink.port, false, '');
    assert.match(await session.line(), /^220 /);
    session.send('HELO client.test');
    assert.match(await session.line(), /^250 /);
    session.send('DATA');
    assert.match(await session.line(), /^503 /, 'DATA before MAIL and RCPT');
    session.send('RCPT TO:<x@fabrikam.test>');
    assert.match(await session.line(), /^503 /, 'RCPT before MAIL');
    session.send('VRFY someone');
    assert.match(await session.line(), /^502 /);
    // A transaction RSET throws away: its recipient must not show up in the next message.
    session.send('MAIL FROM:<dropped@contoso.test>');
    session.send('RCPT TO:<dropped@fabrikam.test>');
    session.send('RSET');
    session.send('NOOP');
    assert.deepEqual((await session.next(4)).map((line) => line.slice(0, 3)), ['250', '250', '250', '250']);
    const first = randomUUID();
    const second = randomUUID();
    // Pipelined as a relay may send them (RFC 2920), with a dot-stuffed line and the null sender for the second.
    session.send(`MAIL FROM:<a@contoso.test> BODY=8BITMIME\r\nRCPT TO:<b@fabrikam.test>\r\nRCPT TO:<c@fabrikam.test>\r\nDATA`);
    assert.deepEqual((await session.next(4)).map((line) => line.slice(0, 3)), ['250', '250', '250', '354']);
    session.send(`Subject: ${first}\r\n\r\n...two dots in, one out\r\n.`);
    assert.match(await session.line(), /^250 /);
    session.send('MAIL FROM:<>');
    assert.match(await session.line(), /^250 /);
    session.send('RCPT TO:<d@fabrikam.test>');
    assert.match(await session.line(), /^250 /);
    session.send('DATA');
    assert.match(await session.line(), /^354 /);
    session.send(`Subject: ${second}\r\n\r\nbody\r\n.`);
    assert.match(await session.line(), /^250 /);
    session.send('QUIT');
    assert.match(await session.line(), /^221 /);
    session.close();

    assert.deepEqual(await sink.waitForMessage((message) => message.data.includes(first)), {
      from: 'a@contoso.test',
      to: ['b@fabrikam.test', 'c@fabrikam.test'],
      data: `Subject: ${first}\r\n\r\n..two dots in, one out\r\n`,
    });
    assert.deepEqual(await sink.waitForMessage((message) => message.data.includes(second)), { from: '', to: ['d@fabrikam.test'], data: `Subject: ${second}\r\n\r\nbody\r\n` });
    assert.equal(sink.messages().filter((message) => message.from === 'dropped@contoso.test').length, 0);
  });

  test('waitForMessage waits for a message yet to come, and names what came when none matches', async () => {
    const subject = randomUUID();
    const waiting = sink.waitForMessage((message) => message.data.includes(subject));
    const session = await LineSession.open(sink.port, false, '');
    await session.line();
    session.send(`EHLO client.test\r\nMAIL FROM:<late@contoso.test>\r\nRCPT TO:<e@fabrikam.test>\r\nDATA`);
    await session.until((line) => line.startsWith('354 '));
    session.send(`Subject: ${subject}\r\n\r\nlate\r\n.\r\nQUIT`);
    assert.equal((await waiting).from, 'late@contoso.test');
    session.close();
    await assert.rejects(sink.waitForMessage(() => false, 1), /no matching message within 1 ms; received \d+: .*from <late@contoso\.test> to <e@fabrikam\.test>/);
  });
});
