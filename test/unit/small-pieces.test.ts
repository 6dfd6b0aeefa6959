// Pure helpers: SASL XOAUTH2, Entra authority metadata, daemon address (client mailbox patterns: client-patterns.test.ts).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { msalAuthorityOptions, saslXoauth2 } from '../../src/broker/index.js';
import { resolveDaemonAddress } from '../../src/client/index.js';
import { isLoopbackRedirect } from '../../src/broker/authorization/loopback-listener.js';
import type { IssuedToken } from '../../src/broker/index.js';
import { summarizeToken } from '../../src/broker/token-summary.js';
import { loopbackRedirectAddress } from '../../src/config/index.js';
import { TEST_SERVER } from '../support/mailbox.js';

describe('saslXoauth2', () => {
  test('is base64 of user=...^Aauth=Bearer ...^A^A', () => {
    const value = saslXoauth2('someuser@example.com', 'ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg');
    // The example from Google's XOAUTH2 documentation.
    assert.equal(
      value,
      'dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==',
    );
  });
});

describe('msalAuthorityOptions', () => {
  test('builds endpoints and metadata from authorityHost and tenant, so msal needs no discovery', () => {
    const options = msalAuthorityOptions({ ...TEST_SERVER, authorityHost: 'https://localhost:8443' }, 'tenant-1');
    assert.equal(options.authority, 'https://localhost:8443/tenant-1');
    assert.equal(options.tokenEndpoint, 'https://localhost:8443/tenant-1/oauth2/v2.0/token');
    const metadata = JSON.parse(options.authorityMetadata) as Record<string, string>;
    assert.equal(metadata.token_endpoint, 'https://localhost:8443/tenant-1/oauth2/v2.0/token');
    assert.equal(metadata.authorization_endpoint, 'https://localhost:8443/tenant-1/oauth2/v2.0/authorize');
    assert.equal(metadata.issuer, 'https://localhost:8443/tenant-1/v2.0');
    const discovery = JSON.parse(options.cloudDiscoveryMetadata) as { metadata: { aliases: string[] }[] };
    assert.deepEqual(discovery.metadata[0]?.aliases, ['localhost:8443']);
    assert.deepEqual(options.knownAuthorities, ['localhost:8443']);
  });

  test('national clouds keep their host', () => {
    const options = msalAuthorityOptions({ ...TEST_SERVER, authorityHost: 'https://login.microsoftonline.us/' }, 'contoso');
    assert.equal(options.tokenEndpoint, 'https://login.microsoftonline.us/contoso/oauth2/v2.0/token');
  });
});

describe('resolveDaemonAddress', () => {
  test('--socket wins over the environment, which wins over the default', () => {
    assert.equal(resolveDaemonAddress('unix:///a.sock', { TOKEN_BROKER_ADDRESS: 'unix:///b.sock' }).target, 'unix:///a.sock');
    assert.equal(resolveDaemonAddress(undefined, { TOKEN_BROKER_ADDRESS: '/b.sock' }).target, 'unix:///b.sock');
    assert.equal(resolveDaemonAddress(undefined, {}).target, 'unix:///run/token-broker/broker.sock');
    assert.equal(resolveDaemonAddress('tcp://127.0.0.1:50051', {}).target, '127.0.0.1:50051');
  });
  test('anything else is refused with the accepted forms', () => {
    assert.throws(() => resolveDaemonAddress('http://x', {}), /use unix:\/\/\/path\/to\/broker\.sock or tcp:\/\/host:port/);
  });
});

describe('loopbackRedirectAddress: one answer for the listener and token-broker authorize', () => {
  const cases: [string, { host: string; port: number } | undefined][] = [
    ['http://localhost:8400/callback', { host: '127.0.0.1', port: 8400 }],
    ['http://LOCALHOST:8400/callback', { host: '127.0.0.1', port: 8400 }],
    ['http://127.0.0.1:8400/done', { host: '127.0.0.1', port: 8400 }],
    ['http://127.0.0.2:8400/done', { host: '127.0.0.2', port: 8400 }],
    ['http://[::1]:8400/done', { host: '::1', port: 8400 }],
    // No port: nothing to bind that a browser would reach (port 80 needs privileges).
    ['http://localhost/callback', undefined],
    ['https://localhost:8400/callback', undefined],
    ['http://broker.contoso.example:8400/callback', undefined],
    ['http://10.0.0.5:8400/callback', undefined],
    ['not a url', undefined],
  ];
  for (const [uri, expected] of cases) {
    test(uri, () => {
      assert.deepEqual(loopbackRedirectAddress(uri), expected);
      assert.equal(isLoopbackRedirect(uri), expected !== undefined, 'the listener and the function disagree');
    });
  }
});

describe('summarizeToken: what authorize shows of a token acquired at once', () => {
  const jwt = (claims: object): string => `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;
  const issued = (accessToken: string): IssuedToken => ({ mailbox: 'm', accessToken, tokenType: 'Bearer', expiresAt: 0, obtainedAt: 0, scopes: ['https://mail.google.com/'], username: 'u@x', saslXoauth2: '', saslOauthbearer: '', protocol: 'imap' });

  test('an Entra user token: the upn, the audience and its scp', () => {
    assert.deepEqual(summarizeToken(issued(jwt({ aud: 'https://outlook.office.com', upn: 'alice@contoso.example', scp: 'IMAP.AccessAsUser.All offline_access' })), 'cfg@x'), {
      subject: 'alice@contoso.example',
      audience: 'https://outlook.office.com',
      permissions: ['IMAP.AccessAsUser.All', 'offline_access'],
    });
  });

  test('an Entra application token: the app name and its roles', () => {
    assert.deepEqual(summarizeToken(issued(jwt({ aud: 'https://outlook.office365.com', app_displayname: 'mail-capture', appid: 'a1', roles: ['IMAP.AccessAsApp'] })), 'cfg@x'), {
      subject: 'mail-capture',
      audience: 'https://outlook.office365.com',
      permissions: ['IMAP.AccessAsApp'],
    });
  });

  test('an opaque token (Google): the configured user and the scopes granted', () => {
    assert.deepEqual(summarizeToken(issued('ya29.opaque-token'), 'cfg@x'), { subject: 'cfg@x', audience: '', permissions: ['https://mail.google.com/'] });
  });
});
