// Faults of the authorization server as met in the field, against the real
// Entra-shaped sandbox on loopback and through the broker's own engine and
// grants (msal-node for the microsoft server, openid-client for a generic
// server on the same sandbox): a certificate from an untrusted CA for a
// while, answers that are no JSON, connections closed before or during the
// answer, and a server that quotes the request (secrets and all) back in its
// error. Time is a manual clock: backoffs are stepped over, never waited out.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { TokenBroker } from '../../src/broker/index.js';
import { retryDelayMs } from '../../src/broker/retry-policy.js';
import type { MailboxConfig } from '../../src/config/index.js';
import type { BrokerError } from '../../src/errors/index.js';
import { HttpTransport } from '../../src/http/index.js';
import { startSandbox } from '../../src/sandbox/index.js';
import type { InjectedFault, Sandbox } from '../../src/sandbox/index.js';
import { mailboxStatusMessage } from '../../src/server/messages.js';
import { toStatus } from '../../src/server/to-status.js';
import { ManualClock } from '../../src/time/index.js';
import { rejection } from '../support/assertions.js';
import { signInRedirect } from '../support/browser.js';
import { makeCertificate } from '../support/certificates.js';
import { captureLogs } from '../support/log-capture.js';
import type { CapturedLog } from '../support/log-capture.js';
import { memoryStore } from '../support/mailbox.js';
import { configFolder, loadMailboxes } from '../support/oidc-config.js';
import { makeAuthority } from '../support/pki.js';

const TENANT = randomUUID();
const ALICE = 'alice@contoso.example';
/** Characters that URL-encoding, form-encoding and base64 all write differently. */
const ALICE_PASSWORD = `pw+${randomBytes(6).toString('hex')}/&=~ü`;
const IMAP_APP_SCOPE = 'https://outlook.office365.com/.default';
const WEB_REDIRECT = 'https://broker.contoso.example/oauth/callback';
/** The permanent pause (retry-policy.ts): a transient failure must be retried far sooner. */
const PERMANENT_PAUSE_MS = 3_600_000;
/** A generous bound of the first transient retry delays (2 s base, 4 s at the second failure in a row). */
const SHORT_BACKOFF_MS = 10_000;

interface App {
  readonly clientId: string;
  readonly secret: string;
}

/** One application per mailbox: mailboxes of one application would share one token, and one fault. */
function newApp(): App {
  return { clientId: randomUUID(), secret: `s3cr3t~${randomBytes(9).toString('base64')}+/=ü._-` };
}

/** Answers that are no OAuth answer; a mailbox of each grant library meets each once (`html-msal-0`, ...). */
const NOT_OAUTH_ANSWERS: readonly (readonly [string, InjectedFault])[] = [
  ['a 200 HTML page', { kind: 'answer', status: 200, contentType: 'text/html; charset=utf-8', body: '<html><body><h1>Down for maintenance</h1></body></html>' }],
  ['an empty 200 JSON answer', { kind: 'answer', status: 200, contentType: 'application/json', body: '' }],
  ['a garbled 200 JSON answer', { kind: 'answer', status: 200, contentType: 'application/json', body: '{"token_type":"Bearer","access_tok' }],
  ['a 400 HTML error page of a proxy', { kind: 'answer', status: 400, contentType: 'text/html', body: '<html><body>Bad Request</body></html>' }],
  ['a 502 HTML page', { kind: 'answer', status: 502, contentType: 'text/html', body: '<html><body>Bad Gateway</body></html>' }],
];

/**
 * The engine's clock. It stays near real time: msal-node dates its tokens by
 * the real clock, so a clock moved hours ahead would find them expired. Each
 * fault therefore meets a mailbox of its own, at its first token request.
 */
const clock = new ManualClock(Math.floor(Date.now() / 1000) * 1000);
const certificate = makeCertificate(Date.now() - 3_600_000, Date.now() + 30 * 86_400_000, 'broker-app');
const apps = new Map<string, App>();
/** The delay the engine chose after each mailbox's latest failure (the real retry policy, jitter fixed). */
const delays = new Map<string, number>();
let sandbox: Sandbox;
let transport: HttpTransport;
let broker: TokenBroker;
let log: CapturedLog;
let mailboxes: ReadonlyMap<string, MailboxConfig>;

before(async () => {
  sandbox = await startSandbox();
  const msal = (name: string, fields: object): [string, object] => {
    const app = newApp();
    apps.set(name, app);
    sandbox.registerApplication({ tenantId: TENANT, clientId: app.clientId, clientSecret: app.secret, redirectUris: [WEB_REDIRECT], certificates: [certificate.certificatePem] });
    return [name, { tenantId: TENANT, clientId: app.clientId, clientSecret: app.secret, username: `${name}@contoso.example`, ...fields }];
  };
  const appOnly = { protocol: 'imap', grantType: 'client-credentials' };
  const generic = (name: string, fields: object = {}): [string, object] => msal(name, { ...appOnly, authorizationServer: 'entra-generic', scopes: [IMAP_APP_SCOPE], tenantId: undefined, ...fields });
  const certificateCredential = { clientSecret: undefined, authenticationMode: 'certificate', certificate: { file: 'app.pem', thumbprint: certificate.sha1 } };
  sandbox.registerUser({ tenantId: TENANT, username: ALICE, password: ALICE_PASSWORD });

  const folder = await configFolder({ 'ca.pem': sandbox.caCertificatePem, 'app.pem': certificate.certificatePem + certificate.keyPem });
  mailboxes = await loadMailboxes(
    {
      authorizationServers: {
        microsoft: { authorityHost: sandbox.url, caFile: 'ca.pem' },
        'entra-generic': { type: 'generic', tokenEndpoint: `${sandbox.url}/${TENANT}/oauth2/v2.0/token`, caFile: 'ca.pem' },
      },
      mailboxes: Object.fromEntries([
        msal('tls-msal', appOnly),
        generic('tls-generic'),
        ...NOT_OAUTH_ANSWERS.flatMap((_answer, index) => [msal(`html-msal-${index}`, appOnly), generic(`html-generic-${index}`)]),
        ...['close', 'truncate'].flatMap((kind) => [msal(`${kind}-msal`, appOnly), generic(`${kind}-generic`)]),
        msal('echo-msal-secret', appOnly),
        msal('echo-msal-certificate', { ...appOnly, ...certificateCredential }),
        msal('echo-msal-ropc', { protocol: 'graph', grantType: 'ropc', username: ALICE, password: ALICE_PASSWORD }),
        msal('echo-msal-code', { protocol: 'imap', grantType: 'authorization-code', redirectUri: WEB_REDIRECT, redirectPlatform: 'web', username: ALICE }),
        generic('echo-generic-secret'),
        generic('echo-generic-certificate', certificateCredential),
      ]),
    },
    folder,
  );
  log = captureLogs('debug');
  transport = new HttpTransport();
  broker = new TokenBroker({
    mailboxes: mailboxes.values(),
    refresh: { leadTimeSeconds: 300, maxConcurrentPerServer: 4, sweepIntervalSeconds: 10, idleAfterHours: 24, keepAliveDays: 7 },
    clock,
    logger: log.logger,
    dependencies: { transport, clock, logger: log.logger },
    store: await memoryStore(),
    retryDelayMs: (failure, consecutiveFailures) => {
      const delay = retryDelayMs(failure, consecutiveFailures, () => 0.5);
      if (failure.mailbox !== undefined) delays.set(failure.mailbox, delay);
      return delay;
    },
  });
});

after(async () => {
  await broker?.drain();
  await transport?.close();
  await sandbox?.close();
});

/** The engine's pause after `mailbox`'s latest failure: short, as for any transient failure. */
function shortBackoff(mailbox: string): number {
  const delay = delays.get(mailbox);
  assert.ok(delay !== undefined, `the engine recorded a failure of ${mailbox}`);
  assert.ok(delay <= SHORT_BACKOFF_MS, `${mailbox}: retried after ${delay} ms, not after a short backoff (the permanent pause is ${PERMANENT_PAUSE_MS} ms)`);
  return delay;
}

/** After the backoff the mailbox asks again, gets a real token and is READY. */
async function recovers(mailbox: string): Promise<void> {
  clock.advance(shortBackoff(mailbox));
  const requests = sandbox.stats.total;
  const token = await broker.getToken(mailbox);
  assert.ok(sandbox.verifyAccessToken(token.accessToken), `${mailbox}: a token the sandbox issued`);
  assert.equal(sandbox.stats.total, requests + 1, `${mailbox}: the request was sent`);
  const status = broker.status(mailbox);
  assert.equal(status.state, 'READY', `${mailbox}: ${status.lastError?.describe() ?? ''}`);
  assert.equal(status.lastError, undefined);
}

describe('transport faults are transient', () => {
  test('a certificate from an untrusted CA for a while: tls_untrusted, a short backoff, then tokens again (msal-node and openid-client)', async () => {
    const impostor = makeAuthority('Impostor CA').issueServer();
    sandbox.useServerCertificate(impostor);
    try {
      const requests = sandbox.stats.total;
      for (const mailbox of ['tls-msal', 'tls-generic']) {
        const failure = await rejection(broker.getToken(mailbox));
        assert.equal(failure.code, 'tls_untrusted', failure.describe());
        assert.equal(failure.permanent, false, `${mailbox}: ${failure.describe()}`);
        assert.match(failure.describe(), /not trusted.*caFile/s);
        shortBackoff(mailbox);
      }
      assert.equal(sandbox.stats.total, requests, 'no request got past the TLS handshake');
    } finally {
      // The certificate is fixed; the other tests need the sandbox's own too.
      sandbox.useServerCertificate(undefined);
    }
    for (const mailbox of ['tls-msal', 'tls-generic']) await recovers(mailbox);
  });

  test('a connection closed after the request, and an answer cut short: named as such, transient, and recovered from', async () => {
    const expected: ['close' | 'truncate', RegExp][] = [
      ['close', /closed the connection .*without answering/],
      ['truncate', /answer .* was cut short/],
    ];
    for (const library of ['msal', 'generic']) {
      for (const [kind, wording] of expected) {
        const mailbox = `${kind}-${library}`;
        sandbox.faultNext({ kind });
        const failure = await rejection(broker.getToken(mailbox));
        assert.equal(failure.permanent, false, `${mailbox}, ${kind}: ${failure.describe()}`);
        assert.match(failure.message, wording, `${mailbox}, ${kind}`);
        assert.doesNotMatch(failure.describe(), /cannot reach|DNS|firewall/, `${mailbox}, ${kind}: the server was reached`);
        await recovers(mailbox);
      }
    }
  });
});

describe('answers that are no OAuth answer are transient', () => {
  for (const library of ['msal', 'generic']) {
    test(`${library === 'msal' ? 'msal-node' : 'openid-client'}: one answer that is not OAuth JSON costs a short backoff, not an hour`, async () => {
      for (const [index, [what, fault]] of NOT_OAUTH_ANSWERS.entries()) {
        const mailbox = `html-${library}-${index}`;
        sandbox.faultNext(fault);
        const failure = await rejection(broker.getToken(mailbox));
        assert.equal(failure.code, 'authorization_server_error', `${what}: ${failure.describe()}`);
        assert.equal(failure.permanent, false, `${what}: ${failure.describe()}`);
        assert.doesNotMatch(failure.describe(), /cannot reach/, what);
        await recovers(mailbox);
      }
    });
  }
});

describe('a server that quotes the request back', () => {
  /** Every form in which a secret could be echoed: as is, URL- and form-encoded, base64 and base64url. */
  function forms(secret: string): string[] {
    const bytes = Buffer.from(secret);
    return [secret, encodeURIComponent(secret), new URLSearchParams({ s: secret }).toString().slice(2), bytes.toString('base64'), bytes.toString('base64url')];
  }

  /** The HTTP Basic credentials openid-client sends (RFC 6749 2.3.1: form-encoded id and secret, every character but letters and digits escaped). */
  function basic(app: App): string {
    const encode = (value: string): string => encodeURIComponent(value).replace(/[-_.!~*'()]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);
    return Buffer.from(`${encode(app.clientId)}:${encode(app.secret)}`).toString('base64');
  }

  /** Everything of `failure` that reaches a person: the gRPC error of GetToken, the status (RPC and `status --json`), the error object itself, the log. */
  function everythingShown(mailbox: string, failure: BrokerError): string {
    const status = broker.status(mailbox);
    return [
      failure.message,
      failure.describe(),
      inspect(failure, { depth: Infinity }),
      JSON.stringify(failure.oauth),
      toStatus(failure).details,
      inspect(status, { depth: Infinity }),
      JSON.stringify(mailboxStatusMessage(status)),
      log.text(),
    ].join('\n');
  }

  function assertNoSecret(shown: string, secrets: Record<string, string>): void {
    for (const [what, secret] of Object.entries(secrets)) {
      for (const form of forms(secret)) assert.ok(!shown.includes(form), `the ${what} (as ${form}) is shown:\n${shown.slice(0, 3000)}`);
    }
    // Values the broker never saw itself (msal's own assertion) are caught by their parameter names.
    const names = /(?<![A-Za-z0-9_])(client_secret|password|refresh_token|client_assertion|code|code_verifier|access_token|assertion)(=|%3D)(?!\[redacted\])/i.exec(shown);
    assert.equal(names, null, `a secret parameter is shown with its value: ${names?.[0] ?? ''}`);
  }

  /** The server's own words stay: its OAuth error and AADSTS number. */
  function assertServerWordsKept(failure: BrokerError, error: string): void {
    assert.equal(failure.oauth?.error, error);
    assert.equal(failure.displayCode, 'AADSTS900144');
    assert.match(failure.message, /AADSTS900144: The request could not be processed: .*\[redacted\]/);
  }

  type EchoError = 'invalid_request' | 'server_error';

  /** `call` meets a server that quotes its request back (by default a permanent invalid_request; server_error: a transient 500). */
  function echoed(mailbox: string, call: () => Promise<unknown> = () => broker.getToken(mailbox), error: EchoError = 'invalid_request'): Promise<BrokerError> {
    sandbox.faultNext(error === 'server_error' ? { kind: 'echo', status: 500, error } : { kind: 'echo' });
    return rejection(call());
  }

  /** No secret anywhere a person could see `failure`, and the server's own words still there. */
  function assertScrubbed(mailbox: string, failure: BrokerError, secrets: Record<string, string>, error: EchoError = 'invalid_request'): void {
    assertNoSecret(everythingShown(mailbox, failure), secrets);
    assertServerWordsKept(failure, error);
  }

  const app = (mailbox: string): App => {
    const found = apps.get(mailbox);
    assert.ok(found !== undefined, mailbox);
    return found;
  };

  test('msal-node, client credentials with a secret: the client secret', async () => {
    assertScrubbed('echo-msal-secret', await echoed('echo-msal-secret'), { 'client secret': app('echo-msal-secret').secret });
  });

  test('msal-node, client credentials with a certificate: the client assertion msal signed', async () => {
    assertScrubbed('echo-msal-certificate', await echoed('echo-msal-certificate'), {});
  });

  test('msal-node, ROPC: the password and client secret (in a 500, which msal-node never sees), then the refresh token', async () => {
    const mailbox = 'echo-msal-ropc';
    const secrets = { password: ALICE_PASSWORD, 'client secret': app(mailbox).secret };
    assertScrubbed(mailbox, await echoed(mailbox, undefined, 'server_error'), secrets, 'server_error');

    // A token and a refresh token, then a refresh whose answer quotes the refresh token back.
    clock.advance(shortBackoff(mailbox));
    let refreshToken: string | undefined;
    sandbox.hooks.beforeTokenResponse = (info) => {
      refreshToken = info.refreshToken;
    };
    const token = await broker.getToken(mailbox).finally(() => {
      sandbox.hooks.beforeTokenResponse = undefined;
    });
    assert.ok(refreshToken !== undefined, 'the sandbox issued a refresh token');
    const failure = await echoed(mailbox, () => broker.reportRejected(mailbox, token.accessToken, 'test: force a refresh'));
    assertScrubbed(mailbox, failure, { ...secrets, 'refresh token': refreshToken });
  });

  test('msal-node, authorization code: the code, the PKCE verifier and the client secret', async () => {
    const mailbox = 'echo-msal-code';
    sandbox.signInAs(ALICE);
    const started = await broker.startAuthorization(mailbox);
    assert.ok(started.authorizationUrl !== undefined);
    const redirectUrl = await signInRedirect(started.authorizationUrl, sandbox.caCertificatePem);
    const code = new URL(redirectUrl).searchParams.get('code');
    assert.ok(code !== null && code.length > 8, 'the sandbox issued a code');
    const failure = await echoed(mailbox, () => broker.completeAuthorization(mailbox, { redirectUrl }));
    assertScrubbed(mailbox, failure, { code, 'client secret': app(mailbox).secret });
  });

  test('openid-client, client credentials with a secret (HTTP Basic): the secret and the Authorization header', async () => {
    const mailbox = 'echo-generic-secret';
    assertScrubbed(mailbox, await echoed(mailbox), { 'client secret': app(mailbox).secret, 'Authorization header': basic(app(mailbox)) });
  });

  test('openid-client, client credentials with a certificate: the client assertion', async () => {
    assertScrubbed('echo-generic-certificate', await echoed('echo-generic-certificate'), {});
  });
});
