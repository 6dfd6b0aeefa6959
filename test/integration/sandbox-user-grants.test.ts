// The sandbox's user grants over plain HTTPS, as the wire sees them: users,
// ROPC, the authorize endpoint and code redemption with PKCE, refresh token
// rotation and revocation, device codes, scopes, and Entra's exact errors.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Agent, fetch } from 'undici';
import type { Response } from 'undici';
import { startSandbox } from '../../src/sandbox/index.js';
import type { RegisteredSandboxUser, Sandbox, TokenResponseInfo } from '../../src/sandbox/index.js';

const TENANT = '3c0f2a6e-5d1b-4e8f-9a7c-1b2d3e4f5a6b';
const OTHER_TENANT = '8e7d6c5b-4a39-4281-9f0e-d1c2b3a49586';
const PUBLIC_APP = 'a1a1a1a1-0000-4000-8000-00000000000a';
const WEB_APP = 'b2b2b2b2-0000-4000-8000-00000000000b';
const WEB_SECRET = 'Web~secret.value_1';
const PUBLIC_REDIRECT = 'http://localhost/callback';
const WEB_REDIRECT = 'https://broker.contoso.example/oauth/callback';
const ALICE = 'alice@contoso.example';
const BOB = 'bob@contoso.example';
const CAROL = 'carol@contoso.example';
const DAVE = 'dave@fabrikam.example';
const ERIN = 'erin@contoso.example';
const PASSWORD = 'Correct-Horse-1';
const IMAP = 'https://outlook.office.com/IMAP.AccessAsUser.All';
const SMTP = 'https://outlook.office.com/SMTP.Send';
const START_MS = Date.UTC(2026, 2, 1, 9, 0, 0);

let nowMs = START_MS;
const clock = { now: (): number => nowMs };
let sandbox: Sandbox;
let dispatcher: Agent;
let alice: RegisteredSandboxUser;

before(async () => {
  sandbox = await startSandbox({ clock, accessTokenLifetimeSeconds: 3599, deviceCodeIntervalSeconds: 1 });
  sandbox.registerApplication({ tenantId: TENANT, clientId: PUBLIC_APP, publicClient: true, redirectUris: [PUBLIC_REDIRECT] });
  sandbox.registerApplication({ tenantId: TENANT, clientId: WEB_APP, clientSecret: WEB_SECRET, redirectUris: [WEB_REDIRECT] });
  // The same (multi-tenant) public app, consented in another tenant.
  sandbox.registerApplication({ tenantId: OTHER_TENANT, clientId: PUBLIC_APP, publicClient: true, redirectUris: [PUBLIC_REDIRECT] });
  alice = sandbox.registerUser({ tenantId: TENANT, username: ALICE, password: PASSWORD, displayName: 'Alice Example' });
  sandbox.registerUser({ tenantId: TENANT, username: BOB, password: PASSWORD, kind: 'mfa' });
  sandbox.registerUser({ tenantId: TENANT, username: CAROL, password: PASSWORD, kind: 'federated' });
  sandbox.registerUser({ tenantId: OTHER_TENANT, username: DAVE, password: PASSWORD });
  dispatcher = new Agent({ connect: { ca: sandbox.caCertificatePem } });
});

after(async () => {
  await dispatcher.close();
  await sandbox.close();
});

function post(path: string, form: Record<string, string>): Promise<Response> {
  return fetch(`${sandbox.url}${path}`, { method: 'POST', body: new URLSearchParams(form), dispatcher });
}

function postToken(form: Record<string, string>, tenant = TENANT): Promise<Response> {
  return post(`/${tenant}/oauth2/v2.0/token`, form);
}

const ropc = (overrides: Record<string, string> = {}): Record<string, string> => ({
  grant_type: 'password',
  client_id: PUBLIC_APP,
  username: ALICE,
  password: PASSWORD,
  scope: `${IMAP} openid profile offline_access`,
  client_info: '1',
  ...overrides,
});

interface TokenBody {
  token_type: string;
  scope: string;
  expires_in: number;
  ext_expires_in: number;
  access_token: string;
  refresh_token?: string;
  id_token?: string;
  client_info?: string;
}

async function tokenOf(response: Response): Promise<TokenBody> {
  assert.equal(response.status, 200, await response.clone().text());
  return (await response.json()) as TokenBody;
}

async function refreshTokenOf(response: Response): Promise<string> {
  const { refresh_token: refreshToken } = await tokenOf(response);
  assert.ok(refreshToken !== undefined, 'a refresh token was issued');
  return refreshToken;
}

interface ErrorBody {
  error: string;
  error_description: string;
  error_codes: number[];
  trace_id: string;
  suberror?: string;
}

/** Checks Entra's error shape (plus `suberror` when expected) and returns the body. */
async function entraError(response: Response, status: number, error: string, aadsts: number, suberror?: string): Promise<ErrorBody> {
  const text = await response.text();
  assert.equal(response.status, status, text);
  const body = JSON.parse(text) as ErrorBody;
  const keys = ['correlation_id', 'error', 'error_codes', 'error_description', 'error_uri', 'timestamp', 'trace_id'];
  assert.deepEqual(Object.keys(body).sort(), suberror === undefined ? keys : [...keys, 'suberror'].sort());
  assert.equal(body.error, error);
  assert.deepEqual(body.error_codes, [aadsts]);
  assert.equal(body.suberror, suberror);
  assert.ok(body.error_description.startsWith(`AADSTS${aadsts}: `), body.error_description);
  for (const secret of [PASSWORD, WEB_SECRET]) assert.ok(!text.includes(secret), `no secret in ${text}`);
  return body;
}

function firstLine(body: ErrorBody): string {
  return body.error_description.split('\r\n')[0] ?? '';
}

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

function authorize(query: Record<string, string>, tenant = TENANT): Promise<Response> {
  return fetch(`${sandbox.url}/${tenant}/oauth2/v2.0/authorize?${new URLSearchParams(query).toString()}`, {
    dispatcher,
    redirect: 'manual',
  });
}

const authorizeQuery = (challenge: string, overrides: Record<string, string> = {}): Record<string, string> => ({
  client_id: PUBLIC_APP,
  response_type: 'code',
  redirect_uri: PUBLIC_REDIRECT,
  scope: `${IMAP} openid profile offline_access`,
  state: 'state-123',
  code_challenge: challenge,
  code_challenge_method: 'S256',
  login_hint: ALICE,
  ...overrides,
});

/** The redirect an authorization request answered with; fails unless it is a 302. */
function redirectOf(response: Response): URL {
  assert.equal(response.status, 302, `expected a redirect, got ${response.status}`);
  const location = response.headers.get('location');
  assert.ok(location !== null);
  return new URL(location);
}

async function signIn(overrides: Record<string, string> = {}): Promise<{ code: string; verifier: string }> {
  const { verifier, challenge } = pkce();
  const code = redirectOf(await authorize(authorizeQuery(challenge, overrides))).searchParams.get('code');
  assert.ok(code !== null);
  return { code, verifier };
}

const redeem = (code: string, verifier: string, overrides: Record<string, string> = {}): Record<string, string> => ({
  grant_type: 'authorization_code',
  client_id: PUBLIC_APP,
  code,
  redirect_uri: PUBLIC_REDIRECT,
  code_verifier: verifier,
  scope: `${IMAP} openid profile offline_access`,
  client_info: '1',
  ...overrides,
});

const refresh = (refreshToken: string, overrides: Record<string, string> = {}): Record<string, string> => ({
  grant_type: 'refresh_token',
  client_id: PUBLIC_APP,
  refresh_token: refreshToken,
  scope: `${IMAP} openid profile offline_access`,
  ...overrides,
});

async function withClock<T>(ms: number, run: () => Promise<T>): Promise<T> {
  nowMs = ms;
  try {
    return await run();
  } finally {
    nowMs = START_MS;
  }
}

// --- Users and ROPC ------------------------------------------------------------

void test('ROPC for a managed user answers like Entra: scope, tokens, id_token and client_info', async () => {
  const body = await tokenOf(await postToken(ropc()));
  assert.deepEqual(Object.keys(body), [
    'token_type', 'scope', 'expires_in', 'ext_expires_in', 'access_token', 'refresh_token', 'id_token', 'client_info',
  ]);
  assert.equal(body.token_type, 'Bearer');
  assert.equal(body.scope, `${IMAP} openid profile offline_access`);
  assert.equal(body.expires_in, 3599);
  assert.match(body.refresh_token ?? '', /^0\.A[A-Za-z0-9_-]{100,}$/);

  const claims = sandbox.verifyAccessToken(body.access_token);
  assert.ok(claims?.idtyp === 'user');
  const issuedAt = START_MS / 1000;
  assert.equal(claims.aud, 'https://outlook.office.com');
  assert.equal(claims.iss, `https://sts.windows.net/${TENANT}/`);
  assert.equal(claims.ver, '1.0');
  assert.equal(claims.scp, 'IMAP.AccessAsUser.All');
  assert.equal(claims.upn, ALICE);
  assert.equal(claims.unique_name, ALICE);
  assert.equal(claims.preferred_username, ALICE);
  assert.equal(claims.name, 'Alice Example');
  assert.equal(claims.oid, alice.objectId);
  assert.equal(claims.tid, TENANT);
  assert.equal(claims.appid, PUBLIC_APP);
  assert.equal(claims.azp, PUBLIC_APP);
  assert.equal(claims.appidacr, '0', 'a public client authenticates with nothing');
  assert.deepEqual(claims.amr, ['pwd']);
  assert.match(claims.sub, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(claims.sub, claims.oid, 'sub is pairwise, oid is not');
  assert.equal(claims.iat, issuedAt);
  assert.equal(claims.exp, issuedAt + 3599);
  assert.equal(claims.roles, undefined);

  const idToken = sandbox.verifyIdToken(body.id_token ?? '');
  assert.ok(idToken);
  assert.equal(idToken.aud, PUBLIC_APP);
  assert.equal(idToken.iss, `${sandbox.url}/${TENANT}/v2.0`);
  assert.equal(idToken.oid, alice.objectId);
  assert.equal(idToken.tid, TENANT);
  assert.equal(idToken.preferred_username, ALICE);
  assert.equal(idToken.sub, claims.sub);
  assert.equal(idToken.ver, '2.0');
  assert.equal(idToken.nonce, undefined, 'no nonce without an authorization request');

  assert.deepEqual(JSON.parse(Buffer.from(body.client_info ?? '', 'base64url').toString('utf8')), { uid: alice.objectId, utid: TENANT });
});

void test('verifyAccessToken and verifyIdToken do not accept each other\'s tokens', async () => {
  const body = await tokenOf(await postToken(ropc()));
  assert.equal(sandbox.verifyIdToken(body.access_token), undefined);
  assert.equal(sandbox.verifyAccessToken(body.id_token ?? ''), undefined);
});

void test('without offline_access, openid and client_info=1 there is no refresh token, id_token nor client_info', async () => {
  const form = ropc({ scope: SMTP });
  delete form['client_info'];
  const body = await tokenOf(await postToken(form));
  assert.deepEqual(Object.keys(body), ['token_type', 'scope', 'expires_in', 'ext_expires_in', 'access_token']);
  assert.equal(body.scope, SMTP);
  assert.equal(sandbox.verifyAccessToken(body.access_token)?.scp, 'SMTP.Send');
});

void test('the UPN is matched case-insensitively and the registered spelling is what tokens carry', async () => {
  const body = await tokenOf(await postToken(ropc({ username: ALICE.toUpperCase() })));
  assert.equal(sandbox.verifyAccessToken(body.access_token)?.upn, ALICE);
});

void test('a wrong password and a federated user both get AADSTS50126, as on Entra', async () => {
  for (const form of [ropc({ password: 'wrong' }), ropc({ username: CAROL })]) {
    const body = await entraError(await postToken(form), 400, 'invalid_grant', 50126);
    assert.equal(firstLine(body), 'AADSTS50126: Error validating credentials due to invalid username or password.');
  }
});

void test('an MFA user gets AADSTS50076 with suberror basic_action naming the resource by app id', async () => {
  const body = await entraError(await postToken(ropc({ username: BOB })), 400, 'invalid_grant', 50076, 'basic_action');
  assert.equal(
    firstLine(body),
    'AADSTS50076: Due to a configuration change made by your administrator, or because you moved to a new location, ' +
      "you must use multi-factor authentication to access '00000002-0000-0ff1-ce00-000000000000'.",
  );
  // A wrong password is reported before the missing second factor.
  await entraError(await postToken(ropc({ username: BOB, password: 'wrong' })), 400, 'invalid_grant', 50126);
});

void test('an unknown user is AADSTS50034 with the UPN hidden, as Entra writes it', async () => {
  const body = await entraError(await postToken(ropc({ username: 'nobody@contoso.example' })), 400, 'invalid_grant', 50034);
  assert.equal(
    firstLine(body),
    `AADSTS50034: The user account {EmailHidden} does not exist in the ${TENANT} directory. ` +
      'To sign into this application, the account must be added to the directory.',
  );
  // A user of another tenant does not exist in this one.
  await entraError(await postToken(ropc({ username: DAVE })), 400, 'invalid_grant', 50034);
});

void test('ROPC on organizations finds the user in their tenant; common and consumers are AADSTS9001023', async () => {
  const body = await tokenOf(await postToken(ropc({ username: DAVE }), 'organizations'));
  const claims = sandbox.verifyAccessToken(body.access_token);
  assert.equal(claims?.tid, OTHER_TENANT);
  assert.equal(claims?.iss, `https://sts.windows.net/${OTHER_TENANT}/`);
  for (const audience of ['common', 'consumers']) {
    const error = await entraError(await postToken(ropc(), audience), 400, 'invalid_request', 9001023);
    assert.equal(
      firstLine(error),
      'AADSTS9001023: The grant type is not supported over the /common or /consumers endpoints. ' +
        'Please use the /organizations or tenant-specific endpoint.',
    );
  }
});

void test('a public client must not authenticate (AADSTS700025), a confidential one must (AADSTS7000218)', async () => {
  const publicWithSecret = await entraError(await postToken(ropc({ client_secret: 'anything' })), 401, 'invalid_client', 700025);
  assert.equal(
    firstLine(publicWithSecret),
    "AADSTS700025: Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
  );
  const confidentialWithout = await entraError(await postToken(ropc({ client_id: WEB_APP })), 401, 'invalid_client', 7000218);
  assert.equal(
    firstLine(confidentialWithout),
    "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
  );
  await entraError(await postToken(ropc({ client_id: WEB_APP, client_secret: 'wrong' })), 401, 'invalid_client', 7000215);
  const body = await tokenOf(await postToken(ropc({ client_id: WEB_APP, client_secret: WEB_SECRET })));
  assert.equal(sandbox.verifyAccessToken(body.access_token)?.appidacr, '1', 'authenticated with a secret');
});

void test('each missing ROPC parameter is AADSTS900144 naming it', async () => {
  for (const name of ['username', 'password', 'scope', 'client_id']) {
    const form = ropc();
    delete form[name];
    const body = await entraError(await postToken(form), 400, 'invalid_request', 900144);
    assert.equal(firstLine(body), `AADSTS900144: The request body must contain the following parameter: '${name}'.`);
  }
});

void test('registerUser validates, keeps the object id on re-registration and refuses a UPN of another tenant', () => {
  assert.throws(() => sandbox.registerUser({ tenantId: TENANT, username: 'no-at-sign', password: 'x' }), /"username" must be a UPN/);
  assert.throws(() => sandbox.registerUser({ tenantId: TENANT, username: ERIN, password: '' }), /"password" must be a non-empty string/);
  assert.throws(() => sandbox.registerUser({ tenantId: 'common', username: ERIN, password: 'x' }), /must name a directory/);
  assert.throws(
    () => sandbox.registerUser({ tenantId: TENANT, username: ERIN, password: 'x', kind: 'guest' as 'mfa' }),
    /"kind" must be one of managed, federated, mfa/,
  );
  const first = sandbox.registerUser({ tenantId: TENANT, username: ERIN, password: 'erin-1' });
  const again = sandbox.registerUser({ tenantId: TENANT, username: ERIN.toUpperCase(), password: 'erin-1', kind: 'mfa' });
  assert.equal(again.objectId, first.objectId);
  assert.equal(again.kind, 'mfa');
  assert.equal(first.displayName, 'erin');
  assert.throws(() => sandbox.registerUser({ tenantId: OTHER_TENANT, username: ERIN, password: 'x' }), /already belongs to tenant/);
});

void test('a user may be registered before any application of their tenant', async () => {
  const tenant = 'd4d4d4d4-0000-4000-8000-00000000000d';
  sandbox.registerUser({ tenantId: tenant, username: 'frank@northwind.example', password: PASSWORD });
  sandbox.registerApplication({ tenantId: tenant, clientId: PUBLIC_APP, publicClient: true });
  const body = await tokenOf(await postToken(ropc({ username: 'frank@northwind.example' }), tenant));
  assert.equal(sandbox.verifyAccessToken(body.access_token)?.tid, tenant);
});

// --- Scopes ----------------------------------------------------------------------

void test('scopes: bare names mean Graph, .default expands, OpenID-only means Graph User.Read', async () => {
  const bare = await tokenOf(await postToken(ropc({ scope: 'Mail.Read offline_access' })));
  assert.equal(bare.scope, 'Mail.Read offline_access', 'echoed as the client spelled it');
  assert.equal(sandbox.verifyAccessToken(bare.access_token)?.aud, 'https://graph.microsoft.com');

  const fallback = await tokenOf(await postToken(ropc({ scope: 'https://outlook.office.com/.default' })));
  assert.equal(sandbox.verifyAccessToken(fallback.access_token)?.scp, 'IMAP.AccessAsUser.All POP.AccessAsUser.All SMTP.Send User.Read');

  const oidcOnly = await tokenOf(await postToken(ropc({ scope: 'openid profile' })));
  const claims = sandbox.verifyAccessToken(oidcOnly.access_token);
  assert.equal(claims?.aud, 'https://graph.microsoft.com');
  assert.equal(claims?.scp, 'User.Read');
  assert.equal(oidcOnly.scope, 'https://graph.microsoft.com/User.Read openid profile');
});

void test('scopes of two resources are AADSTS28000; a malformed one is AADSTS70011', async () => {
  const scope = `${IMAP} https://graph.microsoft.com/Mail.Read offline_access`;
  const body = await entraError(await postToken(ropc({ scope })), 400, 'invalid_scope', 28000);
  assert.equal(
    firstLine(body),
    `AADSTS28000: Provided value for the input parameter scope is not valid because it contains more than one resource. Scope ${scope} is not valid.`,
  );
  await entraError(await postToken(ropc({ scope: 'https://outlook.office.com/' })), 400, 'invalid_scope', 70011);
});

// --- Authorization code -----------------------------------------------------------

void test('authorize signs in login_hint\'s user and redirects with code, state and session_state', async () => {
  sandbox.stats.reset();
  const { verifier, challenge } = pkce();
  const response = await authorize(authorizeQuery(challenge, { nonce: 'nonce-42' }));
  const location = redirectOf(response);
  assert.equal(`${location.origin}${location.pathname}`, PUBLIC_REDIRECT);
  assert.deepEqual([...location.searchParams.keys()], ['code', 'state', 'session_state']);
  assert.equal(location.searchParams.get('state'), 'state-123');
  assert.match(location.searchParams.get('session_state') ?? '', /^[0-9a-f-]{36}$/);
  assert.equal(sandbox.stats.authorizationRequests, 1);
  assert.equal(sandbox.stats.otherRequests, 0, 'an authorization request is not a discovery request');

  const body = await tokenOf(await postToken(redeem(location.searchParams.get('code') ?? '', verifier)));
  assert.equal(body.scope, `${IMAP} openid profile offline_access`);
  const claims = sandbox.verifyAccessToken(body.access_token);
  assert.equal(claims?.upn, ALICE);
  assert.equal(claims?.sid, location.searchParams.get('session_state'));
  assert.equal(sandbox.verifyIdToken(body.id_token ?? '')?.nonce, 'nonce-42');
  assert.ok(body.refresh_token !== undefined && body.client_info !== undefined);
  assert.equal(sandbox.stats.forUser(ALICE), 1);
});

void test('a code is single use: the second redemption is AADSTS54005', async () => {
  const { code, verifier } = await signIn();
  await tokenOf(await postToken(redeem(code, verifier)));
  const body = await entraError(await postToken(redeem(code, verifier)), 400, 'invalid_grant', 54005);
  assert.equal(
    firstLine(body),
    'AADSTS54005: OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.',
  );
});

void test('PKCE: a wrong or missing code_verifier is AADSTS501481 and leaves the code usable', async () => {
  const { code, verifier } = await signIn();
  const wrong = await entraError(await postToken(redeem(code, pkce().verifier)), 400, 'invalid_grant', 501481);
  assert.equal(firstLine(wrong), 'AADSTS501481: The Code_Verifier does not match the code_challenge supplied in the authorization request.');
  const form = redeem(code, verifier);
  delete form['code_verifier'];
  await entraError(await postToken(form), 400, 'invalid_grant', 501481);
  await tokenOf(await postToken(redeem(code, verifier)));
});

void test('a code is bound to its redirect URI (AADSTS500112) and its client (AADSTS70000)', async () => {
  const { code, verifier } = await signIn();
  const body = await entraError(await postToken(redeem(code, verifier, { redirect_uri: 'http://localhost/other' })), 400, 'invalid_grant', 500112);
  assert.equal(
    firstLine(body),
    `AADSTS500112: The reply address 'http://localhost/other' does not match the reply address '${PUBLIC_REDIRECT}' provided when requesting Authorization code.`,
  );
  await entraError(
    await postToken(redeem(code, verifier, { client_id: WEB_APP, client_secret: WEB_SECRET })),
    400,
    'invalid_grant',
    70000,
  );
  await entraError(await postToken(redeem('1.Anot-a-code', verifier)), 400, 'invalid_grant', 9002313);
});

void test('a code expires after ten minutes on the sandbox clock (AADSTS70008)', async () => {
  const { code, verifier } = await signIn();
  await withClock(START_MS + 10 * 60_000, async () => {
    await entraError(await postToken(redeem(code, verifier)), 400, 'invalid_grant', 70008);
  });
  await withClock(START_MS + 10 * 60_000 - 1, async () => {
    await tokenOf(await postToken(redeem(code, verifier)));
  });
});

void test('a confidential web app redeems with its secret, and PKCE is optional for it', async () => {
  const response = await authorize({
    client_id: WEB_APP,
    response_type: 'code',
    redirect_uri: WEB_REDIRECT,
    scope: `${IMAP} offline_access`,
    login_hint: ALICE,
  });
  const code = redirectOf(response).searchParams.get('code') ?? '';
  const form = { grant_type: 'authorization_code', client_id: WEB_APP, code, redirect_uri: WEB_REDIRECT };
  await entraError(await postToken(form), 401, 'invalid_client', 7000218);
  const body = await tokenOf(await postToken({ ...form, client_secret: WEB_SECRET }));
  assert.equal(sandbox.verifyAccessToken(body.access_token)?.appidacr, '1');
  assert.equal(body.id_token, undefined, 'no openid, no id_token');
});

void test('an unregistered redirect URI gets Entra\'s error page with AADSTS50011, not a redirect', async () => {
  const evil = 'https://evil.example/<script>';
  const response = await authorize(authorizeQuery(pkce().challenge, { redirect_uri: evil }));
  assert.equal(response.status, 400);
  assert.equal(response.headers.get('location'), null);
  assert.equal(response.headers.get('content-type'), 'text/html; charset=utf-8');
  const html = await response.text();
  assert.match(html, /AADSTS50011: The redirect URI &#39;https:\/\/evil\.example\/&#60;script&#62;&#39; specified in the request does not match/);
  assert.ok(!html.includes('<script>'), 'request values are escaped');
});

void test('an unknown client or tenant on authorize gets an error page (AADSTS700016, AADSTS90002)', async () => {
  const unknownClient = await authorize(authorizeQuery(pkce().challenge, { client_id: 'no-such-app' }));
  assert.equal(unknownClient.status, 400);
  assert.match(await unknownClient.text(), /AADSTS700016: Application with identifier &#39;no-such-app&#39; was not found/);
  const unknownTenant = await authorize(authorizeQuery(pkce().challenge), 'no-such-tenant');
  assert.equal(unknownTenant.status, 400);
  assert.match(await unknownTenant.text(), /AADSTS90002: Tenant &#39;no-such-tenant&#39; not found/);
});

void test('after the redirect URI is trusted, errors go back to it with state', async () => {
  const cases: Array<[Record<string, string>, string, number]> = [
    [{ code_challenge: '', code_challenge_method: '' }, 'invalid_request', 9002325],
    [{ response_type: 'token' }, 'unsupported_response_type', 70005],
    [{ scope: `${IMAP} https://graph.microsoft.com/Mail.Read` }, 'invalid_scope', 28000],
    [{ code_challenge: 'too-short' }, 'invalid_request', 501491],
    [{ code_challenge_method: 'S512' }, 'invalid_request', 501491],
  ];
  for (const [overrides, error, aadsts] of cases) {
    const location = redirectOf(await authorize(authorizeQuery(pkce().challenge, overrides)));
    assert.equal(location.searchParams.get('error'), error, JSON.stringify(overrides));
    assert.match(location.searchParams.get('error_description') ?? '', new RegExp(`^AADSTS${aadsts}: `));
    assert.equal(location.searchParams.get('error_uri'), `${sandbox.url}/error?code=${aadsts}`);
    assert.equal(location.searchParams.get('state'), 'state-123');
    assert.equal(location.searchParams.get('code'), null);
  }
});

void test('without login_hint: the signInAs user, else the tenant\'s only user, else login_required', async () => {
  const withoutHint = (tenant = TENANT): Promise<Response> => {
    const query = authorizeQuery(pkce().challenge);
    delete query['login_hint'];
    return authorize(query, tenant);
  };
  try {
    sandbox.signInAs(BOB);
    const { verifier, challenge } = pkce();
    const query = authorizeQuery(challenge);
    delete query['login_hint'];
    const code = redirectOf(await authorize(query)).searchParams.get('code') ?? '';
    const claims = sandbox.verifyAccessToken((await tokenOf(await postToken(redeem(code, verifier)))).access_token);
    assert.equal(claims?.upn, BOB);
    assert.deepEqual(claims?.amr, ['pwd', 'mfa'], 'an interactive sign-in satisfies MFA');
  } finally {
    sandbox.signInAs(undefined);
  }
  // OTHER_TENANT has exactly one user; TENANT has several.
  assert.ok(redirectOf(await withoutHint(OTHER_TENANT)).searchParams.get('code'));
  const location = redirectOf(await withoutHint());
  assert.equal(location.searchParams.get('error'), 'login_required');
  assert.match(location.searchParams.get('error_description') ?? '', /^AADSTS50058: /);
  assert.throws(() => sandbox.signInAs('nobody@contoso.example'), /no user 'nobody@contoso.example'/);
});

void test('a login_hint of another tenant is refused on the tenant endpoint and accepted on organizations', async () => {
  const refused = await authorize(authorizeQuery(pkce().challenge, { login_hint: DAVE }));
  assert.equal(refused.status, 400);
  assert.match(await refused.text(), /AADSTS50034: /);
  const { verifier, challenge } = pkce();
  const code = redirectOf(await authorize(authorizeQuery(challenge, { login_hint: DAVE }), 'organizations')).searchParams.get('code') ?? '';
  const claims = sandbox.verifyAccessToken((await tokenOf(await postToken(redeem(code, verifier), 'organizations'))).access_token);
  assert.equal(claims?.tid, OTHER_TENANT);
  assert.equal(claims?.upn, DAVE);
});

void test('public clients may use any port on a loopback redirect; response_mode=fragment answers in the fragment', async () => {
  const { verifier, challenge } = pkce();
  const redirectUri = 'http://localhost:53123/callback';
  const location = redirectOf(await authorize(authorizeQuery(challenge, { redirect_uri: redirectUri, response_mode: 'fragment' })));
  assert.equal(location.search, '');
  const fragment = new URLSearchParams(location.hash.slice(1));
  assert.equal(fragment.get('state'), 'state-123');
  await tokenOf(await postToken(redeem(fragment.get('code') ?? '', verifier, { redirect_uri: redirectUri })));
  const webLoopback = await authorize({
    client_id: WEB_APP,
    response_type: 'code',
    redirect_uri: 'http://localhost:53123/callback',
    scope: IMAP,
    login_hint: ALICE,
  });
  assert.equal(webLoopback.status, 400, 'a confidential app gets exact matching only');
});

// --- Refresh tokens ----------------------------------------------------------------

void test('every refresh rotates: a new refresh token each time, the one used is dead (AADSTS70008, bad_token)', async () => {
  const first = await refreshTokenOf(await postToken(ropc()));
  const second = await refreshTokenOf(await postToken(refresh(first)));
  const third = await refreshTokenOf(await postToken(refresh(second)));
  assert.equal(new Set([first, second, third]).size, 3);
  const body = await entraError(await postToken(refresh(first)), 400, 'invalid_grant', 70008, 'bad_token');
  assert.equal(
    firstLine(body),
    'AADSTS70008: The provided authorization code or refresh token has expired due to inactivity. ' +
      'Send a new interactive authorization request for this user and resource.',
  );
  await entraError(await postToken(refresh(second)), 400, 'invalid_grant', 70008, 'bad_token');
  const answer = await tokenOf(await postToken(refresh(third)));
  assert.equal(answer.scope, `${IMAP} openid profile offline_access`);
});

void test('a refresh token serves another resource of the session, and keeps offline access when not asked', async () => {
  const token = await refreshTokenOf(await postToken(ropc()));
  const body = await tokenOf(await postToken(refresh(token, { scope: 'https://graph.microsoft.com/Mail.ReadWrite' })));
  assert.equal(sandbox.verifyAccessToken(body.access_token)?.aud, 'https://graph.microsoft.com');
  assert.equal(body.scope, 'https://graph.microsoft.com/Mail.ReadWrite offline_access');
  assert.ok(body.refresh_token);
  const form = refresh(body.refresh_token);
  delete form['scope'];
  const again = await tokenOf(await postToken(form));
  assert.equal(sandbox.verifyAccessToken(again.access_token)?.aud, 'https://graph.microsoft.com', 'without scope, the last grant\'s apply');
});

void test('revokeUserSessions kills earlier refresh tokens with AADSTS50173; tokens issued later work', async () => {
  sandbox.registerUser({ tenantId: TENANT, username: 'gina@contoso.example', password: PASSWORD });
  const before = await refreshTokenOf(await postToken(ropc({ username: 'gina@contoso.example' })));
  const other = await refreshTokenOf(await postToken(ropc()));
  await withClock(START_MS + 60_000, async () => {
    sandbox.revokeUserSessions('gina@contoso.example');
    const body = await entraError(await postToken(refresh(before)), 400, 'invalid_grant', 50173, 'bad_token');
    assert.equal(
      firstLine(body),
      'AADSTS50173: The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might ' +
        "have changed or reset their password. The grant was issued on '2026-03-01T09:00:00.0000000Z' and the TokensValidFrom " +
        "date (before which tokens are not valid) for this user is '2026-03-01T09:01:00.0000000Z'.",
    );
    const after = await refreshTokenOf(await postToken(ropc({ username: 'gina@contoso.example' })));
    await tokenOf(await postToken(refresh(after)));
  });
  await tokenOf(await postToken(refresh(other)));
  assert.throws(() => sandbox.revokeUserSessions('nobody@contoso.example'), /no user/);
});

void test('changePassword revokes the sessions and only the new password works', async () => {
  sandbox.registerUser({ tenantId: TENANT, username: 'hank@contoso.example', password: PASSWORD });
  const token = await refreshTokenOf(await postToken(ropc({ username: 'hank@contoso.example' })));
  sandbox.changePassword('hank@contoso.example', 'New-Password-2');
  await entraError(await postToken(refresh(token)), 400, 'invalid_grant', 50173, 'bad_token');
  await entraError(await postToken(ropc({ username: 'hank@contoso.example' })), 400, 'invalid_grant', 50126);
  await tokenOf(await postToken(ropc({ username: 'hank@contoso.example', password: 'New-Password-2' })));
  // Registering with another password is a password change too.
  const next = await refreshTokenOf(await postToken(ropc({ username: 'hank@contoso.example', password: 'New-Password-2' })));
  sandbox.registerUser({ tenantId: TENANT, username: 'hank@contoso.example', password: 'Third-Password-3' });
  await entraError(await postToken(refresh(next)), 400, 'invalid_grant', 50173, 'bad_token');
});

void test('expireRefreshTokens(user) is AADSTS700082 for that user only; 90 idle days do the same', async () => {
  sandbox.registerUser({ tenantId: TENANT, username: 'ida@contoso.example', password: PASSWORD });
  const idas = await refreshTokenOf(await postToken(ropc({ username: 'ida@contoso.example' })));
  const alices = await refreshTokenOf(await postToken(ropc()));
  assert.equal(sandbox.expireRefreshTokens('ida@contoso.example'), 1);
  await withClock(START_MS + 86_400_000 + 3_661_000, async () => {
    const body = await entraError(await postToken(refresh(idas)), 400, 'invalid_grant', 700082, 'bad_token');
    assert.equal(
      firstLine(body),
      'AADSTS700082: The refresh token has expired due to inactivity. The token was issued on 2026-03-01T09:00:00.0000000Z ' +
        'and was inactive for 1.01:01:01.',
    );
  });
  const fresh = await refreshTokenOf(await postToken(refresh(alices)));
  await withClock(START_MS + 90 * 86_400_000, async () => {
    await entraError(await postToken(refresh(fresh)), 400, 'invalid_grant', 700082, 'bad_token');
  });
  await withClock(START_MS + 90 * 86_400_000 - 1, async () => {
    await tokenOf(await postToken(refresh(fresh)));
  });
});

void test('a refresh token is bound to its client and tenant (AADSTS70000); an unknown one is AADSTS9002313', async () => {
  const token = await refreshTokenOf(await postToken(ropc()));
  const foreign = await entraError(
    await postToken(refresh(token, { client_id: WEB_APP, client_secret: WEB_SECRET })),
    400,
    'invalid_grant',
    70000,
  );
  assert.equal(firstLine(foreign), "AADSTS70000: The provided value for the input parameter 'refresh_token' or 'assertion' is not valid.");
  await entraError(await postToken(refresh(token), OTHER_TENANT), 400, 'invalid_grant', 70000);
  const unknown = await entraError(await postToken(refresh('0.Anot-a-token')), 400, 'invalid_grant', 9002313);
  assert.equal(firstLine(unknown), 'AADSTS9002313: Invalid request. Request is malformed or invalid.');
  // Still unused: the refused attempts did not redeem it, and organizations finds its tenant.
  await tokenOf(await postToken(refresh(token), 'organizations'));
});

/** The hook's info without the refresh token itself (random), for exact comparisons. */
/** The info without its tokens (random each time); the access token must be there all the same. */
function withoutToken(info: TokenResponseInfo): Omit<TokenResponseInfo, 'refreshToken' | 'accessToken'> {
  const { refreshToken: _refreshToken, accessToken, ...rest } = info;
  assert.ok(accessToken !== undefined && accessToken.length > 0, 'the hook is told the access token');
  return rest;
}

void test('hooks.beforeTokenResponse runs after the rotation is recorded and before the answer is written', async () => {
  const old = await refreshTokenOf(await postToken(ropc()));
  const seen: TokenResponseInfo[] = [];
  let replayStatus = 0;
  let release = (): void => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let entered = (): void => undefined;
  const hookEntered = new Promise<void>((resolve) => (entered = resolve));
  sandbox.hooks.beforeTokenResponse = async (info) => {
    seen.push(info);
    sandbox.hooks.beforeTokenResponse = undefined;
    // The one presented is already dead while the client still waits.
    replayStatus = (await postToken(refresh(old))).status;
    entered();
    await gate;
  };
  try {
    let answered = false;
    const pending = postToken(refresh(old)).then((response) => {
      answered = true;
      return response;
    });
    await hookEntered;
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(answered, false, 'the answer waits for the hook');
    release();
    await tokenOf(await pending);
  } finally {
    sandbox.hooks.beforeTokenResponse = undefined;
  }
  assert.equal(replayStatus, 400);
  assert.deepEqual(seen.map(withoutToken), [{ grantType: 'refresh_token', clientId: PUBLIC_APP, username: ALICE, refreshTokenIssued: true }]);
  assert.match(seen[0]?.refreshToken ?? '', /^0\.\S{40,}$/, 'the hook is told the rotated refresh token');
  assert.notEqual(seen[0]?.refreshToken, old);
});

void test('a hook that throws loses the answer: the rotated refresh token never arrives and the old one is dead', async () => {
  const old = await refreshTokenOf(await postToken(ropc()));
  sandbox.hooks.beforeTokenResponse = () => {
    throw new Error('the client dies here');
  };
  try {
    await assert.rejects(postToken(refresh(old)), (error: unknown) => {
      assert.match(String((error as { cause?: unknown }).cause), /socket|closed|terminated|ECONNRESET/i);
      return true;
    });
  } finally {
    sandbox.hooks.beforeTokenResponse = undefined;
  }
  await entraError(await postToken(refresh(old)), 400, 'invalid_grant', 70008, 'bad_token');
});

void test('the hook sees every successful grant with its user, and no failed one', async () => {
  const seen: TokenResponseInfo[] = [];
  sandbox.hooks.beforeTokenResponse = (info) => {
    seen.push(info);
  };
  try {
    await tokenOf(await postToken(ropc({ scope: SMTP })));
    await (await postToken(ropc({ password: 'wrong' }))).text();
    const { code, verifier } = await signIn();
    await tokenOf(await postToken(redeem(code, verifier)));
  } finally {
    sandbox.hooks.beforeTokenResponse = undefined;
  }
  assert.deepEqual(seen.map(withoutToken), [
    { grantType: 'password', clientId: PUBLIC_APP, username: ALICE, refreshTokenIssued: false },
    { grantType: 'authorization_code', clientId: PUBLIC_APP, username: ALICE, refreshTokenIssued: true },
  ]);
  assert.equal(seen[0]?.refreshToken, undefined, 'no refresh token, none reported');
  assert.equal(typeof seen[1]?.refreshToken, 'string');
});

// --- Device code ----------------------------------------------------------------------

interface DeviceCodeBody {
  user_code: string;
  device_code: string;
  verification_uri: string;
  expires_in: number;
  interval: number;
  message: string;
}

async function startDeviceCode(clientId = PUBLIC_APP, tenant = TENANT): Promise<DeviceCodeBody> {
  const response = await post(`/${tenant}/oauth2/v2.0/devicecode`, { client_id: clientId, scope: `${IMAP} openid profile offline_access` });
  assert.equal(response.status, 200, await response.clone().text());
  return (await response.json()) as DeviceCodeBody;
}

const poll = (deviceCode: string, overrides: Record<string, string> = {}): Record<string, string> => ({
  grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
  client_id: PUBLIC_APP,
  device_code: deviceCode,
  client_info: '1',
  ...overrides,
});

void test('device code: Entra\'s answer, authorization_pending until approved, then tokens once', async () => {
  sandbox.stats.reset();
  const started = await startDeviceCode();
  assert.deepEqual(Object.keys(started), ['user_code', 'device_code', 'verification_uri', 'expires_in', 'interval', 'message']);
  assert.match(started.user_code, /^[A-Z2-9]{9}$/);
  assert.equal(started.verification_uri, `${sandbox.url}/devicelogin`);
  assert.equal(started.expires_in, 900);
  assert.equal(started.interval, 1);
  assert.equal(
    started.message,
    `To sign in, use a web browser to open the page ${sandbox.url}/devicelogin and enter the code ${started.user_code} to authenticate.`,
  );
  assert.equal(sandbox.stats.deviceCodeRequests, 1);

  const pending = await entraError(await postToken(poll(started.device_code)), 400, 'authorization_pending', 70016);
  assert.equal(firstLine(pending), 'AADSTS70016: The provided request has not yet been authorized by the user. The user must input their code.');
  sandbox.approveDeviceCode(started.user_code.toLowerCase(), BOB);
  const body = await tokenOf(await postToken(poll(started.device_code)));
  const claims = sandbox.verifyAccessToken(body.access_token);
  assert.equal(claims?.upn, BOB);
  assert.deepEqual(claims?.amr, ['pwd', 'mfa']);
  assert.ok(body.refresh_token && body.id_token && body.client_info);
  await entraError(await postToken(poll(started.device_code)), 400, 'invalid_grant', 54005);
  assert.equal(sandbox.stats.forGrantType('urn:ietf:params:oauth:grant-type:device_code'), 3);
  assert.equal(sandbox.stats.forUser(BOB), 2, 'the pending poll did not know its user yet');
  const verificationPage = await fetch(started.verification_uri, { dispatcher });
  assert.equal(verificationPage.status, 200);
  await verificationPage.text();
});

void test('device code: declined is authorization_declined, expiry is expired_token AADSTS70020', async () => {
  const declined = await startDeviceCode();
  sandbox.declineDeviceCode(declined.user_code);
  await entraError(await postToken(poll(declined.device_code)), 400, 'authorization_declined', 65004);
  await entraError(await postToken(poll(declined.device_code)), 400, 'authorization_declined', 65004);

  const expiring = await startDeviceCode();
  await withClock(START_MS + 900_000, async () => {
    const body = await entraError(await postToken(poll(expiring.device_code)), 400, 'expired_token', 70020);
    assert.equal(
      firstLine(body),
      "AADSTS70020: The provided value for the input parameter 'device_code' is not valid. This device code has expired.",
    );
    assert.throws(() => sandbox.approveDeviceCode(expiring.user_code, ALICE), /has expired/);
  });
});

void test('device code: unknown codes, wrong clients, wrong tenants and confidential clients are refused', async () => {
  await entraError(await postToken(poll('DAQAB-not-a-code')), 400, 'bad_verification_code', 70018);
  const started = await startDeviceCode();
  await entraError(await postToken(poll(started.device_code, { client_id: WEB_APP, client_secret: WEB_SECRET })), 400, 'bad_verification_code', 70018);
  assert.throws(() => sandbox.approveDeviceCode('NOSUCHCODE', ALICE), /no device code has user code 'NOSUCHCODE'/);
  assert.throws(() => sandbox.approveDeviceCode(started.user_code, DAVE), /is not in tenant/);
  assert.throws(() => sandbox.approveDeviceCode(started.user_code, 'nobody@contoso.example'), /no user/);
  sandbox.approveDeviceCode(started.user_code, ALICE);
  assert.throws(() => sandbox.declineDeviceCode(started.user_code), /already approved/);

  const web = await startDeviceCode(WEB_APP);
  sandbox.approveDeviceCode(web.user_code, ALICE);
  await entraError(await postToken(poll(web.device_code, { client_id: WEB_APP })), 401, 'invalid_client', 7000218);
  await tokenOf(await postToken(poll(web.device_code, { client_id: WEB_APP, client_secret: WEB_SECRET })));

  const missing = await post(`/${TENANT}/oauth2/v2.0/devicecode`, { client_id: PUBLIC_APP });
  await entraError(missing, 400, 'invalid_request', 900144);
  const unknownApp = await post(`/${TENANT}/oauth2/v2.0/devicecode`, { client_id: 'no-such-app', scope: IMAP });
  await entraError(unknownApp, 400, 'unauthorized_client', 700016);
});

void test('device code on organizations: the approving user\'s tenant issues the tokens; grant_type may be short', async () => {
  const started = await startDeviceCode(PUBLIC_APP, 'organizations');
  sandbox.approveDeviceCode(started.user_code, DAVE);
  // msal-node sends grant_type=device_code rather than RFC 8628's URN.
  const body = await tokenOf(await postToken(poll(started.device_code, { grant_type: 'device_code' }), 'organizations'));
  assert.equal(sandbox.verifyAccessToken(body.access_token)?.tid, OTHER_TENANT);
});
