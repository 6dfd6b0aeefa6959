// The oidc grants against an independent OAuth server (oauth2-mock-server,
// plain http on loopback): by issuer discovery and by configured endpoints,
// client credentials with basic, post and private_key_jwt, authorization
// code with PKCE and rotating refresh tokens. Every token is verified
// against that server's own JWKS, so it provably came from it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { createLocalJWKSet, jwtVerify } from 'jose';
import type { JSONWebKeySet, JWTPayload } from 'jose';
import { OAuth2Server } from 'oauth2-mock-server';
import type { MutableRedirectUri, MutableResponse, TokenRequestIncomingMessage } from 'oauth2-mock-server';
import type { AuthorizationStart, Grant } from '../../src/broker/grants/index.js';
import { x5tS256 } from '../../src/broker/grants/oidc/client-authentication.js';
import type { MailboxConfig } from '../../src/config/index.js';
import { BrokerError } from '../../src/errors/index.js';
import { makeCertificate } from '../support/certificates.js';
import { followAuthorization } from '../support/oidc-browser.js';
import { configFolder, grantHarness, loadMailboxes } from '../support/oidc-config.js';
import type { GrantHarness } from '../support/oidc-config.js';

const CLIENT = 'broker-client';
const SECRET = 'generic:secret+1';
const SCOPE = 'mail.read';
const REDIRECT_URI = 'http://localhost:8400/callback';

interface SeenRequest {
  readonly authorization: string | undefined;
  readonly body: Record<string, unknown>;
}

const server = new OAuth2Server();
const certificate = makeCertificate(Date.now() - 60_000, Date.now() + 86_400_000);
let issuer: string;
let jwks: ReturnType<typeof createLocalJWKSet>;
let harness: GrantHarness;
let mailboxes: ReadonlyMap<string, MailboxConfig>;
/** Token requests as the server received them, newest last. */
const seen: SeenRequest[] = [];

before(async () => {
  await server.issuer.keys.generate('RS256');
  await server.start(0, 'localhost');
  issuer = server.issuer.url ?? '';
  server.service.on('beforeResponse', (_response: MutableResponse, request: TokenRequestIncomingMessage) => {
    seen.push({ authorization: request.headers.authorization, body: { ...request.body } });
  });
  const published = (await (await fetch(`${issuer}/jwks`)).json()) as JSONWebKeySet;
  jwks = createLocalJWKSet(published);

  const folder = await configFolder({ 'client.pem': certificate.certificatePem + certificate.keyPem });
  const scopes = { imap: [SCOPE] };
  const endpoints = { tokenEndpoint: `${issuer}/token`, authorizationEndpoint: `${issuer}/authorize` };
  const app = { protocol: 'imap', grantType: 'client-credentials', clientId: CLIENT, clientSecret: SECRET, username: 'robot@example.com' };
  const code = { protocol: 'imap', grantType: 'authorization-code', clientId: CLIENT, clientSecret: SECRET, redirectUri: REDIRECT_URI, username: 'johndoe@example.com' };
  mailboxes = await loadMailboxes(
    {
      authorizationServers: {
        discovered: { type: 'generic', issuer, scopes },
        configured: { type: 'generic', issuer, ...endpoints, scopes },
        'configured-no-issuer': { type: 'generic', ...endpoints, scopes },
        'wrong-issuer': { type: 'generic', issuer: `${issuer}/nothing-here`, scopes },
        down: { type: 'generic', issuer: 'http://localhost:1', scopes },
      },
      mailboxes: {
        'app-discovered': { ...app, authorizationServer: 'discovered' },
        'app-configured': { ...app, authorizationServer: 'configured' },
        'app-certificate': { ...app, clientSecret: undefined, authorizationServer: 'configured', authenticationMode: 'certificate', certificate: { file: 'client.pem', thumbprint: certificate.sha1 } },
        'app-wrong-issuer': { ...app, authorizationServer: 'wrong-issuer' },
        'app-down': { ...app, authorizationServer: 'down' },
        'code-discovered': { ...code, authorizationServer: 'discovered' },
        'code-public': { ...code, clientSecret: undefined, authorizationServer: 'configured' },
        'code-no-issuer': { ...code, authorizationServer: 'configured-no-issuer' },
        'device-discovered': { ...code, grantType: 'device-code', redirectUri: undefined, authorizationServer: 'discovered' },
      },
    },
    folder,
  );
  harness = grantHarness();
});

after(async () => {
  await harness.close();
  await server.stop();
});

function grantFor(name: string): Grant {
  const mailbox = mailboxes.get(name);
  assert.ok(mailbox !== undefined, name);
  return harness.grant(mailbox);
}

/** Claims of a token, after checking it was signed by the server's key and names it as issuer. */
async function verifiedByServer(token: string): Promise<JWTPayload> {
  const { payload } = await jwtVerify(token, jwks, { issuer });
  return payload;
}

async function failure(promise: Promise<unknown>): Promise<BrokerError> {
  const error = await promise.then(() => undefined, (thrown: unknown) => thrown);
  assert.ok(error instanceof BrokerError, `expected a BrokerError, got ${String(error)}`);
  return error;
}

function lastRequest(): SeenRequest {
  const request = seen.at(-1);
  assert.ok(request !== undefined, 'the server saw a token request');
  return request;
}

/** The form-decoded id and secret of an HTTP Basic header (RFC 6749 2.3.1). */
function basicCredentials(header: string | undefined): [string, string] {
  assert.match(header ?? '', /^Basic /);
  const [id = '', secret = ''] = Buffer.from((header ?? '').slice(6), 'base64').toString('utf8').split(':');
  const decode = (part: string): string => decodeURIComponent(part.replaceAll('+', ' '));
  return [decode(id), decode(secret)];
}

describe('client credentials', () => {
  test('by discovery: metadata fetched once, post (the server lists no basic), a token signed by the server', async () => {
    const grant = grantFor('app-discovered');
    const start = harness.requested.length;
    const token = await grant.acquire({});
    assert.deepEqual(harness.requested.slice(start), [`${issuer}/.well-known/openid-configuration`, `${issuer}/token`]);
    assert.equal((await verifiedByServer(token.accessToken))['scope'], SCOPE);
    assert.deepEqual(token.scopes, [SCOPE]);
    assert.equal(token.tokenType, 'Bearer');
    assert.equal(token.refreshToken, undefined);
    const request = lastRequest();
    assert.equal(request.authorization, undefined);
    assert.deepEqual([request.body['client_id'], request.body['client_secret'], request.body['scope']], [CLIENT, SECRET, SCOPE]);

    await grant.acquire({});
    assert.deepEqual(harness.requested.slice(start + 2), [`${issuer}/token`], 'the configuration is kept: no second discovery');
  });

  test('by configured endpoints: no discovery request, client_secret_basic', async () => {
    const start = harness.requested.length;
    const token = await grantFor('app-configured').acquire({});
    assert.deepEqual(harness.requested.slice(start), [`${issuer}/token`]);
    await verifiedByServer(token.accessToken);
    const request = lastRequest();
    assert.deepEqual(basicCredentials(request.authorization), [CLIENT, SECRET]);
    assert.equal(request.body['client_secret'], undefined);
  });

  test('certificate mode: private_key_jwt signed by the certificate key, naming the issuer and the certificate', async () => {
    const token = await grantFor('app-certificate').acquire({});
    await verifiedByServer(token.accessToken);
    const { body } = lastRequest();
    assert.equal(body['client_secret'], undefined);
    assert.equal(body['client_assertion_type'], 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    const [header = '', payload = '', signature = ''] = String(body['client_assertion']).split('.');
    const json = (part: string): Record<string, unknown> => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
    assert.ok(verify('sha256', Buffer.from(`${header}.${payload}`), createPublicKey(certificate.certificatePem), Buffer.from(signature, 'base64url')));
    assert.equal(json(header)['x5t#S256'], x5tS256(certificate.certificatePem));
    assert.deepEqual([json(payload)['iss'], json(payload)['sub'], json(payload)['aud']], [CLIENT, CLIENT, issuer]);
  });

  test('server errors: a refusal is permanent, a 503 is retried', async () => {
    server.service.once('beforeResponse', (response: MutableResponse) => {
      response.statusCode = 401;
      response.body = { error: 'invalid_client', error_description: 'client authentication failed' };
    });
    const refused = await failure(grantFor('app-configured').acquire({}));
    assert.deepEqual([refused.code, refused.permanent, refused.oauth?.httpStatus], ['invalid_client', true, 401]);

    server.service.once('beforeResponse', (response: MutableResponse) => {
      response.statusCode = 503;
      response.body = { error: 'temporarily_unavailable' };
    });
    const busy = await failure(grantFor('app-configured').acquire({}));
    assert.deepEqual([busy.code, busy.permanent], ['authorization_server_error', false]);
  });

  test('a 429 with Retry-After 7 is throttled for 7 s, and the next request reaches the server', async () => {
    server.service.once('beforeResponse', (response: MutableResponse, request: TokenRequestIncomingMessage) => {
      response.statusCode = 429;
      response.body = { error: 'slow_down', error_description: 'too many token requests' };
      // oauth2-mock-server sets no headers of its own; Express hands the response over as req.res.
      (request as TokenRequestIncomingMessage & { res: ServerResponse }).res.setHeader('retry-after', '7');
    });
    const grant = grantFor('app-configured');
    const requests = seen.length;
    const throttled = await failure(grant.acquire({}));
    assert.deepEqual([throttled.code, throttled.permanent, throttled.retryAfterMs, throttled.oauth?.httpStatus], ['throttled', false, 7_000, 429]);
    assert.equal(throttled.message, 'mailbox app-configured: authorization server configured throttled the client-credentials token request (HTTP 429, Retry-After 7 s): too many token requests');
    await verifiedByServer((await grant.acquire({})).accessToken);
    assert.equal(seen.length, requests + 2);
  });

  test('discovery at a wrong issuer tries both well-known documents, then names the setting', async () => {
    const start = harness.requested.length;
    const refused = await failure(grantFor('app-wrong-issuer').acquire({}));
    assert.deepEqual(harness.requested.slice(start), [
      `${issuer}/nothing-here/.well-known/openid-configuration`,
      `${issuer}/.well-known/oauth-authorization-server/nothing-here`,
    ]);
    assert.equal(refused.code, 'authorization_server_error');
    assert.match(refused.remediation ?? '', /authorizationServers\.wrong-issuer\.issuer/);
  });

  test('an unreachable server: the transport error comes through openid-client unchanged, and discovery is retried next time', async () => {
    const grant = grantFor('app-down');
    const first = await failure(grant.acquire({}));
    assert.equal(first.code, 'server_unreachable');
    assert.match(first.message, /cannot reach localhost:1/);
    const start = harness.requested.length;
    await failure(grant.acquire({}));
    assert.deepEqual(harness.requested.slice(start), ['http://localhost:1/.well-known/openid-configuration'], 'a failed discovery is not cached');
  });
});

describe('authorization code', () => {
  async function authorize(grant: Grant): Promise<{ start: Extract<AuthorizationStart, { kind: 'redirect' }>; pasted: URL }> {
    assert.ok(grant.startAuthorization !== undefined);
    const start = await grant.startAuthorization();
    assert.ok(start.kind === 'redirect');
    return { start, pasted: await followAuthorization(start.authorizationUrl) };
  }

  test('by discovery: PKCE checked by the server, then each refresh returns the newest (rotated) refresh token', async () => {
    const grant = grantFor('code-discovered');
    assert.ok(grant.completeAuthorization !== undefined);
    const { start, pasted } = await authorize(grant);
    const url = new URL(start.authorizationUrl);
    assert.equal(`${url.origin}${url.pathname}`, `${issuer}/authorize`);
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(url.searchParams.get('access_type'), null, 'no Google parameters on a generic server');

    const first = await grant.completeAuthorization(start.pending, pasted);
    assert.equal(lastRequest().body['code_verifier'], start.pending.codeVerifier, 'the server checked the verifier against the challenge');
    assert.equal(lastRequest().body['client_secret'], SECRET, 'discovered metadata lists no client_secret_basic: post');
    await verifiedByServer(first.accessToken);
    const r1 = first.refreshToken;
    assert.ok(r1 !== undefined);

    const second = await grant.acquire({ refreshToken: r1 });
    assert.equal(lastRequest().body['refresh_token'], r1);
    await verifiedByServer(second.accessToken);
    assert.ok(second.refreshToken !== undefined && second.refreshToken !== r1, 'the rotated refresh token comes out');
  });

  test('a public client (no secret) sends only its id and the PKCE verifier', async () => {
    const grant = grantFor('code-public');
    assert.ok(grant.completeAuthorization !== undefined);
    const { start, pasted } = await authorize(grant);
    const token = await grant.completeAuthorization(start.pending, pasted);
    await verifiedByServer(token.accessToken);
    const request = lastRequest();
    assert.equal(request.authorization, undefined);
    assert.deepEqual([request.body['client_id'], request.body['client_secret'], request.body['code_verifier']], [CLIENT, undefined, start.pending.codeVerifier]);
  });

  test('a redirect naming another issuer (RFC 9207 mix-up) is refused', async () => {
    const grant = grantFor('code-discovered');
    assert.ok(grant.completeAuthorization !== undefined);
    server.service.once('beforeAuthorizeRedirect', (redirect: MutableRedirectUri) => {
      redirect.url.searchParams.set('iss', 'https://attacker.example');
    });
    const { start, pasted } = await authorize(grant);
    const codeRequests = seen.length;
    const refused = await failure(grant.completeAuthorization(start.pending, pasted));
    assert.equal(refused.code, 'invalid_request');
    assert.match(refused.message, /does not belong to the authorization that was started \(it names issuer https:\/\/attacker\.example; if that is discovered, set authorizationServers\.discovered\.issuer to it\)/);
    assert.equal(seen.length, codeRequests, 'the code was not redeemed');
  });

  test('an ID token from an issuer the config does not name: the issuer to set', async () => {
    const grant = grantFor('code-no-issuer');
    assert.ok(grant.completeAuthorization !== undefined);
    const { start, pasted } = await authorize(grant);
    const refused = await failure(grant.completeAuthorization(start.pending, pasted));
    assert.equal(refused.code, 'config_invalid');
    assert.equal(refused.remediation, `Set authorizationServers.configured-no-issuer.issuer to ${issuer}, or drop the openid scope.`);
  });
});

test('device code on a server whose metadata lists no device endpoint: the setting to add', async () => {
  const grant = grantFor('device-discovered');
  assert.ok(grant.startAuthorization !== undefined);
  const refused = await failure(grant.startAuthorization());
  assert.equal(refused.code, 'config_invalid');
  assert.equal(refused.remediation, 'Set authorizationServers.discovered.deviceAuthorizationEndpoint, or use a grant type this server supports.');
});
