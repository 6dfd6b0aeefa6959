// msal-node 7 against the sandbox's user grants, the way the broker's grants
// will drive it: ROPC (public and confidential), authorization code with PKCE,
// silent refresh, refresh by token (and how the rotated one is kept), device
// code with a real poll loop, and how Entra's errors surface through msal.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, fetch } from 'undici';
import { ConfidentialClientApplication, CryptoProvider, InteractionRequiredAuthError, PublicClientApplication, ServerError } from '@azure/msal-node';
import type { AccountInfo, Configuration, INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';
import { startSandbox } from '../../src/sandbox/index.js';
import type { RegisteredSandboxUser, Sandbox } from '../../src/sandbox/index.js';
import { sandboxMsalAuthority } from '../support/msal-authority.js';

const TENANT = '6d5c4b3a-2918-4f7e-8d6c-5b4a39281706';
const PUBLIC_APP = 'e5e5e5e5-0000-4000-8000-00000000000e';
const WEB_APP = 'f6f6f6f6-0000-4000-8000-00000000000f';
const WEB_SECRET = 'Msal~web.secret_7';
const LOOPBACK = 'http://localhost/redirect';
const ALICE = 'alice@contoso.example';
const BOB = 'bob@contoso.example';
const CAROL = 'carol@contoso.example';
const PASSWORD = 'Msal-Password-1';
const IMAP = 'https://outlook.office.com/IMAP.AccessAsUser.All';
/** msal-node sends this short form, not RFC 8628's URN; Entra (and the sandbox) accept both. */
const DEVICE_CODE_GRANT = 'device_code';

// msal-node keeps its cache on the real clock, so this sandbox does too.
let sandbox: Sandbox;
let dispatcher: Agent;
let alice: RegisteredSandboxUser;

before(async () => {
  sandbox = await startSandbox({ deviceCodeIntervalSeconds: 1 });
  sandbox.registerApplication({ tenantId: TENANT, clientId: PUBLIC_APP, publicClient: true, redirectUris: [LOOPBACK] });
  sandbox.registerApplication({ tenantId: TENANT, clientId: WEB_APP, clientSecret: WEB_SECRET });
  alice = sandbox.registerUser({ tenantId: TENANT, username: ALICE, password: PASSWORD });
  sandbox.registerUser({ tenantId: TENANT, username: BOB, password: PASSWORD, kind: 'mfa' });
  sandbox.registerUser({ tenantId: TENANT, username: CAROL, password: PASSWORD, kind: 'federated' });
  dispatcher = new Agent({ connect: { ca: sandbox.caCertificatePem } });
});

after(async () => {
  await dispatcher.close();
  await sandbox.close();
});

interface Exchange {
  readonly url: string;
  readonly requestBody: string | undefined;
  readonly responseBody: Record<string, unknown>;
}

/** msal-node's network seam over undici trusting the sandbox CA; records each exchange and lets a test react to it. */
function networkClient(exchanges: Exchange[] = [], onResponse?: (exchange: Exchange) => void): INetworkModule {
  const send = async <T>(url: string, method: 'GET' | 'POST', options?: NetworkRequestOptions): Promise<NetworkResponse<T>> => {
    const response = await fetch(url, { method, headers: options?.headers, body: options?.body, dispatcher });
    const body = (await response.json()) as Record<string, unknown>;
    const exchange = { url, requestBody: options?.body, responseBody: body };
    exchanges.push(exchange);
    onResponse?.(exchange);
    return { status: response.status, headers: Object.fromEntries(response.headers), body: body as T };
  };
  return {
    sendGetRequestAsync: (url, options) => send(url, 'GET', options),
    sendPostRequestAsync: (url, options) => send(url, 'POST', options),
  };
}

/** msal's auth settings for `clientId` on the sandbox. */
function msalAuth(clientId: string): Configuration['auth'] {
  return { clientId, ...sandboxMsalAuthority(sandbox.url, TENANT) };
}

function publicApp(exchanges?: Exchange[], onResponse?: (exchange: Exchange) => void): PublicClientApplication {
  return new PublicClientApplication({ auth: msalAuth(PUBLIC_APP), system: { networkClient: networkClient(exchanges, onResponse) } });
}

/** The refresh tokens in msal's cache: only the serialized cache (or a cache plugin) shows them. */
function cachedRefreshTokens(app: PublicClientApplication | ConfidentialClientApplication): string[] {
  const cache = JSON.parse(app.getTokenCache().serialize()) as { RefreshToken?: Record<string, { secret: string }> };
  return Object.values(cache.RefreshToken ?? {}).map((entry) => entry.secret);
}

function onlyRefreshToken(app: PublicClientApplication | ConfidentialClientApplication): string {
  const [token, ...others] = cachedRefreshTokens(app);
  assert.ok(token !== undefined && others.length === 0, 'exactly one refresh token is cached');
  return token;
}

interface MsalErrorFields {
  name?: string;
  errorCode?: string;
  errorNo?: unknown;
  subError?: string;
  errorMessage?: string;
}

void test('ROPC with a public client: msal-node builds its account from client_info and the id_token', async () => {
  sandbox.stats.reset();
  const exchanges: Exchange[] = [];
  const app = publicApp(exchanges);
  const result = await app.acquireTokenByUsernamePassword({ scopes: [IMAP], username: ALICE, password: PASSWORD });
  assert.ok(result);
  const claims = sandbox.verifyAccessToken(result.accessToken);
  assert.equal(claims?.upn, ALICE);
  assert.equal(claims?.scp, 'IMAP.AccessAsUser.All');
  assert.equal(result.account?.homeAccountId, `${alice.objectId}.${TENANT}`);
  assert.equal(result.account?.username, ALICE);
  assert.equal(result.account?.tenantId, TENANT);
  assert.equal(result.idTokenClaims['preferred_username' as keyof typeof result.idTokenClaims], ALICE);
  assert.deepEqual(result.scopes, [IMAP, 'openid', 'profile', 'offline_access']);
  assert.equal(cachedRefreshTokens(app).length, 1, 'msal keeps the refresh token in its cache only');

  // What msal sent: OIDC scopes added, client_info=1, the correlation id in the query.
  const sent = new URLSearchParams(exchanges[0]?.requestBody);
  assert.equal(sent.get('scope'), `${IMAP} openid profile offline_access`);
  assert.equal(sent.get('client_info'), '1');
  assert.equal(sent.get('grant_type'), 'password');
  assert.match(exchanges[0]?.url ?? '', /\?client-request-id=[0-9a-f-]{36}$/);
  assert.equal(sandbox.stats.otherRequests, 0, 'no discovery requests');
  assert.equal(sandbox.stats.forUser(ALICE), 1);
});

void test('ROPC with a confidential client and its secret', async () => {
  const app = new ConfidentialClientApplication({
    auth: { ...msalAuth(WEB_APP), clientSecret: WEB_SECRET },
    system: { networkClient: networkClient() },
  });
  const result = await app.acquireTokenByUsernamePassword({ scopes: [IMAP], username: ALICE, password: PASSWORD });
  assert.equal(sandbox.verifyAccessToken(result?.accessToken ?? '')?.appidacr, '1');
});

void test('ROPC failures reach msal callers with the AADSTS number: ServerError for 50126, InteractionRequiredAuthError for MFA', async () => {
  const app = publicApp();
  for (const username of [ALICE, CAROL]) {
    const password = username === ALICE ? 'wrong' : PASSWORD;
    await assert.rejects(app.acquireTokenByUsernamePassword({ scopes: [IMAP], username, password }), (error: unknown) => {
      assert.ok(error instanceof ServerError, String(error));
      const fields = error as MsalErrorFields;
      assert.equal(fields.errorCode, 'invalid_grant');
      assert.equal(fields.errorNo, 50126);
      assert.match(fields.errorMessage ?? '', /AADSTS50126: Error validating credentials/);
      return true;
    });
  }
  await assert.rejects(app.acquireTokenByUsernamePassword({ scopes: [IMAP], username: BOB, password: PASSWORD }), (error: unknown) => {
    // Not a ServerError: msal-node turns suberror basic_action into an interaction-required error.
    assert.ok(error instanceof InteractionRequiredAuthError, String(error));
    assert.ok(!(error instanceof ServerError));
    const fields = error as MsalErrorFields;
    assert.equal(fields.errorCode, 'invalid_grant');
    assert.equal(fields.subError, 'basic_action');
    assert.equal(fields.errorNo, 50076);
    return true;
  });
});

/** getAuthCodeUrl with PKCE, the browser's GET, the 302, and acquireTokenByCode with the verifier. */
async function authorizationCodeFlow(exchanges: Exchange[] = []): Promise<{ app: PublicClientApplication; account: AccountInfo }> {
  const app = publicApp(exchanges);
  const { verifier, challenge } = await new CryptoProvider().generatePkceCodes();
  const state = 'msal-state-1';
  const url = await app.getAuthCodeUrl({
    scopes: [IMAP],
    redirectUri: LOOPBACK,
    codeChallenge: challenge,
    codeChallengeMethod: 'S256',
    state,
    loginHint: ALICE,
  });
  const browser = await fetch(url, { dispatcher, redirect: 'manual' });
  assert.equal(browser.status, 302);
  const landed = new URL(browser.headers.get('location') ?? '');
  const code = landed.searchParams.get('code') ?? '';
  const result = await app.acquireTokenByCode(
    { code, scopes: [IMAP], redirectUri: LOOPBACK, codeVerifier: verifier, state },
    { code, state: landed.searchParams.get('state') ?? '' },
  );
  const sent = new URLSearchParams(exchanges.at(-1)?.requestBody);
  assert.equal(sent.get('grant_type'), 'authorization_code');
  assert.equal(sent.get('code_verifier'), verifier);
  assert.equal(sent.get('redirect_uri'), LOOPBACK);
  assert.equal(sandbox.verifyAccessToken(result.accessToken)?.upn, ALICE);
  assert.ok(result.account);
  return { app, account: result.account };
}

void test('authorization code with PKCE, then acquireTokenSilent from the cache and by the rotated refresh token', async () => {
  sandbox.stats.reset();
  const exchanges: Exchange[] = [];
  const { app, account } = await authorizationCodeFlow(exchanges);
  assert.equal(account.homeAccountId, `${alice.objectId}.${TENANT}`);
  const firstRefreshToken = onlyRefreshToken(app);

  const cached = await app.acquireTokenSilent({ account, scopes: [IMAP] });
  assert.equal(cached.fromCache, true);
  assert.equal(sandbox.stats.forGrantType('refresh_token'), 0, 'a valid cached token needs no request');

  const refreshed = await app.acquireTokenSilent({ account, scopes: [IMAP], forceRefresh: true });
  assert.equal(refreshed.fromCache, false);
  assert.ok(sandbox.verifyAccessToken(refreshed.accessToken));
  const secondRefreshToken = onlyRefreshToken(app);
  assert.notEqual(secondRefreshToken, firstRefreshToken, 'msal stored the rotated refresh token');
  assert.equal(new URLSearchParams(exchanges.at(-1)?.requestBody).get('refresh_token'), firstRefreshToken);

  // Again: only works because the rotated token replaced the dead one.
  await app.acquireTokenSilent({ account, scopes: [IMAP], forceRefresh: true });
  assert.equal(sandbox.stats.forGrantType('refresh_token'), 2);
  assert.equal(sandbox.stats.otherRequests, 0);
});

void test('acquireTokenByRefreshToken keeps the rotated refresh token only with forceCache: true', async () => {
  const { app: source } = await authorizationCodeFlow();
  const handedOver = onlyRefreshToken(source);

  // A fresh app (no account cached), as a broker holding the token itself would have.
  const forgetful = publicApp();
  const lost = await forgetful.acquireTokenByRefreshToken({ refreshToken: handedOver, scopes: [IMAP] });
  assert.ok(sandbox.verifyAccessToken(lost?.accessToken ?? ''));
  assert.deepEqual(cachedRefreshTokens(forgetful), [], 'without forceCache msal drops the new refresh token');
  await assert.rejects(forgetful.acquireTokenByRefreshToken({ refreshToken: handedOver, scopes: [IMAP] }), (error: unknown) => {
    // The one handed over was rotated away: the session is lost.
    assert.ok(error instanceof InteractionRequiredAuthError, String(error));
    const fields = error as MsalErrorFields;
    assert.equal(fields.errorNo, 70008);
    assert.equal(fields.subError, 'bad_token');
    return true;
  });

  const { app: again } = await authorizationCodeFlow();
  const keeper = publicApp();
  await keeper.acquireTokenByRefreshToken({ refreshToken: onlyRefreshToken(again), scopes: [IMAP], forceCache: true });
  const rotated = onlyRefreshToken(keeper);
  assert.notEqual(rotated, onlyRefreshToken(again));
  const next = await keeper.acquireTokenByRefreshToken({ refreshToken: rotated, scopes: [IMAP], forceCache: true });
  assert.ok(sandbox.verifyAccessToken(next?.accessToken ?? ''));
  const [account] = await keeper.getTokenCache().getAllAccounts();
  assert.equal(account?.username, ALICE, 'forceCache also caches the account, so acquireTokenSilent works');
});

void test('a revoked session reaches acquireTokenSilent as InteractionRequiredAuthError 50173 and msal drops the token', async () => {
  sandbox.registerUser({ tenantId: TENANT, username: 'revoked@contoso.example', password: PASSWORD });
  const app = publicApp();
  const result = await app.acquireTokenByUsernamePassword({ scopes: [IMAP], username: 'revoked@contoso.example', password: PASSWORD });
  assert.ok(result?.account);
  sandbox.revokeUserSessions('revoked@contoso.example');
  await assert.rejects(app.acquireTokenSilent({ account: result.account, scopes: [IMAP], forceRefresh: true }), (error: unknown) => {
    assert.ok(error instanceof InteractionRequiredAuthError, String(error));
    const fields = error as MsalErrorFields;
    assert.equal(fields.errorCode, 'invalid_grant');
    assert.equal(fields.errorNo, 50173);
    assert.equal(fields.subError, 'bad_token');
    return true;
  });
  assert.deepEqual(cachedRefreshTokens(app), [], 'msal removed the dead refresh token from its cache');
});

void test('device code: msal-node polls at the interval until the user approves (one real 1 s wait)', async () => {
  sandbox.stats.reset();
  let userCode = '';
  let pendingAnswers = 0;
  const app = publicApp([], ({ responseBody }) => {
    // The user signs in right after the first "still pending" answer.
    if (responseBody['error'] === 'authorization_pending' && (pendingAnswers += 1) === 1) sandbox.approveDeviceCode(userCode, ALICE);
  });
  const started = performance.now();
  const result = await app.acquireTokenByDeviceCode({
    scopes: [IMAP],
    deviceCodeCallback: (response) => {
      userCode = response.userCode;
      assert.equal(response.verificationUri, `${sandbox.url}/devicelogin`);
      assert.equal(response.interval, 1);
      assert.match(response.message, new RegExp(`enter the code ${response.userCode} to authenticate\\.$`));
    },
  });
  const elapsed = performance.now() - started;
  assert.ok(result);
  assert.equal(result.account?.username, ALICE);
  assert.equal(sandbox.verifyAccessToken(result.accessToken)?.upn, ALICE);
  assert.equal(cachedRefreshTokens(app).length, 1);
  assert.equal(pendingAnswers, 1);
  assert.equal(sandbox.stats.forGrantType(DEVICE_CODE_GRANT), 2, 'one pending poll, one successful poll');
  assert.equal(sandbox.stats.deviceCodeRequests, 1);
  assert.ok(elapsed >= 950, `msal waited the interval before polling again (${elapsed.toFixed(0)} ms)`);
});

void test('device code declined: msal-node stops polling, but reports only "post_request_failed"', async () => {
  const app = publicApp();
  await assert.rejects(
    app.acquireTokenByDeviceCode({
      scopes: [IMAP],
      deviceCodeCallback: (response) => sandbox.declineDeviceCode(response.userCode),
    }),
    (error: unknown) => {
      // msal replaces every poll error but authorization_pending with this generic one: no AADSTS number survives.
      const fields = error as MsalErrorFields;
      assert.equal(fields.errorCode, 'post_request_failed');
      assert.match(fields.errorMessage ?? '', /authorization_declined/);
      assert.ok(!(error instanceof ServerError));
      return true;
    },
  );
});
