// credentialFingerprint: what makes stored tokens unusable for a changed
// mailbox (another client, tenant, user, server or credential) and what
// deliberately does not (sharedMailbox, proxy, scope order, redirectUri).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { Secret } from '../../src/config/index.js';
import type { MailboxConfig } from '../../src/config/index.js';
import { credentialFingerprint } from '../../src/store/index.js';
import { TEST_SERVER, testMailbox } from '../support/mailbox.js';

const BASE = testMailbox({ clientSecret: new Secret('client-secret-value-1', 'test') });
const CERTIFICATE = { file: '/etc/token-broker/app.pem', thumbprint: 'AB'.repeat(20) };

describe('credentialFingerprint', () => {
  test('is stable: the same config gives the same 64 hex digits, today and after an upgrade', () => {
    const fingerprint = credentialFingerprint(BASE);
    assert.match(fingerprint, /^[0-9a-f]{64}$/);
    assert.equal(credentialFingerprint(testMailbox({ clientSecret: new Secret('client-secret-value-1', 'elsewhere') })), fingerprint);
    // Pinned: a change here makes every mailbox of every installation obtain new tokens once after upgrading. Do it on purpose only.
    assert.equal(fingerprint, GOLDEN);
  });

  const changes: [string, Partial<MailboxConfig>][] = [
    ['clientId', { clientId: '00000000-0000-0000-0000-000000000099' }],
    ['tenantId', { tenantId: '00000000-0000-0000-0000-000000000098' }],
    ['tenantId removed', { tenantId: undefined }],
    ['grantType', { grantType: 'authorization-code' }],
    ['a scope added', { scopes: ['https://outlook.office365.com/.default', 'offline_access'] }],
    ['a scope replaced', { scopes: ['https://graph.microsoft.com/.default'] }],
    ['username', { username: 'support@contoso.example' }],
    ['username case', { username: 'Sales@contoso.example' }],
    ['the client secret', { clientSecret: new Secret('client-secret-value-2', 'test') }],
    ['the client secret removed', { clientSecret: undefined }],
    ['a password added (ropc)', { password: new Secret('hunter2', 'test') }],
    ['authenticationMode', { authenticationMode: 'certificate' }],
    ['authenticationMode with a certificate', { authenticationMode: 'certificate', clientSecret: undefined, certificate: CERTIFICATE }],
    ['redirectPlatform', { redirectPlatform: 'desktop' }],
    ['server name', { authorizationServer: { ...TEST_SERVER, name: 'microsoft-gov' } }],
    ['authorityHost (national cloud)', { authorizationServer: { ...TEST_SERVER, authorityHost: 'https://login.microsoftonline.us' } }],
    ['server type', { authorizationServer: { ...TEST_SERVER, type: 'generic' } }],
    ['token endpoint', { authorizationServer: { ...TEST_SERVER, tokenEndpoint: 'https://idp.example/token' } }],
    ['issuer', { authorizationServer: { ...TEST_SERVER, issuer: 'https://idp.example' } }],
    ['authorization endpoint', { authorizationServer: { ...TEST_SERVER, authorizationEndpoint: 'https://idp.example/authorize' } }],
    ['device authorization endpoint', { authorizationServer: { ...TEST_SERVER, deviceAuthorizationEndpoint: 'https://idp.example/device' } }],
  ];
  for (const [name, overrides] of changes) {
    test(`changes with ${name}`, () => {
      assert.notEqual(credentialFingerprint({ ...BASE, ...overrides }), credentialFingerprint(BASE));
    });
  }

  test('changes with a new certificate thumbprint, and prefers the SHA-256 read from the file', () => {
    const withCertificate = { ...BASE, authenticationMode: 'certificate', clientSecret: undefined } as const;
    const first = credentialFingerprint({ ...withCertificate, certificate: CERTIFICATE });
    assert.notEqual(credentialFingerprint({ ...withCertificate, certificate: { ...CERTIFICATE, thumbprint: 'CD'.repeat(20) } }), first);
    const fromFile = { ...CERTIFICATE, sha256Thumbprint: 'EF'.repeat(32) };
    assert.equal(credentialFingerprint({ ...withCertificate, certificate: fromFile }), credentialFingerprint({ ...withCertificate, certificate: { ...fromFile, thumbprint: '12'.repeat(20) } }));
  });

  const same: [string, Partial<MailboxConfig>][] = [
    ['sharedMailbox (the token belongs to username or the application)', { sharedMailbox: 'shared@contoso.example' }],
    ['proxy (the route, not the credentials)', { proxy: { name: 'corp', url: 'http://proxy.corp.example:3128' } }],
    ['scope order and duplicates', { scopes: ['offline_access', 'https://outlook.office365.com/.default', 'offline_access'] }],
    ['protocol (the scopes say what the token is for)', { protocol: 'smtp' }],
    ['redirectUri', { redirectUri: 'http://localhost:8400/callback' }],
    ['the mailbox name (it is the record key)', { name: 'sales-renamed' }],
    ['caFile of the server', { authorizationServer: { ...TEST_SERVER, caFile: '/etc/ca.pem', caCertificates: ['-----BEGIN CERTIFICATE-----'] } }],
    ['default scopes of the server (only the resolved scopes count)', { authorizationServer: { ...TEST_SERVER, scopes: { imap: ['x'] } } }],
  ];
  for (const [name, overrides] of same) {
    test(`does not change with ${name}`, () => {
      const base = { ...BASE, scopes: ['https://outlook.office365.com/.default', 'offline_access'] };
      assert.equal(credentialFingerprint({ ...base, ...overrides }), credentialFingerprint(base));
    });
  }

  test('does not change with the certificate password (the thumbprint names the certificate)', () => {
    const withCertificate = { ...BASE, authenticationMode: 'certificate', clientSecret: undefined, certificate: CERTIFICATE } as const;
    assert.equal(
      credentialFingerprint({ ...withCertificate, certificate: { ...CERTIFICATE, password: new Secret('pfx-password', 'test') } }),
      credentialFingerprint(withCertificate),
    );
  });

  test('holds no secret, nor its plain sha256', () => {
    const secret = 'client-secret-value-1';
    const fingerprint = credentialFingerprint(BASE);
    assert.equal(fingerprint.includes(secret), false);
    assert.notEqual(fingerprint, createHash('sha256').update(secret).digest('hex'));
  });
});

const GOLDEN = 'c99de258acf2f43432187eebc3065a4d69437ade2ae50362abf9e70aecd2d643';

test('a Google key file: a new private_key_id changes the fingerprint; mailboxes without one keep theirs', () => {
  const base = testMailbox();
  const withKey = (privateKeyId: string): MailboxConfig =>
    testMailbox({ serviceAccountKey: { file: '/etc/sa.json', clientEmail: 'robot@p.iam.gserviceaccount.com', privateKeyId, privateKey: new Secret('-----BEGIN PRIVATE KEY-----', 'test'), tokenUri: 'https://oauth2.googleapis.com/token' } });
  assert.notEqual(credentialFingerprint(withKey('k1')), credentialFingerprint(withKey('k2')));
  assert.notEqual(credentialFingerprint(withKey('k1')), credentialFingerprint(base));
});
