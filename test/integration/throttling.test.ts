// Throttling end to end, against the real sandboxes over HTTPS on loopback:
// a 429 or 503 from the token endpoint comes out of every grant (msal-node
// for Entra, openid-client for Google) as a BrokerError that says how long
// the server asked to wait, and the next request really reaches the server
// (msal-node's own throttle cache must not swallow it).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Agent, fetch } from 'undici';
import type { Response } from 'undici';
import { createGrant } from '../../src/broker/grants/index.js';
import type { Grant } from '../../src/broker/grants/index.js';
import type { MailboxConfig } from '../../src/config/index.js';
import { BrokerError } from '../../src/errors/index.js';
import { startSandbox } from '../../src/sandbox/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { startGoogleSandbox } from '../../src/sandbox/google/index.js';
import type { GoogleSandbox } from '../../src/sandbox/google/index.js';
import { ManualClock } from '../../src/time/index.js';
import { makeCertificate } from '../support/certificates.js';
import { followAuthorization } from '../support/oidc-browser.js';
import { configFolder, grantHarness, loadMailboxes } from '../support/oidc-config.js';
import type { GrantHarness } from '../support/oidc-config.js';

const TENANT = randomUUID();
const APP = randomUUID();
const APP_SECRET = `secret-${randomUUID()}`;
const PUBLIC_APP = randomUUID();
const ALICE = 'alice@contoso.example';
const ALICE_PASSWORD = `pw-${randomUUID()}`;

const GOOGLE_USER = 'bob@example.com';
const WEB_CLIENT = '5678-web.apps.googleusercontent.com';
const WEB_SECRET = 'GOCSPX-throttle-secret';
const SERVICE_ACCOUNT = 'mail-reader@project-5678.iam.gserviceaccount.com';
const REDIRECT_URI = 'http://localhost:8400/callback';
const GMAIL = 'https://mail.google.com/';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

// Whole seconds, so a Retry-After given as an HTTP-date converts exactly.
const clock = new ManualClock(Math.floor(Date.now() / 1000) * 1000);
const serviceAccountKey = makeCertificate(Date.now() - 60_000, Date.now() + 86_400_000, SERVICE_ACCOUNT);
let entra: Sandbox;
let google: GoogleSandbox;
let harness: GrantHarness;
let mailboxes: ReadonlyMap<string, MailboxConfig>;
const grants = new Map<string, Grant>();

before(async () => {
  [entra, google] = await Promise.all([startSandbox(), startGoogleSandbox({ clock })]);
  entra.registerApplication({ tenantId: TENANT, clientId: APP, clientSecret: APP_SECRET });
  entra.registerApplication({ tenantId: TENANT, clientId: PUBLIC_APP, publicClient: true });
  entra.registerUser({ tenantId: TENANT, username: ALICE, password: ALICE_PASSWORD });
  google.registerUser(GOOGLE_USER);
  google.registerClient({ clientId: WEB_CLIENT, clientSecret: WEB_SECRET, redirectUris: [REDIRECT_URI] });
  google.registerServiceAccount({ clientId: SERVICE_ACCOUNT, certificatePem: serviceAccountKey.certificatePem, delegatedScopes: [GMAIL] });

  const folder = await configFolder({
    'entra-ca.pem': entra.caCertificatePem,
    'google-ca.pem': google.caCertificatePem,
    'service-account.pem': serviceAccountKey.certificatePem + serviceAccountKey.keyPem,
  });
  const gsandbox = { protocol: 'imap', authorizationServer: 'gsandbox', username: GOOGLE_USER };
  mailboxes = await loadMailboxes(
    {
      authorizationServers: {
        microsoft: { authorityHost: entra.url, caFile: 'entra-ca.pem' },
        gsandbox: { type: 'google', ...google.endpoints, caFile: 'google-ca.pem' },
      },
      mailboxes: {
        'imap-app': { protocol: 'imap', grantType: 'client-credentials', tenantId: TENANT, clientId: APP, clientSecret: APP_SECRET, username: 'shared@contoso.example' },
        'graph-ropc': { protocol: 'graph', grantType: 'ropc', tenantId: TENANT, clientId: PUBLIC_APP, username: ALICE, password: ALICE_PASSWORD },
        gmail: { ...gsandbox, grantType: 'authorization-code', clientId: WEB_CLIENT, clientSecret: WEB_SECRET, redirectUri: REDIRECT_URI },
        'gmail-app': {
          ...gsandbox,
          grantType: 'client-credentials',
          clientId: SERVICE_ACCOUNT,
          authenticationMode: 'certificate',
          certificate: { file: 'service-account.pem', thumbprint: serviceAccountKey.sha1 },
        },
      },
    },
    folder,
  );
  harness = grantHarness(clock);
});

after(async () => {
  await harness.close();
  await Promise.all([entra.close(), google.close()]);
});

/** One grant per mailbox for the whole file, as the engine keeps it (msal's client-credentials application, and its cache, included). */
function grantFor(name: string): Grant {
  let grant = grants.get(name);
  if (grant === undefined) {
    const mailbox = mailboxes.get(name);
    assert.ok(mailbox !== undefined, name);
    grant = createGrant(mailbox, harness.dependencies);
    grants.set(name, grant);
  }
  return grant;
}

async function failure(promise: Promise<unknown>): Promise<BrokerError> {
  const error = await promise.then(() => undefined, (thrown: unknown) => thrown);
  assert.ok(error instanceof BrokerError, `expected a BrokerError, got ${String(error)}`);
  return error;
}

/** An IMF-fixdate `seconds` from the shared clock's now. */
function httpDate(seconds: number): string {
  return new Date(clock.now() + seconds * 1000).toUTCString();
}

describe('Entra (msal-node)', () => {
  test('client credentials: a 429 with Retry-After 7 is throttled, and the next request really reaches Entra', async () => {
    const grant = grantFor('imap-app');
    await grant.acquire({});
    entra.throttleNext({ retryAfter: 7 });
    const before = entra.stats.forClient(APP);
    const throttled = await failure(grant.acquire({}));
    assert.equal(throttled.code, 'throttled');
    assert.equal(throttled.permanent, false);
    assert.equal(throttled.retryAfterMs, 7_000);
    assert.equal(throttled.oauth?.httpStatus, 429);
    assert.equal(throttled.oauth?.error, 'temporarily_unavailable');
    assert.equal(throttled.displayCode, 'AADSTS90055');
    assert.equal(throttled.mailbox, 'imap-app');
    assert.equal(throttled.authorizationServer, 'microsoft');
    assert.match(throttled.message, /^mailbox imap-app: authorization server microsoft throttled the client-credentials token request \(HTTP 429, Retry-After 7 s\): AADSTS90055: /);
    assert.match(throttled.describe(), /The broker waits as the server asked \(7 s\), then retries\./);
    assert.equal(entra.stats.forClient(APP), before + 1);

    // Same grant, same msal application: msal-node would answer this from its throttle cache for 7 s without a request.
    const token = await grant.acquire({});
    assert.ok(entra.verifyAccessToken(token.accessToken), 'a real token from the sandbox');
    assert.equal(entra.stats.forClient(APP), before + 2, 'the second request was sent to the server');
  });

  test('client credentials: a 503 without Retry-After is a transient server error, and is not cached by msal either', async () => {
    const grant = grantFor('imap-app');
    entra.throttleNext({ status: 503 });
    const before = entra.stats.forClient(APP);
    const outage = await failure(grant.acquire({}));
    assert.deepEqual([outage.code, outage.permanent, outage.retryAfterMs, outage.oauth?.httpStatus, outage.displayCode], ['authorization_server_error', false, undefined, 503, 'AADSTS90033']);
    assert.match(outage.describe(), /retries/);
    // msal-node caches a 5xx without Retry-After as a 60 s throttle; the broker must still be able to ask.
    await grant.acquire({});
    assert.equal(entra.stats.forClient(APP), before + 2);
  });

  test('client credentials: a 503 with Retry-After as an HTTP-date is throttled for that long', async () => {
    entra.throttleNext({ status: 503, retryAfter: httpDate(90) });
    const throttled = await failure(grantFor('imap-app').acquire({}));
    assert.deepEqual([throttled.code, throttled.retryAfterMs, throttled.oauth?.httpStatus], ['throttled', 90_000, 503]);
    assert.match(throttled.message, /is unavailable for the client-credentials token request \(HTTP 503, Retry-After 90 s\)/);
  });

  test('client credentials: a garbage Retry-After on a 429 is ignored, the error is still throttled', async () => {
    entra.throttleNext({ retryAfter: 'in a while' });
    const throttled = await failure(grantFor('imap-app').acquire({}));
    assert.deepEqual([throttled.code, throttled.retryAfterMs, throttled.oauth?.httpStatus], ['throttled', undefined, 429]);
  });

  test('ROPC refresh: a 429 with Retry-After 7 is throttled (no fallback to the password), the next refresh reaches Entra', async () => {
    const grant = grantFor('graph-ropc');
    const first = await grant.acquire({});
    const refreshToken = first.refreshToken;
    assert.ok(refreshToken !== undefined);
    entra.throttleNext({ retryAfter: 7 });
    const [refreshes, passwords] = [entra.stats.forGrantType('refresh_token'), entra.stats.forGrantType('password')];
    const throttled = await failure(grant.acquire({ refreshToken }));
    assert.deepEqual([throttled.code, throttled.retryAfterMs, throttled.oauth?.httpStatus], ['throttled', 7_000, 429]);
    assert.match(throttled.message, /^mailbox graph-ropc: authorization server microsoft throttled the ropc token request \(HTTP 429, Retry-After 7 s\)/);
    assert.equal(entra.stats.forGrantType('password'), passwords, 'throttling is no reason to send the password');

    const second = await grant.acquire({ refreshToken });
    assert.ok(entra.verifyAccessToken(second.accessToken));
    assert.ok(second.refreshToken !== undefined && second.refreshToken !== refreshToken, 'rotated as usual');
    assert.equal(entra.stats.forGrantType('refresh_token'), refreshes + 2, 'both refreshes reached the server');
  });
});

test('the Google sandbox answers throttleNext with Google\'s bodies and the Retry-After asked for', async () => {
  const agent = new Agent({ connect: { ca: google.caCertificatePem } });
  const post = (): Promise<Response> =>
    fetch(google.endpoints.tokenEndpoint, { method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=refresh_token' });
  try {
    google.throttleNext({ retryAfter: 7 });
    google.failNext({ status: 400, error: 'invalid_grant', description: 'Token has been expired or revoked.', retryAfterHeader: 'whenever' });
    google.throttleNext({ status: 503 });
    const throttled = await post();
    assert.deepEqual([throttled.status, throttled.headers.get('retry-after'), await throttled.json()], [429, '7', { error: 'rate_limit_exceeded', error_description: 'Rate Limit Exceeded' }]);
    const revoked = await post();
    assert.deepEqual([revoked.status, revoked.headers.get('retry-after'), await revoked.json()], [400, 'whenever', { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' }]);
    const unavailable = await post();
    assert.deepEqual([unavailable.status, unavailable.headers.get('retry-after'), await unavailable.json()], [503, null, { error: 'internal_failure' }]);
    const normal = await post();
    assert.equal(normal.status, 400, 'the queue is empty: the request is processed again');
    assert.throws(() => google.failNext({ status: 400, error: '' }), /"error" must be a non-empty string/);
  } finally {
    await agent.close();
  }
});

describe('Google (openid-client)', () => {
  let refreshToken: string;

  before(async () => {
    const grant = grantFor('gmail');
    assert.ok(grant.startAuthorization !== undefined && grant.completeAuthorization !== undefined);
    const start = await grant.startAuthorization();
    assert.ok(start.kind === 'redirect');
    const token = await grant.completeAuthorization(start.pending, await followAuthorization(start.authorizationUrl, google.caCertificatePem));
    assert.ok(token.refreshToken !== undefined);
    refreshToken = token.refreshToken;
  });

  test('refresh: a 429 with Retry-After 7 is throttled with Google\'s error, and the next refresh reaches Google', async () => {
    const grant = grantFor('gmail');
    google.throttleNext({ retryAfter: 7 });
    const before = google.stats.forGrantType('refresh_token');
    const throttled = await failure(grant.acquire({ refreshToken }));
    assert.equal(throttled.code, 'throttled');
    assert.equal(throttled.permanent, false);
    assert.equal(throttled.retryAfterMs, 7_000);
    assert.equal(throttled.oauth?.httpStatus, 429);
    assert.equal(throttled.displayCode, 'rate_limit_exceeded');
    assert.equal(throttled.message, 'mailbox gmail: authorization server gsandbox throttled the authorization-code token request (HTTP 429, Retry-After 7 s): Rate Limit Exceeded');
    assert.match(throttled.remediation ?? '', /lower refresh\.maxConcurrentPerServer/);

    const token = await grant.acquire({ refreshToken });
    assert.equal(google.verifyAccessToken(token.accessToken)?.grantType, 'refresh_token');
    assert.equal(google.stats.forGrantType('refresh_token'), before + 2);
  });

  test('refresh: a 503 without Retry-After is transient authorization_server_error with Google\'s internal_failure', async () => {
    google.throttleNext({ status: 503 });
    const outage = await failure(grantFor('gmail').acquire({ refreshToken }));
    assert.deepEqual([outage.code, outage.permanent, outage.retryAfterMs, outage.oauth?.httpStatus, outage.oauth?.error], ['authorization_server_error', false, undefined, 503, 'internal_failure']);
  });

  test('service account: a 503 with Retry-After as an HTTP-date is throttled for that long, counted by the sandbox', async () => {
    const grant = grantFor('gmail-app');
    google.throttleNext({ status: 503, retryAfter: httpDate(30), count: 2 });
    const before = google.stats.forGrantType(JWT_BEARER);
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const throttled = await failure(grant.acquire({}));
      assert.deepEqual([throttled.code, throttled.retryAfterMs, throttled.oauth?.httpStatus, throttled.oauth?.error], ['throttled', 30_000, 503, 'internal_failure']);
      assert.match(throttled.message, /^mailbox gmail-app: authorization server gsandbox is unavailable for the client-credentials token request \(HTTP 503, Retry-After 30 s\)/);
    }
    const token = await grant.acquire({});
    assert.equal(google.verifyAccessToken(token.accessToken)?.sub, GOOGLE_USER);
    assert.equal(google.stats.forGrantType(JWT_BEARER), before + 3);
  });
});
