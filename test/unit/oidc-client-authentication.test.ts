// Which client authentication the oidc grants use, and what each puts on the wire.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify, X509Certificate } from 'node:crypto';
import type { ServerMetadata } from 'openid-client';
import { clientAuthentication, clientAuthMethod, x5tS256 } from '../../src/broker/grants/oidc/client-authentication.js';
import type { ClientAuthMethod } from '../../src/broker/grants/oidc/client-authentication.js';
import { builtinAuthorizationServers, Secret } from '../../src/config/index.js';
import type { AuthorizationServerConfig, MailboxConfig } from '../../src/config/index.js';
import { makeCertificate } from '../support/certificates.js';
import { testMailbox } from '../support/mailbox.js';

const GENERIC: AuthorizationServerConfig = { name: 'acme', type: 'generic', issuer: 'https://idp.example', tokenEndpoint: 'https://idp.example/token', scopes: {}, caCertificates: [] };
const GOOGLE = builtinAuthorizationServers().get('google') as AuthorizationServerConfig;
const SECRET = new Secret('s3cret:with+specials', 'test');
const certificate = makeCertificate(Date.now() - 60_000, Date.now() + 86_400_000);

const withSecret = (server: AuthorizationServerConfig): MailboxConfig => testMailbox({ authorizationServer: server, clientId: 'client-1', clientSecret: SECRET, tenantId: undefined });
const withCertificate = (): MailboxConfig =>
  testMailbox({
    authorizationServer: GENERIC,
    clientId: 'client-1',
    tenantId: undefined,
    authenticationMode: 'certificate',
    certificate: { file: '/x.pem', thumbprint: certificate.sha1, certificatePem: certificate.certificatePem, privateKey: new Secret(certificate.keyPem, 'test') },
  });

describe('clientAuthMethod', () => {
  const metadata = (methods?: string[]): ServerMetadata => ({ issuer: 'https://idp.example', ...(methods === undefined ? {} : { token_endpoint_auth_methods_supported: methods }) });
  const cases: [string, MailboxConfig, ServerMetadata, ClientAuthMethod][] = [
    ['generic, methods not listed: basic', withSecret(GENERIC), metadata(), 'client_secret_basic'],
    ['generic, basic listed: basic', withSecret(GENERIC), metadata(['client_secret_post', 'client_secret_basic']), 'client_secret_basic'],
    ['generic, listed without basic: post', withSecret(GENERIC), metadata(['client_secret_post', 'private_key_jwt']), 'client_secret_post'],
    ['google: post', withSecret(GOOGLE), metadata(['client_secret_basic', 'client_secret_post']), 'client_secret_post'],
    ['no secret: a public client', testMailbox({ authorizationServer: GENERIC, tenantId: undefined }), metadata(), 'none'],
    ['certificate: private_key_jwt', withCertificate(), metadata(['client_secret_basic']), 'private_key_jwt'],
  ];
  for (const [name, mailbox, server, expected] of cases) {
    test(name, () => assert.equal(clientAuthMethod(mailbox, server), expected));
  }
});

describe('clientAuthentication on the wire', () => {
  const server: ServerMetadata = { issuer: 'https://idp.example', token_endpoint: 'https://idp.example/token' };
  const apply = async (method: ClientAuthMethod, mailbox: MailboxConfig): Promise<{ body: URLSearchParams; headers: Headers }> => {
    const body = new URLSearchParams();
    const headers = new Headers();
    const authenticate = await clientAuthentication(method, mailbox);
    // ClientAuth is typed void, but PrivateKeyJwt signs asynchronously and returns a promise.
    await Promise.resolve(authenticate(server, { client_id: mailbox.clientId }, body, headers));
    return { body, headers };
  };

  test('basic: the form-encoded id and secret in the Authorization header, nothing in the body', async () => {
    const { body, headers } = await apply('client_secret_basic', withSecret(GENERIC));
    const [scheme, encoded = ''] = (headers.get('authorization') ?? '').split(' ');
    assert.equal(scheme, 'Basic');
    // RFC 6749 2.3.1: each part form-urlencoded, so a ":" in the secret cannot split it.
    const [id = '', secret = '', ...rest] = Buffer.from(encoded, 'base64').toString('utf8').split(':');
    const formDecode = (part: string): string => decodeURIComponent(part.replaceAll('+', ' '));
    assert.deepEqual([formDecode(id), formDecode(secret), rest], ['client-1', 's3cret:with+specials', []]);
    assert.equal(body.get('client_secret'), null);
  });

  test('post: id and secret in the body', async () => {
    const { body, headers } = await apply('client_secret_post', withSecret(GOOGLE));
    assert.equal(body.get('client_id'), 'client-1');
    assert.equal(body.get('client_secret'), 's3cret:with+specials');
    assert.equal(headers.get('authorization'), null);
  });

  test('none: only the client id', async () => {
    const { body } = await apply('none', testMailbox({ authorizationServer: GENERIC, clientId: 'public-1', tenantId: undefined }));
    assert.deepEqual([...body.keys()], ['client_id']);
  });

  test('private_key_jwt: an RS256 assertion by the certificate key, naming the certificate and the issuer', async () => {
    const { body } = await apply('private_key_jwt', withCertificate());
    assert.equal(body.get('client_assertion_type'), 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    const [header = '', payload = '', signature = ''] = (body.get('client_assertion') ?? '').split('.');
    const decoded = (part: string): Record<string, unknown> => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
    assert.equal(decoded(header)['alg'], 'RS256');
    assert.equal(decoded(header)['x5t#S256'], x5tS256(certificate.certificatePem));
    const claims = decoded(payload);
    assert.equal(claims['iss'], 'client-1');
    assert.equal(claims['sub'], 'client-1');
    assert.equal(claims['aud'], 'https://idp.example');
    const publicKey = createPublicKey(certificate.certificatePem);
    assert.ok(verify('sha256', Buffer.from(`${header}.${payload}`), publicKey, Buffer.from(signature, 'base64url')), 'signature verifies with the certificate');
  });
});

test('x5tS256 is the base64url SHA-256 of the DER certificate', () => {
  const der = new X509Certificate(certificate.certificatePem).raw;
  assert.equal(x5tS256(certificate.certificatePem), createHash('sha256').update(der).digest('base64url'));
  assert.equal(Buffer.from(x5tS256(certificate.certificatePem), 'base64url').toString('hex').toUpperCase(), certificate.sha256);
});
