// Certificate credentials against the sandbox: client assertions built by hand
// (every check Entra makes, with its AADSTS codes and texts) and by msal-node's
// ConfidentialClientApplication with a SHA-256 thumbprint and a legacy SHA-1 one.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, createHash, createPrivateKey, randomBytes, randomUUID, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { Agent, fetch } from 'undici';
import type { Response } from 'undici';
import { ConfidentialClientApplication } from '@azure/msal-node';
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';
import { createClientCertificate, startSandbox } from '../../src/sandbox/index.js';
import type { ClientCertificate, Sandbox } from '../../src/sandbox/index.js';
import { sandboxMsalAuthority } from '../support/msal-authority.js';

const TENANT = '0b9e8d7c-6a5f-4e3d-8c2b-1a0f9e8d7c6b';
const CERT_APP = 'c3c3c3c3-0000-4000-8000-00000000000c';
const PUBLIC_APP = 'd4d4d4d4-0000-4000-8000-00000000000d';
const REDIRECT = 'https://broker.contoso.example/callback';
const USER = 'mailbox@contoso.example';
const PASSWORD = 'Mailbox-Password-1';
const GRAPH_DEFAULT = 'https://graph.microsoft.com/.default';
const IMAP = 'https://outlook.office.com/IMAP.AccessAsUser.All';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const START_MS = Date.UTC(2026, 5, 1, 8, 0, 0);
const START_S = START_MS / 1000;

let nowMs = START_MS;
const clock = { now: (): number => nowMs };
let sandbox: Sandbox;
let dispatcher: Agent;
let registered: ClientCertificate;
let stranger: ClientCertificate;
let registeredKey: KeyObject;
let tokenEndpoint: string;

before(async () => {
  [sandbox, registered, stranger] = await Promise.all([
    startSandbox({ clock }),
    createClientCertificate('broker-app'),
    createClientCertificate('someone-else'),
  ]);
  registeredKey = createPrivateKey(registered.privateKeyPem);
  tokenEndpoint = `${sandbox.url}/${TENANT}/oauth2/v2.0/token`;
  sandbox.registerApplication({ tenantId: TENANT, clientId: CERT_APP, certificates: [registered.certificatePem], redirectUris: [REDIRECT] });
  sandbox.registerApplication({ tenantId: TENANT, clientId: PUBLIC_APP, publicClient: true, certificates: [registered.certificatePem] });
  sandbox.registerUser({ tenantId: TENANT, username: USER, password: PASSWORD });
  dispatcher = new Agent({ connect: { ca: sandbox.caCertificatePem } });
});

after(async () => {
  await dispatcher.close();
  await sandbox.close();
});

const base64url = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const x5tS256 = (certificate: ClientCertificate): string => Buffer.from(certificate.thumbprintSha256, 'hex').toString('base64url');
const x5t = (certificate: ClientCertificate): string => Buffer.from(certificate.thumbprintSha1, 'hex').toString('base64url');

interface AssertionOptions {
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
  key?: KeyObject;
  /** How to sign; defaults to the header's alg. */
  signAs?: 'RS256' | 'PS256';
}

/** A client assertion as RFC 7523 and Entra's docs describe it; options override any part. */
function clientAssertion(options: AssertionOptions = {}): string {
  const header = { alg: 'PS256', typ: 'JWT', 'x5t#S256': x5tS256(registered), ...options.header };
  const claims = {
    aud: tokenEndpoint,
    iss: CERT_APP,
    sub: CERT_APP,
    jti: randomUUID(),
    nbf: Math.floor(nowMs / 1000),
    exp: Math.floor(nowMs / 1000) + 600,
    ...options.claims,
  };
  const input = `${base64url(header)}.${base64url(claims)}`;
  const key = options.key ?? registeredKey;
  const algorithm = options.signAs ?? header.alg;
  const signature =
    algorithm === 'PS256'
      ? sign('sha256', Buffer.from(input), { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST })
      : sign('sha256', Buffer.from(input), key);
  return `${input}.${signature.toString('base64url')}`;
}

function postToken(form: Record<string, string>, url = tokenEndpoint): Promise<Response> {
  return fetch(url, { method: 'POST', body: new URLSearchParams(form), dispatcher });
}

const clientCredentials = (assertion: string, overrides: Record<string, string> = {}): Record<string, string> => ({
  grant_type: 'client_credentials',
  client_id: CERT_APP,
  client_assertion_type: ASSERTION_TYPE,
  client_assertion: assertion,
  scope: GRAPH_DEFAULT,
  ...overrides,
});

async function accessTokenOf(response: Response): Promise<string> {
  assert.equal(response.status, 200, await response.clone().text());
  return ((await response.json()) as { access_token: string }).access_token;
}

/** The first line of Entra's error_description, after checking status, error and code. */
async function entraError(response: Response, status: number, error: string, aadsts: number): Promise<string> {
  const text = await response.text();
  assert.equal(response.status, status, text);
  const body = JSON.parse(text) as { error: string; error_codes: number[]; error_description: string };
  assert.equal(body.error, error);
  assert.deepEqual(body.error_codes, [aadsts]);
  return body.error_description.split('\r\n')[0] ?? '';
}

void test('PS256 with x5t#S256 authenticates client credentials and is recorded as appidacr 2', async () => {
  const claims = sandbox.verifyAccessToken(await accessTokenOf(await postToken(clientCredentials(clientAssertion()))));
  assert.equal(claims?.appid, CERT_APP);
  assert.equal(claims?.appidacr, '2');
  assert.equal(claims?.aud, 'https://graph.microsoft.com');
  assert.equal(claims?.idtyp, 'app');
});

void test('RS256 with the legacy SHA-1 x5t authenticates too', async () => {
  const assertion = clientAssertion({ header: { alg: 'RS256', 'x5t#S256': undefined, x5t: x5t(registered) } });
  assert.equal(sandbox.verifyAccessToken(await accessTokenOf(await postToken(clientCredentials(assertion))))?.appidacr, '2');
});

void test('a certificate that is not registered is AADSTS700027 "key was not found" with its thumbprint', async () => {
  const assertion = clientAssertion({ header: { 'x5t#S256': x5tS256(stranger) }, key: createPrivateKey(stranger.privateKeyPem) });
  const line = await entraError(await postToken(clientCredentials(assertion)), 401, 'invalid_client', 700027);
  assert.match(line, /^AADSTS700027: Client assertion failed signature validation\. \[Reason - The key was not found\., /);
  assert.ok(line.includes(`Thumbprint of key used by client: '${stranger.thumbprintSha256}'`), line);
  assert.ok(line.includes(`app Id '${CERT_APP}'`), line);
});

void test('a registered thumbprint with another key\'s signature is AADSTS700027 "signature did not match"', async () => {
  const assertion = clientAssertion({ key: createPrivateKey(stranger.privateKeyPem) });
  const line = await entraError(await postToken(clientCredentials(assertion)), 401, 'invalid_client', 700027);
  assert.match(line, /\[Reason - The provided signature value did not match the expected signature value\., /);
  assert.ok(line.includes(`Thumbprint of key used by client: '${registered.thumbprintSha256}'`), line);
  // A PS256 header over an RS256 signature is just as wrong.
  const mixed = clientAssertion({ signAs: 'RS256' });
  await entraError(await postToken(clientCredentials(mixed)), 401, 'invalid_client', 700027);
});

void test('aud must be the token endpoint the request came to (AADSTS700023)', async () => {
  for (const aud of [
    `https://login.microsoftonline.com/${TENANT}/oauth2/v2.0/token`,
    `${sandbox.url}/${TENANT}/oauth2/token`,
    `${sandbox.url}/organizations/oauth2/v2.0/token`,
    [tokenEndpoint, `${sandbox.url}/${TENANT}/v2.0`],
  ]) {
    const line = await entraError(await postToken(clientCredentials(clientAssertion({ claims: { aud } }))), 401, 'invalid_client', 700023);
    assert.equal(
      line,
      'AADSTS700023: Client assertion audience claim does not match Realm issuer. ' +
        'Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .',
    );
  }
  // The same endpoint under the other loopback name, or with the tenant spelled in capitals, is the same endpoint.
  for (const aud of [`https://127.0.0.1:${sandbox.port}/${TENANT}/oauth2/v2.0/token`, tokenEndpoint.toUpperCase(), [tokenEndpoint]]) {
    await accessTokenOf(await postToken(clientCredentials(clientAssertion({ claims: { aud } }))));
  }
});

void test('iss and sub must be the client id (AADSTS700021)', async () => {
  for (const claims of [{ iss: PUBLIC_APP }, { sub: PUBLIC_APP }, { iss: undefined }]) {
    const line = await entraError(await postToken(clientCredentials(clientAssertion({ claims }))), 401, 'invalid_client', 700021);
    assert.match(line, /^AADSTS700021: Client assertion application identifier doesn't match 'client_id' parameter\./);
  }
  await accessTokenOf(await postToken(clientCredentials(clientAssertion({ claims: { iss: CERT_APP.toUpperCase(), sub: CERT_APP.toUpperCase() } }))));
});

void test('an expired or not yet valid assertion is AADSTS700024 with Entra\'s instants', async () => {
  const expired = clientAssertion({ claims: { nbf: START_S - 1200, exp: START_S - 600 } });
  const line = await entraError(await postToken(clientCredentials(expired)), 401, 'invalid_client', 700024);
  assert.equal(
    line,
    'AADSTS700024: Client assertion is not within its valid time range. Current time: 2026-06-01T08:00:00.0000000Z, ' +
      'assertion valid from 2026-06-01T07:40:00.0000000Z, expiry time of assertion 2026-06-01T07:50:00.0000000Z. ' +
      'Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .',
  );
  const early = clientAssertion({ claims: { nbf: START_S + 600, exp: START_S + 1200 } });
  await entraError(await postToken(clientCredentials(early)), 401, 'invalid_client', 700024);
  // Entra prints a missing nbf as the epoch; a few minutes of skew are tolerated.
  const noNbf = clientAssertion({ claims: { nbf: undefined, exp: START_S - 3600 } });
  assert.match(await entraError(await postToken(clientCredentials(noNbf)), 401, 'invalid_client', 700024), /valid from 1970-01-01T00:00:00\.0000000Z/);
  await accessTokenOf(await postToken(clientCredentials(clientAssertion({ claims: { nbf: START_S + 60, exp: START_S - 60 + 600 } }))));
});

void test('malformed assertions are AADSTS50027: not a JWT, no exp, no jti, an HMAC algorithm', async () => {
  const cases = [
    'not.a-jwt',
    clientAssertion({ claims: { exp: undefined } }),
    clientAssertion({ claims: { jti: undefined } }),
    `${base64url({ alg: 'HS256', 'x5t#S256': x5tS256(registered) })}.${base64url({ iss: CERT_APP })}.${randomBytes(32).toString('base64url')}`,
  ];
  for (const assertion of cases) {
    assert.equal(
      await entraError(await postToken(clientCredentials(assertion)), 401, 'invalid_client', 50027),
      'AADSTS50027: JWT token is invalid or malformed.',
    );
  }
});

void test('an assertion whose client_assertion_type is wrong counts as no credential (AADSTS7000216)', async () => {
  const form = clientCredentials(clientAssertion(), { client_assertion_type: 'urn:example:other' });
  await entraError(await postToken(form), 401, 'invalid_client', 7000216);
});

void test('the assertion audience may name a proxy-only hostname of the sandbox', async () => {
  const proxied = await startSandbox({ clock, hostnames: ['login.sandbox.test'] });
  try {
    proxied.registerApplication({ tenantId: TENANT, clientId: CERT_APP, certificates: [registered.certificatePem] });
    const agent = new Agent({ connect: { ca: proxied.caCertificatePem } });
    try {
      const aud = `https://login.sandbox.test:${proxied.port}/${TENANT}/oauth2/v2.0/token`;
      const response = await fetch(`${proxied.url}/${TENANT}/oauth2/v2.0/token`, {
        method: 'POST',
        body: new URLSearchParams(clientCredentials(clientAssertion({ claims: { aud } }))),
        dispatcher: agent,
      });
      assert.equal(proxied.verifyAccessToken(await accessTokenOf(response))?.appidacr, '2');
    } finally {
      await agent.close();
    }
  } finally {
    await proxied.close();
  }
});

void test('user grants take a client assertion too: ROPC, authorization code and refresh token', async () => {
  const ropc = await postToken({
    grant_type: 'password',
    client_id: CERT_APP,
    client_assertion_type: ASSERTION_TYPE,
    client_assertion: clientAssertion(),
    username: USER,
    password: PASSWORD,
    scope: IMAP,
  });
  assert.equal(sandbox.verifyAccessToken(await accessTokenOf(ropc))?.appidacr, '2');

  const authorize = await fetch(
    `${sandbox.url}/${TENANT}/oauth2/v2.0/authorize?${new URLSearchParams({
      client_id: CERT_APP,
      response_type: 'code',
      redirect_uri: REDIRECT,
      scope: `${IMAP} offline_access`,
      login_hint: USER,
    }).toString()}`,
    { dispatcher, redirect: 'manual' },
  );
  const code = new URL(authorize.headers.get('location') ?? '').searchParams.get('code') ?? '';
  const redeemed = await postToken({
    grant_type: 'authorization_code',
    client_id: CERT_APP,
    client_assertion_type: ASSERTION_TYPE,
    client_assertion: clientAssertion(),
    code,
    redirect_uri: REDIRECT,
  });
  assert.equal(redeemed.status, 200, await redeemed.clone().text());
  const { refresh_token: refreshToken } = (await redeemed.json()) as { refresh_token: string };
  const refreshed = await postToken({
    grant_type: 'refresh_token',
    client_id: CERT_APP,
    client_assertion_type: ASSERTION_TYPE,
    client_assertion: clientAssertion(),
    refresh_token: refreshToken,
  });
  assert.equal(sandbox.verifyAccessToken(await accessTokenOf(refreshed))?.appidacr, '2');
});

void test('a public client presenting an assertion is AADSTS700025 even with a registered certificate', async () => {
  const response = await postToken({
    grant_type: 'password',
    client_id: PUBLIC_APP,
    client_assertion_type: ASSERTION_TYPE,
    client_assertion: clientAssertion({ claims: { iss: PUBLIC_APP, sub: PUBLIC_APP } }),
    username: USER,
    password: PASSWORD,
    scope: IMAP,
  });
  await entraError(response, 401, 'invalid_client', 700025);
});

void test('registerApplication refuses a certificate that is not PEM', () => {
  assert.throws(
    () => sandbox.registerApplication({ tenantId: TENANT, clientId: 'bad-cert', certificates: [registered.certificatePem, 'nope'] }),
    /"certificates\[1\]" must be a PEM certificate/,
  );
});

void test('createClientCertificate gives the thumbprints msal-node and Windows use', async () => {
  const { X509Certificate } = await import('node:crypto');
  const certificate = new X509Certificate(registered.certificatePem);
  assert.equal(registered.thumbprintSha1, certificate.fingerprint.replace(/:/g, ''));
  assert.equal(registered.thumbprintSha256, certificate.fingerprint256.replace(/:/g, ''));
  assert.equal(createHash('sha256').update(certificate.raw).digest('hex').toUpperCase(), registered.thumbprintSha256);
  assert.ok(certificate.checkPrivateKey(registeredKey));
});

// --- msal-node ---------------------------------------------------------------------

/** msal-node's network seam over undici, keeping each token request body for inspection. */
function recordingNetworkClient(bodies: string[]): INetworkModule {
  const send = async <T>(url: string, method: 'GET' | 'POST', options?: NetworkRequestOptions): Promise<NetworkResponse<T>> => {
    if (options?.body !== undefined) bodies.push(options.body);
    const response = await fetch(url, { method, headers: options?.headers, body: options?.body, dispatcher });
    return { status: response.status, headers: Object.fromEntries(response.headers), body: (await response.json()) as T };
  };
  return {
    sendGetRequestAsync: (url, options) => send(url, 'GET', options),
    sendPostRequestAsync: (url, options) => send(url, 'POST', options),
  };
}

function assertionHeaderOf(body: string | undefined): Record<string, unknown> {
  const assertion = new URLSearchParams(body).get('client_assertion') ?? '';
  return JSON.parse(Buffer.from(assertion.split('.')[0] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

void test('msal-node authenticates with a certificate: thumbprintSha256 (PS256, x5t#S256, x5c) and legacy thumbprint (RS256, x5t)', async () => {
  // msal-node stamps assertions with the real time; give the sandbox the same.
  nowMs = Date.now();
  try {
    sandbox.stats.reset();
    const bodies: string[] = [];
    const modern = new ConfidentialClientApplication({
      auth: {
        clientId: CERT_APP,
        ...sandboxMsalAuthority(sandbox.url, TENANT),
        clientCertificate: { thumbprintSha256: registered.thumbprintSha256, privateKey: registered.privateKeyPem, x5c: registered.certificatePem },
      },
      system: { networkClient: recordingNetworkClient(bodies) },
    });
    const result = await modern.acquireTokenByClientCredential({ scopes: [GRAPH_DEFAULT] });
    assert.equal(sandbox.verifyAccessToken(result?.accessToken ?? '')?.appidacr, '2');
    const header = assertionHeaderOf(bodies[0]);
    assert.equal(header['alg'], 'PS256');
    assert.equal(header['x5t#S256'], x5tS256(registered));
    assert.deepEqual(header['x5c'], [registered.certificatePem.replace(/-----[A-Z ]+-----|\s/g, '')]);

    const legacyBodies: string[] = [];
    const legacy = new ConfidentialClientApplication({
      auth: { clientId: CERT_APP, ...sandboxMsalAuthority(sandbox.url, TENANT), clientCertificate: { thumbprint: registered.thumbprintSha1, privateKey: registered.privateKeyPem } },
      system: { networkClient: recordingNetworkClient(legacyBodies) },
    });
    const legacyResult = await legacy.acquireTokenByClientCredential({ scopes: [GRAPH_DEFAULT] });
    assert.equal(sandbox.verifyAccessToken(legacyResult?.accessToken ?? '')?.appidacr, '2');
    const legacyHeader = assertionHeaderOf(legacyBodies[0]);
    assert.equal(legacyHeader['alg'], 'RS256');
    assert.equal(legacyHeader['x5t'], x5t(registered));
    assert.equal(sandbox.stats.forClient(CERT_APP), 2);
    assert.equal(sandbox.stats.otherRequests, 0, 'no discovery: the metadata was handed over');

    const wrongKey = new ConfidentialClientApplication({
      auth: {
        clientId: CERT_APP,
        ...sandboxMsalAuthority(sandbox.url, TENANT),
        clientCertificate: { thumbprintSha256: registered.thumbprintSha256, privateKey: stranger.privateKeyPem },
      },
      system: { networkClient: recordingNetworkClient([]) },
    });
    await assert.rejects(wrongKey.acquireTokenByClientCredential({ scopes: [GRAPH_DEFAULT] }), (error: unknown) => {
      const { errorCode, errorMessage } = error as { errorCode?: string; errorMessage?: string };
      assert.equal(errorCode, 'invalid_client');
      assert.match(errorMessage ?? '', /AADSTS700027/);
      return true;
    });
  } finally {
    nowMs = START_MS;
  }
});
