// Where the oidc grants take server metadata from: fixed (Google), configured
// (generic, no network), or discovered (generic with only an issuer).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GOOGLE_ISSUER, isLoopbackHttp, metadataSource, usesLoopbackHttp, withOverrides } from '../../src/broker/grants/oidc/server-metadata.js';
import { builtinAuthorizationServers } from '../../src/config/index.js';
import type { AuthorizationServerConfig } from '../../src/config/index.js';

const generic = (fields: Partial<AuthorizationServerConfig>): AuthorizationServerConfig => ({ name: 'acme', type: 'generic', scopes: {}, caCertificates: [], ...fields });

describe('metadataSource', () => {
  test('google: the built-in endpoints, no discovery, Google\'s issuer', () => {
    const google = builtinAuthorizationServers().get('google');
    assert.ok(google !== undefined);
    const source = metadataSource(google, 'authorization-code');
    assert.equal(source.kind, 'static');
    assert.deepEqual(source.kind === 'static' ? source.metadata : undefined, {
      issuer: GOOGLE_ISSUER,
      token_endpoint: 'https://oauth2.googleapis.com/token',
      authorization_endpoint: 'https://accounts.google.com/o/oauth2/v2/auth',
      device_authorization_endpoint: 'https://oauth2.googleapis.com/device/code',
      token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
    });
  });

  test('generic with every endpoint the grant needs: static, even when an issuer is set', () => {
    const server = generic({ issuer: 'https://idp.example', tokenEndpoint: 'https://idp.example/token', authorizationEndpoint: 'https://idp.example/authorize' });
    const source = metadataSource(server, 'authorization-code');
    assert.deepEqual(source, {
      kind: 'static',
      metadata: { issuer: 'https://idp.example', token_endpoint: 'https://idp.example/token', authorization_endpoint: 'https://idp.example/authorize' },
    });
  });

  test('generic without issuer: the token endpoint stands in for it', () => {
    const source = metadataSource(generic({ tokenEndpoint: 'https://idp.example/oauth/token' }), 'client-credentials');
    assert.equal(source.kind === 'static' ? source.metadata.issuer : undefined, 'https://idp.example/oauth/token');
  });

  test('generic missing an endpoint the grant needs: discovery, configured endpoints kept as overrides', () => {
    const server = generic({ issuer: 'https://idp.example/realms/mail', tokenEndpoint: 'https://internal.example/token' });
    const source = metadataSource(server, 'device-code');
    assert.equal(source.kind, 'discovery');
    assert.equal(source.kind === 'discovery' ? source.issuer.href : undefined, 'https://idp.example/realms/mail');
    assert.deepEqual(source.kind === 'discovery' ? source.overrides : undefined, { token_endpoint: 'https://internal.example/token' });
  });

  test('generic with only an issuer: discovery for every grant', () => {
    for (const grant of ['authorization-code', 'device-code', 'client-credentials'] as const) {
      assert.equal(metadataSource(generic({ issuer: 'https://idp.example' }), grant).kind, 'discovery', grant);
    }
  });

  test('configured endpoints win over discovered ones', () => {
    const merged = withOverrides({ issuer: 'https://idp.example', token_endpoint: 'https://idp.example/token', jwks_uri: 'https://idp.example/jwks' }, { token_endpoint: 'https://internal.example/token' });
    assert.deepEqual(merged, { issuer: 'https://idp.example', token_endpoint: 'https://internal.example/token', jwks_uri: 'https://idp.example/jwks' });
  });
});

describe('loopback http', () => {
  const cases: [string, boolean][] = [
    ['http://localhost:8080', true],
    ['http://127.0.0.1:9/token', true],
    ['http://[::1]:9/token', true],
    ['https://localhost:8080', false],
    ['http://idp.example', false],
    ['http://127.0.0.2', false],
  ];
  for (const [url, expected] of cases) {
    test(`${url} -> ${String(expected)}`, () => assert.equal(isLoopbackHttp(url), expected));
  }

  test('any http endpoint makes openid-client allow insecure requests', () => {
    assert.equal(usesLoopbackHttp({ issuer: 'https://idp.example', token_endpoint: 'http://localhost:1/token' }), true);
    assert.equal(usesLoopbackHttp({ issuer: 'https://idp.example', token_endpoint: 'https://idp.example/token' }), false);
  });
});
