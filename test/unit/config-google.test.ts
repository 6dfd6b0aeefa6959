// Google-specific client authentication rules: service accounts for
// application access, client secrets for user clients.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadObject, triples } from '../support/config-helpers.js';

const base = { protocol: 'imap', authorizationServer: 'google', clientId: 'c.apps.googleusercontent.com', username: 'ada@example.com' };

describe('config: Google client authentication', () => {
  test('client-credentials with a client secret is refused, naming the service account way', async () => {
    const result = await loadObject({ mailboxes: { g: { ...base, grantType: 'client-credentials', clientSecret: 's' } } });
    assert.deepEqual(triples(result), [
      [
        'error',
        'mailboxes.g.authenticationMode',
        "Google has no client-credentials grant with a client secret: application-level access is a service account with domain-wide delegation; set credentialsFile to the service account's JSON key (or authenticationMode: certificate, certificate.file to its private key and certificate, clientId to its e-mail address)",
      ],
    ]);
  });

  test('authorization-code with a certificate is refused', async () => {
    const result = await loadObject({
      mailboxes: { g: { ...base, grantType: 'authorization-code', redirectUri: 'https://b.example/cb', authenticationMode: 'certificate', certificate: { file: '/nonexistent.pem', thumbprint: 'A'.repeat(40) } } },
    });
    const google = triples(result).filter(([, path]) => path === 'mailboxes.g.authenticationMode');
    assert.deepEqual(google, [['error', 'mailboxes.g.authenticationMode', 'Google OAuth clients authenticate with their client secret; use authenticationMode: client-secret']]);
  });

  test('authorization-code with a client secret is fine', async () => {
    const result = await loadObject({ mailboxes: { g: { ...base, grantType: 'authorization-code', redirectUri: 'https://b.example/cb', clientSecret: 's' } } });
    assert.deepEqual(triples(result), []);
  });
});
