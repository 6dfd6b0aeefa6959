// The sandbox authorization server against real HTTPS clients: discovery,
// client-credentials tokens, Entra's exact error answers, counters, injected
// failures and TLS trust, plus msal-node as the broker will use it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPublicKey, verify } from 'node:crypto';
import type { JsonWebKey } from 'node:crypto';
import { connect } from 'node:tls';
import { Agent, fetch } from 'undici';
import type { Response } from 'undici';
import { ConfidentialClientApplication } from '@azure/msal-node';
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';
import { startSandbox } from '../../src/sandbox/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = '11111111-2222-3333-4444-555555555555';
const SECRET = 'Zx8Q~sandbox-secret.value_1';
const WRONG_SECRET = 'Wq7Q~wrong-secret.value_2';
const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
const START_MS = Date.UTC(2026, 0, 1, 12, 0, 0);

let nowMs = START_MS;
const clock = { now: (): number => nowMs };
let sandbox: Sandbox;
let dispatcher: Agent;
let startupMs = 0;

before(async () => {
  const started = performance.now();
  sandbox = await startSandbox({ clock, accessTokenLifetimeSeconds: 3599 });
  startupMs = performance.now() - started;
  sandbox.registerApplication({ tenantId: TENANT, clientId: CLIENT, clientSecret: SECRET });
  dispatcher = new Agent({ connect: { ca: sandbox.caCertificatePem } });
});

after(async () => {
  await dispatcher.close();
  await sandbox.close();
});

function get(path: string): Promise<Response> {
  return fetch(`${sandbox.url}${path}`, { dispatcher });
}

function postToken(form: Record<string, string>, headers: Record<string, string> = {}, tenant = TENANT): Promise<Response> {
  return fetch(`${sandbox.url}/${tenant}/oauth2/v2.0/token`, {
    method: 'POST',
    body: new URLSearchParams(form),
    headers,
    dispatcher,
  });
}

const clientCredentials = (overrides: Record<string, string> = {}): Record<string, string> => ({
  grant_type: 'client_credentials',
  client_id: CLIENT,
  client_secret: SECRET,
  scope: GRAPH_SCOPE,
  ...overrides,
});

function decodePart(token: string, index: 0 | 1): Record<string, unknown> {
  const part = token.split('.')[index];
  assert.ok(part !== undefined, 'token has three parts');
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

interface TokenBody {
  token_type: string;
  expires_in: number;
  ext_expires_in: number;
  access_token: string;
  client_info?: string;
}

async function tokenOf(response: Response): Promise<TokenBody> {
  assert.equal(response.status, 200, await response.clone().text());
  return (await response.json()) as TokenBody;
}

interface ErrorBody {
  error: string;
  error_description: string;
  error_codes: number[];
  timestamp: string;
  trace_id: string;
  correlation_id: string;
  error_uri: string;
}

/** Checks every part of Entra's error shape and returns the body. */
async function entraError(response: Response, status: number, error: string, aadsts: number): Promise<ErrorBody> {
  const text = await response.text();
  assert.equal(response.status, status, text);
  assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8');
  const body = JSON.parse(text) as ErrorBody;
  assert.deepEqual(Object.keys(body).sort(), [
    'correlation_id', 'error', 'error_codes', 'error_description', 'error_uri', 'timestamp', 'trace_id',
  ]);
  assert.equal(body.error, error);
  assert.deepEqual(body.error_codes, [aadsts]);
  assert.match(body.timestamp, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z$/);
  assert.match(body.trace_id, /^[0-9a-f-]{36}$/);
  assert.equal(body.error_uri, `${sandbox.url}/error?code=${aadsts}`);
  const [first, ...trailer] = body.error_description.split('\r\n');
  assert.ok(first?.startsWith(`AADSTS${aadsts}: `), body.error_description);
  assert.deepEqual(trailer, [
    `Trace ID: ${body.trace_id}`,
    `Correlation ID: ${body.correlation_id}`,
    `Timestamp: ${body.timestamp}`,
  ]);
  for (const secret of [SECRET, WRONG_SECRET]) {
    assert.ok(!text.includes(secret), `error body must not contain a secret: ${text}`);
  }
  return body;
}

function firstLine(body: ErrorBody): string {
  return body.error_description.split('\r\n')[0] ?? '';
}

void test('starts on an ephemeral port with a localhost URL and a PEM CA', (t) => {
  t.diagnostic(`startSandbox took ${startupMs.toFixed(0)} ms`);
  assert.ok(sandbox.port > 0);
  assert.equal(sandbox.url, `https://localhost:${sandbox.port}`);
  const ca = new X509Certificate(sandbox.caCertificatePem);
  assert.equal(ca.ca, true);
});

void test('the server certificate is signed by the CA, names localhost and loopback IPs, and is valid for a year', async () => {
  const certificate = await new Promise<X509Certificate>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: sandbox.port, servername: 'localhost', ca: sandbox.caCertificatePem }, () => {
      const peer = socket.getPeerX509Certificate();
      socket.end();
      if (peer === undefined) reject(new Error('no peer certificate'));
      else resolve(peer);
    });
    socket.once('error', reject);
  });
  assert.ok(certificate.verify(new X509Certificate(sandbox.caCertificatePem).publicKey));
  assert.equal(certificate.checkHost('localhost'), 'localhost');
  assert.equal(certificate.checkIP('127.0.0.1'), '127.0.0.1');
  assert.equal(certificate.checkIP('::1'), '::1');
  const hour = 3600_000;
  const validFrom = Date.parse(certificate.validFrom);
  const validTo = Date.parse(certificate.validTo);
  assert.ok(Math.abs(validFrom - (Date.now() - hour)) < 5 * 60_000, certificate.validFrom);
  assert.ok(Math.abs(validTo - (Date.now() + 365 * 24 * hour)) < 5 * 60_000, certificate.validTo);
});

void test('a client that does not trust the sandbox CA gets a TLS error', async () => {
  const untrusting = new Agent();
  try {
    await assert.rejects(fetch(`${sandbox.url}/${TENANT}/v2.0/.well-known/openid-configuration`, { dispatcher: untrusting }), (error: unknown) => {
      const cause = (error as { cause?: { code?: string } }).cause;
      assert.match(cause?.code ?? '', /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)$/);
      return true;
    });
  } finally {
    await untrusting.close();
  }
});

void test('the certificate also verifies when the client dials 127.0.0.1', async () => {
  const response = await fetch(`https://127.0.0.1:${sandbox.port}/${TENANT}/discovery/v2.0/keys`, { dispatcher });
  assert.equal(response.status, 200);
});

void test('OpenID discovery for a tenant points at the sandbox', async () => {
  const response = await get(`/${TENANT}/v2.0/.well-known/openid-configuration`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8');
  const metadata = (await response.json()) as Record<string, unknown>;
  const base = `${sandbox.url}/${TENANT}`;
  assert.equal(metadata['issuer'], `${base}/v2.0`);
  assert.equal(metadata['authorization_endpoint'], `${base}/oauth2/v2.0/authorize`);
  assert.equal(metadata['token_endpoint'], `${base}/oauth2/v2.0/token`);
  assert.equal(metadata['device_authorization_endpoint'], `${base}/oauth2/v2.0/devicecode`);
  assert.equal(metadata['jwks_uri'], `${base}/discovery/v2.0/keys`);
  assert.deepEqual(metadata['token_endpoint_auth_methods_supported'], ['client_secret_post', 'private_key_jwt', 'client_secret_basic']);
});

void test('OpenID discovery for organizations and common carries the {tenantid} issuer placeholder', async () => {
  for (const audience of ['organizations', 'common']) {
    const metadata = (await (await get(`/${audience}/v2.0/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    assert.equal(metadata['issuer'], `${sandbox.url}/{tenantid}/v2.0`);
    assert.equal(metadata['token_endpoint'], `${sandbox.url}/${audience}/oauth2/v2.0/token`);
  }
});

void test('OpenID discovery for an unknown tenant is AADSTS90002 invalid_tenant', async () => {
  const body = await entraError(await get('/no-such-tenant/v2.0/.well-known/openid-configuration'), 400, 'invalid_tenant', 90002);
  assert.match(firstLine(body), /^AADSTS90002: Tenant 'no-such-tenant' not found\./);
});

void test('instance discovery answers with the sandbox host and the tenant of the authorization endpoint', async () => {
  const authorize = encodeURIComponent(`${sandbox.url}/${TENANT}/oauth2/v2.0/authorize`);
  const response = await get(`/common/discovery/instance?api-version=1.1&authorization_endpoint=${authorize}`);
  assert.equal(response.status, 200);
  const host = `localhost:${sandbox.port}`;
  assert.deepEqual(await response.json(), {
    tenant_discovery_endpoint: `${sandbox.url}/${TENANT}/v2.0/.well-known/openid-configuration`,
    'api-version': '1.1',
    metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host, `127.0.0.1:${sandbox.port}`] }],
  });
});

void test('client credentials with client_secret_post returns an Entra-shaped app token', async () => {
  const response = await postToken(clientCredentials());
  assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8');
  assert.equal(response.headers.get('cache-control'), 'no-store, no-cache');
  const body = await tokenOf(response);
  assert.deepEqual(Object.keys(body), ['token_type', 'expires_in', 'ext_expires_in', 'access_token']);
  assert.equal(body.token_type, 'Bearer');
  assert.equal(body.expires_in, 3599);
  assert.equal(body.ext_expires_in, 3599);

  const header = decodePart(body.access_token, 0);
  assert.equal(header['alg'], 'RS256');
  assert.equal(header['typ'], 'JWT');
  assert.equal(typeof header['kid'], 'string');

  const claims = sandbox.verifyAccessToken(body.access_token);
  assert.ok(claims, 'the sandbox verifies its own token');
  const issuedAt = START_MS / 1000;
  assert.equal(claims.aud, 'https://graph.microsoft.com');
  assert.equal(claims.iss, `https://sts.windows.net/${TENANT}/`);
  assert.equal(claims.iat, issuedAt);
  assert.equal(claims.nbf, issuedAt);
  assert.equal(claims.exp, issuedAt + 3599);
  assert.equal(claims.appid, CLIENT);
  assert.equal(claims.azp, CLIENT);
  assert.equal(claims.tid, TENANT);
  assert.match(claims.oid, /^[0-9a-f-]{36}$/);
  assert.deepEqual(claims.roles, []);
  assert.equal(claims.ver, '1.0');
  assert.deepEqual(decodePart(body.access_token, 1), { ...claims });
});

void test('every token is different, even within the same second', async () => {
  const first = await tokenOf(await postToken(clientCredentials()));
  const second = await tokenOf(await postToken(clientCredentials()));
  assert.notEqual(first.access_token, second.access_token);
  const [a, b] = [sandbox.verifyAccessToken(first.access_token), sandbox.verifyAccessToken(second.access_token)];
  assert.notEqual(a?.jti, b?.jti);
  assert.notEqual(a?.uti, b?.uti);
  assert.equal(a?.oid, b?.oid, 'the service principal is the same');
});

void test('the token verifies with the published JWKS, independently of the sandbox', async () => {
  const { access_token: token } = await tokenOf(await postToken(clientCredentials()));
  const jwks = (await (await get(`/${TENANT}/discovery/v2.0/keys`)).json()) as { keys: Array<JsonWebKey & { kid: string; use: string }> };
  const key = jwks.keys.find((candidate) => candidate.kid === decodePart(token, 0)['kid']);
  assert.ok(key, 'the token kid is published');
  assert.equal(key.use, 'sig');
  const [header = '', payload = '', signature = ''] = token.split('.');
  const publicKey = createPublicKey({ key, format: 'jwk' });
  assert.ok(verify('sha256', Buffer.from(`${header}.${payload}`), publicKey, Buffer.from(signature, 'base64url')));
});

void test('client_secret_basic is accepted, with the credentials form-encoded as RFC 6749 says', async () => {
  const tenant = 'b0b0b0b0-0000-4000-8000-000000000001';
  const secret = 'a:b+c d%e';
  sandbox.registerApplication({ tenantId: tenant, clientId: 'basic-client', clientSecret: secret });
  const encode = (value: string): string => encodeURIComponent(value).replace(/%20/g, '+');
  const credentials = Buffer.from(`${encode('basic-client')}:${encode(secret)}`).toString('base64');
  const response = await postToken(
    { grant_type: 'client_credentials', scope: 'https://outlook.office365.com/.default' },
    { authorization: `Basic ${credentials}` },
    tenant,
  );
  const claims = sandbox.verifyAccessToken((await tokenOf(response)).access_token);
  assert.equal(claims?.appid, 'basic-client');
  assert.equal(claims?.aud, 'https://outlook.office365.com');
});

void test('client_info=1 adds base64url {uid, utid}', async () => {
  const body = await tokenOf(await postToken(clientCredentials({ client_info: '1' })));
  assert.ok(body.client_info !== undefined);
  const claims = sandbox.verifyAccessToken(body.access_token);
  assert.deepEqual(JSON.parse(Buffer.from(body.client_info, 'base64url').toString('utf8')), { uid: claims?.oid, utid: TENANT });
});

void test('verifyAccessToken rejects tampered, foreign, malformed and expired tokens', async () => {
  const { access_token: token } = await tokenOf(await postToken(clientCredentials()));
  assert.ok(sandbox.verifyAccessToken(token));

  const [header = '', payload = '', signature = ''] = token.split('.');
  const forged = Buffer.from(JSON.stringify({ ...decodePart(token, 1), roles: ['Mail.ReadWrite'] })).toString('base64url');
  assert.equal(sandbox.verifyAccessToken(`${header}.${forged}.${signature}`), undefined);
  assert.equal(sandbox.verifyAccessToken(`${header}.${payload}`), undefined);
  assert.equal(sandbox.verifyAccessToken('not a token'), undefined);

  const other = await startSandbox({ clock });
  try {
    other.registerApplication({ tenantId: TENANT, clientId: CLIENT, clientSecret: SECRET });
    const otherDispatcher = new Agent({ connect: { ca: other.caCertificatePem } });
    const response = await fetch(`${other.url}/${TENANT}/oauth2/v2.0/token`, {
      method: 'POST',
      body: new URLSearchParams(clientCredentials()),
      dispatcher: otherDispatcher,
    });
    const foreign = (await tokenOf(response)).access_token;
    await otherDispatcher.close();
    assert.ok(other.verifyAccessToken(foreign));
    assert.equal(sandbox.verifyAccessToken(foreign), undefined, 'a token of another sandbox is not ours');
  } finally {
    await other.close();
  }

  try {
    nowMs = START_MS + 3598_000;
    assert.ok(sandbox.verifyAccessToken(token), 'valid one second before expiry');
    nowMs = START_MS + 3599_000;
    assert.equal(sandbox.verifyAccessToken(token), undefined, 'expired at exp');
  } finally {
    nowMs = START_MS;
  }
});

void test('a wrong secret is 401 invalid_client AADSTS7000215 and never echoed', async () => {
  const body = await entraError(await postToken(clientCredentials({ client_secret: WRONG_SECRET })), 401, 'invalid_client', 7000215);
  assert.equal(
    firstLine(body),
    'AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret ' +
      `value, not the client secret ID, for a secret added to app '${CLIENT}'.`,
  );
});

void test('a wrong secret over HTTP Basic is the same AADSTS7000215', async () => {
  const credentials = Buffer.from(`${CLIENT}:${WRONG_SECRET}`).toString('base64');
  const response = await postToken({ grant_type: 'client_credentials', scope: GRAPH_SCOPE }, { authorization: `Basic ${credentials}` });
  await entraError(response, 401, 'invalid_client', 7000215);
});

void test('a missing secret is 401 invalid_client AADSTS7000216', async () => {
  const form = clientCredentials();
  delete form['client_secret'];
  const body = await entraError(await postToken(form), 401, 'invalid_client', 7000216);
  assert.equal(
    firstLine(body),
    "AADSTS7000216: 'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
  );
});

void test('an unknown client is 400 unauthorized_client AADSTS700016', async () => {
  const body = await entraError(await postToken(clientCredentials({ client_id: 'unknown-app' })), 400, 'unauthorized_client', 700016);
  assert.match(firstLine(body), new RegExp(`^AADSTS700016: Application with identifier 'unknown-app' was not found in the directory '${TENANT}'\\.`));
});

void test('an unknown tenant is 400 invalid_request AADSTS90002', async () => {
  const body = await entraError(await postToken(clientCredentials(), {}, 'contoso-nowhere'), 400, 'invalid_request', 90002);
  assert.match(firstLine(body), /^AADSTS90002: Tenant 'contoso-nowhere' not found\./);
});

void test('client credentials against common is AADSTS50059: an app token needs a tenant', async () => {
  await entraError(await postToken(clientCredentials(), {}, 'common'), 400, 'invalid_request', 50059);
});

void test('an unsupported grant type is 400 unsupported_grant_type AADSTS70003', async () => {
  const grantType = 'urn:ietf:params:oauth:grant-type:token-exchange';
  const body = await entraError(await postToken(clientCredentials({ grant_type: grantType })), 400, 'unsupported_grant_type', 70003);
  assert.equal(firstLine(body), `AADSTS70003: The app requested an unsupported grant type '${grantType}'.`);
});

void test('each missing parameter is 400 invalid_request AADSTS900144 naming it', async () => {
  for (const name of ['grant_type', 'client_id', 'scope']) {
    const form = clientCredentials();
    delete form[name];
    const body = await entraError(await postToken(form), 400, 'invalid_request', 900144);
    assert.equal(firstLine(body), `AADSTS900144: The request body must contain the following parameter: '${name}'.`);
  }
});

void test('a body that is not form-encoded reads as missing grant_type', async () => {
  const response = await fetch(`${sandbox.url}/${TENANT}/oauth2/v2.0/token`, {
    method: 'POST',
    body: JSON.stringify(clientCredentials()),
    headers: { 'content-type': 'application/json' },
    dispatcher,
  });
  await entraError(response, 400, 'invalid_request', 900144);
});

void test('a scope without /.default is 400 invalid_scope AADSTS1002012', async () => {
  const scope = 'https://graph.microsoft.com/Mail.Read';
  const body = await entraError(await postToken(clientCredentials({ scope })), 400, 'invalid_scope', 1002012);
  assert.match(firstLine(body), /^AADSTS1002012: The provided value for scope https:\/\/graph\.microsoft\.com\/Mail\.Read is not valid\./);
});

void test('.default scopes of two resources are 400 invalid_scope AADSTS70011; the same resource twice is fine', async () => {
  await entraError(
    await postToken(clientCredentials({ scope: `${GRAPH_SCOPE} https://outlook.office365.com/.default` })),
    400,
    'invalid_scope',
    70011,
  );
  const body = await tokenOf(await postToken(clientCredentials({ scope: `${GRAPH_SCOPE} ${GRAPH_SCOPE}` })));
  assert.equal(sandbox.verifyAccessToken(body.access_token)?.aud, 'https://graph.microsoft.com');
});

void test('a GET on the token endpoint is AADSTS900561', async () => {
  await entraError(await get(`/${TENANT}/oauth2/v2.0/token`), 400, 'invalid_request', 900561);
});

void test('the client-request-id header comes back as the correlation id', async () => {
  const correlationId = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
  const response = await postToken(clientCredentials({ client_secret: WRONG_SECRET }), { 'client-request-id': correlationId });
  assert.equal(response.headers.get('client-request-id'), correlationId);
  const body = await entraError(response, 401, 'invalid_client', 7000215);
  assert.equal(body.correlation_id, correlationId);
});

void test('registering an application again rotates its secret and keeps its identity', async () => {
  const tenant = 'c0c0c0c0-0000-4000-8000-000000000002';
  sandbox.registerApplication({ tenantId: tenant, clientId: 'rotating', clientSecret: 'old-secret' });
  const before = sandbox.verifyAccessToken(
    (await tokenOf(await postToken(clientCredentials({ client_id: 'rotating', client_secret: 'old-secret' }), {}, tenant))).access_token,
  );
  sandbox.registerApplication({ tenantId: tenant, clientId: 'rotating', clientSecret: 'new-secret' });
  await entraError(await postToken(clientCredentials({ client_id: 'rotating', client_secret: 'old-secret' }), {}, tenant), 401, 'invalid_client', 7000215);
  const afterRotation = sandbox.verifyAccessToken(
    (await tokenOf(await postToken(clientCredentials({ client_id: 'rotating', client_secret: 'new-secret' }), {}, tenant))).access_token,
  );
  assert.equal(afterRotation?.oid, before?.oid);
});

void test('registerApplication refuses audiences and empty ids', () => {
  assert.throws(() => sandbox.registerApplication({ tenantId: 'common', clientId: 'x' }), /must name a directory/);
  assert.throws(() => sandbox.registerApplication({ tenantId: TENANT, clientId: '' }), /"clientId" must be a non-empty string/);
});

void test('stats count every POST to a token endpoint, failed ones included, per client and grant type', async () => {
  sandbox.stats.reset();
  assert.deepEqual(sandbox.stats.snapshot(), { total: 0, otherRequests: 0, byClientId: {}, byGrantType: {} });

  await tokenOf(await postToken(clientCredentials()));
  await (await postToken(clientCredentials({ client_secret: WRONG_SECRET }))).text();
  await (await postToken(clientCredentials({ client_id: CLIENT.toUpperCase() }), {}, 'contoso-nowhere')).text();
  await (await postToken(clientCredentials({ grant_type: 'password', client_id: 'other' }))).text();
  await (await postToken({ scope: GRAPH_SCOPE })).text();
  // Not token requests: discovery and a GET on the token endpoint.
  await (await get(`/${TENANT}/v2.0/.well-known/openid-configuration`)).text();
  await (await get(`/${TENANT}/oauth2/v2.0/token`)).text();

  assert.equal(sandbox.stats.total, 5);
  assert.equal(sandbox.stats.forClient(CLIENT), 3);
  assert.equal(sandbox.stats.forClient('other'), 1);
  assert.equal(sandbox.stats.forGrantType('client_credentials'), 3);
  assert.equal(sandbox.stats.forGrantType('password'), 1);
  assert.deepEqual(sandbox.stats.snapshot(), {
    total: 5,
    otherRequests: 1,
    byClientId: { [CLIENT]: 3, other: 1 },
    byGrantType: { client_credentials: 3, password: 1 },
  });

  sandbox.stats.reset();
  assert.equal(sandbox.stats.total, 0);
  assert.equal(sandbox.stats.forClient(CLIENT), 0);
});

void test('failNext answers the next N token requests with the injected failure and Retry-After, then recovers', async () => {
  sandbox.stats.reset();
  sandbox.failNext({
    status: 503,
    error: 'temporarily_unavailable',
    aadsts: 90033,
    description: 'A transient error has occurred. Please try again.',
    retryAfterSeconds: 7,
    count: 2,
  });
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const response = await postToken(clientCredentials());
    assert.equal(response.headers.get('retry-after'), '7');
    const body = await entraError(response, 503, 'temporarily_unavailable', 90033);
    assert.equal(firstLine(body), 'AADSTS90033: A transient error has occurred. Please try again.');
  }
  const recovered = await postToken(clientCredentials());
  assert.equal(recovered.headers.get('retry-after'), null);
  await tokenOf(recovered);
  assert.equal(sandbox.stats.total, 3, 'injected failures are counted');
  assert.equal(sandbox.stats.forClient(CLIENT), 3);
});

void test('failNext applies before normal processing and queues in order', async () => {
  sandbox.failNext({ status: 429, error: 'temporarily_unavailable', aadsts: 50196 });
  sandbox.failNext({ status: 400, error: 'invalid_grant', aadsts: 50173, description: 'The provided grant has expired due to it being revoked.' });
  // Even a request that would fail for its own reasons gets the injected answer.
  const throttled = await postToken(clientCredentials({ client_secret: WRONG_SECRET }));
  assert.equal(throttled.headers.get('retry-after'), null);
  await entraError(throttled, 429, 'temporarily_unavailable', 50196);
  const revoked = await entraError(await postToken(clientCredentials()), 400, 'invalid_grant', 50173);
  assert.equal(firstLine(revoked), 'AADSTS50173: The provided grant has expired due to it being revoked.');
  await tokenOf(await postToken(clientCredentials()));
});

void test('throttleNext answers with Entra\'s own 429 or 503 body and the Retry-After asked for, counted like any request', async () => {
  sandbox.stats.reset();
  sandbox.throttleNext({ retryAfter: 7 });
  const throttled = await postToken(clientCredentials());
  assert.equal(throttled.headers.get('retry-after'), '7');
  const body = await entraError(throttled, 429, 'temporarily_unavailable', 90055);
  assert.match(firstLine(body), /^AADSTS90055: There are too many incoming requests\./);

  sandbox.throttleNext({ status: 503, retryAfter: 'Thu, 01 Jan 2026 12:05:00 GMT', count: 2 });
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const unavailable = await postToken(clientCredentials());
    assert.equal(unavailable.headers.get('retry-after'), 'Thu, 01 Jan 2026 12:05:00 GMT', 'a text is sent as is');
    await entraError(unavailable, 503, 'temporarily_unavailable', 90033);
  }
  sandbox.throttleNext({ status: 503 });
  const bare = await postToken(clientCredentials());
  assert.equal(bare.headers.get('retry-after'), null, 'no Retry-After unless asked for');
  await entraError(bare, 503, 'temporarily_unavailable', 90033);
  await tokenOf(await postToken(clientCredentials()));
  assert.equal(sandbox.stats.total, 5);
});

void test('throttleNext refuses a status other than 429 or 503, and a header Node could not send', () => {
  assert.throws(() => sandbox.throttleNext({ status: 500 as 503 }), /"status" must be 429 or 503, got 500/);
  assert.throws(() => sandbox.throttleNext({ retryAfter: '7\r\nx-injected: 1' }), /"retryAfterHeader" must be a string without control characters/);
  assert.throws(() => sandbox.throttleNext({ retryAfter: -1 }), /"retryAfterSeconds" must be a non-negative integer/);
});

void test('failNext refuses a failure that is not an HTTP error', () => {
  assert.throws(() => sandbox.failNext({ status: 200, error: 'x', aadsts: 1 }), /"status" must be an HTTP error status/);
  assert.throws(() => sandbox.failNext({ status: 500, error: 'x', aadsts: 1, count: 0 }), /"count" must be a positive integer/);
});

/** msal-node's network seam over undici, trusting the sandbox CA: how the broker talks to Entra. */
function undiciNetworkClient(agent: Agent): INetworkModule {
  const send = async <T>(url: string, method: 'GET' | 'POST', options?: NetworkRequestOptions): Promise<NetworkResponse<T>> => {
    const response = await fetch(url, { method, headers: options?.headers, body: options?.body, dispatcher: agent });
    return { status: response.status, headers: Object.fromEntries(response.headers), body: (await response.json()) as T };
  };
  return {
    sendGetRequestAsync: (url, options) => send(url, 'GET', options),
    sendPostRequestAsync: (url, options) => send(url, 'POST', options),
  };
}

void test('msal-node acquires a client-credentials token from the sandbox and reports a wrong secret with its AADSTS code', async () => {
  // msal would ask login.microsoftonline.com for instance discovery; handed
  // the sandbox's own documents (as the broker does) it makes no such call.
  const authorize = encodeURIComponent(`${sandbox.url}/${TENANT}/oauth2/v2.0/authorize`);
  const cloudDiscoveryMetadata = await (await get(`/common/discovery/instance?api-version=1.1&authorization_endpoint=${authorize}`)).text();
  const authorityMetadata = await (await get(`/${TENANT}/v2.0/.well-known/openid-configuration`)).text();
  const application = (secret: string): ConfidentialClientApplication =>
    new ConfidentialClientApplication({
      auth: { clientId: CLIENT, authority: `${sandbox.url}/${TENANT}`, clientSecret: secret, cloudDiscoveryMetadata, authorityMetadata },
      system: { networkClient: undiciNetworkClient(dispatcher) },
    });
  sandbox.stats.reset();
  // msal stamps tokens with the real time; give the sandbox the same for this test.
  nowMs = Date.now();
  try {
    const result = await application(SECRET).acquireTokenByClientCredential({ scopes: [GRAPH_SCOPE] });
    assert.ok(result);
    const claims = sandbox.verifyAccessToken(result.accessToken);
    assert.equal(claims?.appid, CLIENT);
    assert.equal(claims?.aud, 'https://graph.microsoft.com');
    assert.equal(result.tokenType, 'Bearer');
    const expiresInSeconds = ((result.expiresOn?.getTime() ?? 0) - Date.now()) / 1000;
    assert.ok(expiresInSeconds > 3500 && expiresInSeconds <= 3600, `expires in ${expiresInSeconds} s`);
    assert.equal(sandbox.stats.forClient(CLIENT), 1, 'one token request, no retries');

    await assert.rejects(application(WRONG_SECRET).acquireTokenByClientCredential({ scopes: [GRAPH_SCOPE] }), (error: unknown) => {
      const { errorCode, errorMessage } = error as { errorCode?: string; errorMessage?: string };
      assert.equal(errorCode, 'invalid_client');
      assert.match(errorMessage ?? '', /AADSTS7000215/);
      assert.ok(!(errorMessage ?? '').includes(WRONG_SECRET));
      return true;
    });
  } finally {
    nowMs = START_MS;
  }
});

void test('close stops the server', async () => {
  const short = await startSandbox();
  const agent = new Agent({ connect: { ca: short.caCertificatePem } });
  try {
    assert.equal((await fetch(`${short.url}/common/discovery/instance`, { dispatcher: agent })).status, 200);
    await short.close();
    await assert.rejects(fetch(`${short.url}/common/discovery/instance`, { dispatcher: agent }), (error: unknown) => {
      assert.match((error as { cause?: { code?: string } }).cause?.code ?? '', /ECONNREFUSED|ECONNRESET|UND_ERR_SOCKET/);
      return true;
    });
  } finally {
    await agent.close();
  }
});
