// The oidc grants against the Google-shaped sandbox over real HTTPS (its CA
// given as the server's caFile): authorization code with a pasted redirect
// URL, refresh without rotation, revocation, a forged state, service-account
// impersonation, the device flow, and Google's errors explained.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pkceChallenge } from '../../src/broker/grants/index.js';
import type { AuthorizationStart, Grant, TokenResult } from '../../src/broker/grants/index.js';
import type { MailboxConfig } from '../../src/config/index.js';
import { BrokerError } from '../../src/errors/index.js';
import { startGoogleSandbox } from '../../src/sandbox/google/index.js';
import type { GoogleSandbox } from '../../src/sandbox/google/index.js';
import { ManualClock } from '../../src/time/index.js';
import { makeCertificate } from '../support/certificates.js';
import { followAuthorization } from '../support/oidc-browser.js';
import { configFolder, grantHarness, loadMailboxes } from '../support/oidc-config.js';
import type { GrantHarness } from '../support/oidc-config.js';

const USER = 'alice@example.com';
const WEB_CLIENT = '1234-web.apps.googleusercontent.com';
const WEB_SECRET = 'GOCSPX-sandbox-secret';
const TV_CLIENT = '1234-tv.apps.googleusercontent.com';
const TV_SECRET = 'GOCSPX-tv-secret';
const SERVICE_ACCOUNT = 'mail-reader@project-1234.iam.gserviceaccount.com';
const REDIRECT_URI = 'http://localhost:8400/callback';
const GMAIL = 'https://mail.google.com/';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

// One clock for the sandbox and the grants: expiries are exact, and the
// service-account assertion's iat/exp are judged on the same time.
const clock = new ManualClock(Date.now());
const serviceAccountKey = makeCertificate(Date.now() - 60_000, Date.now() + 86_400_000, SERVICE_ACCOUNT);
let sandbox: GoogleSandbox;
let harness: GrantHarness;
let mailboxes: ReadonlyMap<string, MailboxConfig>;
/** The device test approves its code once the grant has been told "pending". */
let approveOnPending: string | undefined;

before(async () => {
  sandbox = await startGoogleSandbox({
    clock,
    deviceCodeIntervalSeconds: 1,
    onTokenRequest: (event) => {
      if (event.grantType === DEVICE_GRANT && event.error === 'authorization_pending' && approveOnPending !== undefined) {
        assert.ok(sandbox.approveDeviceCode(approveOnPending, USER));
        approveOnPending = undefined;
      }
    },
  });
  sandbox.registerUser(USER);
  sandbox.registerClient({ clientId: WEB_CLIENT, clientSecret: WEB_SECRET, redirectUris: [REDIRECT_URI] });
  sandbox.registerClient({ clientId: TV_CLIENT, clientSecret: TV_SECRET, redirectUris: [] });
  sandbox.registerServiceAccount({ clientId: SERVICE_ACCOUNT, certificatePem: serviceAccountKey.certificatePem, delegatedScopes: [GMAIL] });

  const folder = await configFolder({ 'ca.pem': sandbox.caCertificatePem, 'service-account.pem': serviceAccountKey.certificatePem + serviceAccountKey.keyPem });
  const server = { type: 'google', ...sandbox.endpoints };
  const code = { protocol: 'imap', authorizationServer: 'gsandbox', grantType: 'authorization-code', clientId: WEB_CLIENT, clientSecret: WEB_SECRET, redirectUri: REDIRECT_URI, username: USER };
  const serviceAccount = { protocol: 'imap', authorizationServer: 'gsandbox', grantType: 'client-credentials', clientId: SERVICE_ACCOUNT, authenticationMode: 'certificate', certificate: { file: 'service-account.pem', thumbprint: serviceAccountKey.sha1 }, username: USER };
  const device = { protocol: 'imap', authorizationServer: 'gsandbox', grantType: 'device-code', clientId: TV_CLIENT, clientSecret: TV_SECRET, username: USER, scopes: ['openid', 'email'] };
  mailboxes = await loadMailboxes(
    {
      authorizationServers: { gsandbox: { ...server, caFile: 'ca.pem' }, 'gsandbox-untrusted': server },
      mailboxes: {
        gmail: code,
        'gmail-wrong-secret': { ...code, clientSecret: 'GOCSPX-wrong' },
        'gmail-app': serviceAccount,
        'gmail-app-stranger': { ...serviceAccount, username: 'mallory@example.com' },
        'gmail-app-calendar': { ...serviceAccount, scopes: ['https://www.googleapis.com/auth/calendar'] },
        'gmail-app-untrusted': { ...serviceAccount, authorizationServer: 'gsandbox-untrusted' },
        'gmail-device': device,
        'gmail-device-mail': { ...device, scopes: [GMAIL] },
        'gmail-device-unknown': { ...device, clientId: 'deleted.apps.googleusercontent.com' },
      },
    },
    folder,
  );
  harness = grantHarness(clock);
});

after(async () => {
  await harness.close();
  await sandbox.close();
});

function grantFor(name: string): Grant {
  const mailbox = mailboxes.get(name);
  assert.ok(mailbox !== undefined, name);
  return harness.grant(mailbox);
}

async function failure(promise: Promise<unknown>): Promise<BrokerError> {
  const error = await promise.then(() => undefined, (thrown: unknown) => thrown);
  assert.ok(error instanceof BrokerError, `expected a BrokerError, got ${String(error)}`);
  return error;
}

function redirectStart(start: AuthorizationStart): Extract<AuthorizationStart, { kind: 'redirect' }> {
  assert.equal(start.kind, 'redirect');
  return start;
}

describe('authorization code', () => {
  test('start, sign in, paste the redirect URL, refresh without rotation, then revocation asks for authorization', async () => {
    const grant = grantFor('gmail');
    assert.ok(grant.startAuthorization !== undefined && grant.completeAuthorization !== undefined);
    const requestsBefore = harness.requested.length;
    const start = redirectStart(await grant.startAuthorization());
    assert.equal(harness.requested.length, requestsBefore, 'Google needs no discovery: starting makes no request');

    const url = new URL(start.authorizationUrl);
    assert.equal(`${url.origin}${url.pathname}`, sandbox.endpoints.authorizationEndpoint);
    assert.deepEqual(Object.fromEntries(url.searchParams), {
      client_id: WEB_CLIENT,
      response_type: 'code',
      redirect_uri: REDIRECT_URI,
      scope: GMAIL,
      state: start.pending.state,
      code_challenge: pkceChallenge(start.pending.codeVerifier),
      code_challenge_method: 'S256',
      login_hint: USER,
      access_type: 'offline',
      prompt: 'consent',
    });
    assert.equal(start.pending.expiresAt, clock.now() + 10 * 60 * 1000);
    assert.notEqual(start.pending.state, start.pending.codeVerifier);

    const pasted = await followAuthorization(start.authorizationUrl, sandbox.caCertificatePem);
    const first = await grant.completeAuthorization(start.pending, pasted);
    assert.equal(first.tokenType, 'Bearer');
    assert.equal(first.expiresAt, clock.now() + 3599 * 1000);
    assert.deepEqual(first.scopes, [GMAIL]);
    assert.match(first.accessToken, /^ya29\./);
    assert.deepEqual(sandbox.verifyAccessToken(first.accessToken), {
      sub: USER,
      azp: WEB_CLIENT,
      scope: GMAIL,
      grantType: 'authorization_code',
      iat: Math.floor(clock.now() / 1000),
      exp: Math.floor(clock.now() / 1000) + 3599,
    });
    const refreshToken = first.refreshToken;
    assert.ok(refreshToken !== undefined, 'access_type=offline brought a refresh token');

    clock.advance(3000 * 1000);
    const refreshesBefore = sandbox.stats.forGrantType('refresh_token');
    const second = await grant.acquire({ refreshToken });
    assert.equal(sandbox.stats.forGrantType('refresh_token'), refreshesBefore + 1);
    assert.notEqual(second.accessToken, first.accessToken);
    assert.equal(sandbox.verifyAccessToken(second.accessToken)?.grantType, 'refresh_token');
    assert.equal(second.expiresAt, clock.now() + 3599 * 1000);
    assert.equal(second.refreshToken, refreshToken, 'Google does not rotate: the refresh token handed in comes back out');

    sandbox.revokeRefreshTokens(USER);
    const revoked = await failure(grant.acquire({ refreshToken }));
    assert.equal(revoked.code, 'needs_authorization');
    assert.equal(revoked.permanent, true);
    assert.equal(revoked.displayCode, 'invalid_grant');
    assert.equal(revoked.oauth?.errorDescription, 'Token has been expired or revoked.');
    assert.match(revoked.remediation ?? '', /"Testing" status \(refresh tokens die after 7 days.*Run: token-broker authorize gmail$/);
  });

  test('a pasted URL with another state is refused before the code is redeemed', async () => {
    const grant = grantFor('gmail');
    assert.ok(grant.startAuthorization !== undefined && grant.completeAuthorization !== undefined);
    const start = redirectStart(await grant.startAuthorization());
    const pasted = await followAuthorization(start.authorizationUrl, sandbox.caCertificatePem);
    const forged = new URL(pasted);
    forged.searchParams.set('state', 'forged-state');

    const codeRequests = sandbox.stats.forGrantType('authorization_code');
    const refused = await failure(grant.completeAuthorization(start.pending, forged));
    assert.equal(refused.code, 'invalid_request');
    assert.equal(refused.permanent, true);
    assert.match(refused.message, /^mailbox gmail: the pasted URL does not belong to the authorization that was started/);
    assert.equal(sandbox.stats.forGrantType('authorization_code'), codeRequests, 'the code was not sent');
    assert.ok(!refused.describe().includes(pasted.searchParams.get('code') ?? '-'), 'the code is not in the message');

    const genuine = await grant.completeAuthorization(start.pending, pasted);
    assert.ok(sandbox.verifyAccessToken(genuine.accessToken) !== undefined, 'the genuine URL still works');
  });

  test('a wrong client secret is explained as such', async () => {
    const grant = grantFor('gmail-wrong-secret');
    assert.ok(grant.startAuthorization !== undefined && grant.completeAuthorization !== undefined);
    const start = redirectStart(await grant.startAuthorization());
    const pasted = await followAuthorization(start.authorizationUrl, sandbox.caCertificatePem);
    const refused = await failure(grant.completeAuthorization(start.pending, pasted));
    assert.equal(refused.code, 'invalid_client');
    assert.deepEqual(refused.oauth, { error: 'invalid_client', errorDescription: 'Unauthorized', httpStatus: 401, aadsts: undefined });
    assert.match(refused.remediation ?? '', /mailboxes\.gmail-wrong-secret\.clientSecret/);
    assert.ok(!refused.describe().includes('GOCSPX-wrong'), 'the secret is not in the message');
  });
});

describe('service account (JWT bearer, domain-wide delegation)', () => {
  test('a token for the mailbox user, obtained by the service account, without a refresh token', async () => {
    const before = sandbox.stats.forGrantType('urn:ietf:params:oauth:grant-type:jwt-bearer');
    const token: TokenResult = await grantFor('gmail-app').acquire({});
    assert.equal(sandbox.stats.forGrantType('urn:ietf:params:oauth:grant-type:jwt-bearer'), before + 1);
    assert.deepEqual(sandbox.verifyAccessToken(token.accessToken), {
      sub: USER,
      azp: SERVICE_ACCOUNT,
      scope: GMAIL,
      grantType: 'jwt-bearer',
      iat: Math.floor(clock.now() / 1000),
      exp: Math.floor(clock.now() / 1000) + 3599,
    });
    assert.equal(token.refreshToken, undefined);
    assert.deepEqual(token.scopes, [GMAIL], 'Google sends no scope here: the requested ones');
    assert.equal(token.expiresAt, clock.now() + 3599 * 1000);
  });

  const refusals: [string, string, string, RegExp][] = [
    ['a user outside the domain', 'gmail-app-stranger', 'invalid_client', /mailboxes\.gmail-app-stranger\.username/],
    ['a scope without delegation', 'gmail-app-calendar', 'consent_missing', /Domain-wide delegation/],
  ];
  for (const [name, mailbox, code, remediation] of refusals) {
    test(`refused: ${name}`, async () => {
      const refused = await failure(grantFor(mailbox).acquire({}));
      assert.equal(refused.code, code);
      assert.equal(refused.permanent, true);
      assert.match(refused.remediation ?? '', remediation);
    });
  }

  test('an untrusted server certificate surfaces as our transport error, not openid-client\'s wrapper', async () => {
    const refused = await failure(grantFor('gmail-app-untrusted').acquire({}));
    assert.equal(refused.code, 'tls_untrusted');
    assert.match(refused.remediation ?? '', /caFile/);
  });
});

describe('device code', () => {
  test('cancel stops polling; otherwise the grant polls through "pending" until the user approves', async () => {
    const grant = grantFor('gmail-device');
    assert.ok(grant.startAuthorization !== undefined);
    const [dropped, started] = await Promise.all([grant.startAuthorization(), grant.startAuthorization()]);
    assert.ok(dropped.kind === 'device-code' && started.kind === 'device-code');
    assert.notEqual(dropped.userCode, started.userCode);
    assert.match(started.userCode, /^[A-Z]{4}-[A-Z]{4}$/);
    assert.equal(started.verificationUri, `${sandbox.url}/device`, "Google's verification_url, under its standard name");
    assert.equal(started.expiresAt, clock.now() + 1800 * 1000);

    dropped.cancel();
    approveOnPending = started.userCode;
    const [cancelled, token] = await Promise.all([failure(dropped.completion), started.completion]);
    assert.equal(cancelled.code, 'needs_authorization');
    assert.match(cancelled.message, /the device authorization was cancelled/);

    assert.equal(approveOnPending, undefined, 'the grant polled and was told "pending" before the approval');
    assert.deepEqual(sandbox.verifyAccessToken(token.accessToken)?.sub, USER);
    assert.deepEqual(token.scopes, ['openid', 'email']);
    const refreshToken = token.refreshToken;
    assert.ok(refreshToken !== undefined);
    const refreshed = await grant.acquire({ refreshToken });
    assert.equal(sandbox.verifyAccessToken(refreshed.accessToken)?.azp, TV_CLIENT);
  });

  test("Gmail's scope is refused in Google's device flow, with the grant to use instead", async () => {
    const grant = grantFor('gmail-device-mail');
    assert.ok(grant.startAuthorization !== undefined);
    const refused = await failure(grant.startAuthorization());
    assert.equal(refused.code, 'invalid_client');
    assert.equal(refused.displayCode, 'invalid_scope');
    assert.match(refused.remediation ?? '', /use grant type authorization-code/);
  });

  test('an unknown OAuth client is named as the thing to fix', async () => {
    const grant = grantFor('gmail-device-unknown');
    assert.ok(grant.startAuthorization !== undefined);
    const refused = await failure(grant.startAuthorization());
    assert.equal(refused.code, 'invalid_client');
    assert.match(refused.remediation ?? '', /does not know mailboxes\.gmail-device-unknown\.clientId/);
  });
});
