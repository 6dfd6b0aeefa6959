// The Google service-account assertion (RFC 7523): claims and RS256 signature.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, verify } from 'node:crypto';
import { ASSERTION_LIFETIME_SECONDS, serviceAccountAssertion } from '../../src/broker/grants/oidc/service-account-assertion.js';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const NOW = Date.UTC(2026, 0, 1, 12, 0, 0, 789);
const input = {
  serviceAccount: 'mail-reader@project.iam.gserviceaccount.com',
  subject: 'sales@example.com',
  audience: 'https://oauth2.googleapis.com/token',
  scopes: ['https://mail.google.com/'],
  now: NOW,
  privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
};

test('claims: service account as iss, mailbox user as sub, token endpoint as aud, one hour', () => {
  const [header = '', claims = '', signature = ''] = serviceAccountAssertion(input).split('.');
  assert.deepEqual(JSON.parse(Buffer.from(header, 'base64url').toString()), { alg: 'RS256', typ: 'JWT' });
  const iat = Math.floor(NOW / 1000);
  assert.deepEqual(JSON.parse(Buffer.from(claims, 'base64url').toString()), {
    iss: 'mail-reader@project.iam.gserviceaccount.com',
    sub: 'sales@example.com',
    aud: 'https://oauth2.googleapis.com/token',
    scope: 'https://mail.google.com/',
    iat,
    exp: iat + ASSERTION_LIFETIME_SECONDS,
  });
  assert.ok(verify('sha256', Buffer.from(`${header}.${claims}`), publicKey, Buffer.from(signature, 'base64url')));
});

test('a non-RSA key is refused with a reason', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  assert.throws(() => serviceAccountAssertion({ ...input, privateKeyPem: ec }), /a Google service account key is RSA; this one is ec/);
});

test('with a key file: kid = private_key_id in the header, aud = token_uri, iss = client_email, sub = the mailbox user', () => {
  const [header = '', claims = '', signature = ''] = serviceAccountAssertion({ ...input, keyId: '0123456789abcdef0123456789abcdef01234567', audience: 'https://oauth2.example.com/token' }).split('.');
  assert.deepEqual(JSON.parse(Buffer.from(header, 'base64url').toString()), { alg: 'RS256', typ: 'JWT', kid: '0123456789abcdef0123456789abcdef01234567' });
  const decoded = JSON.parse(Buffer.from(claims, 'base64url').toString()) as Record<string, unknown>;
  assert.equal(decoded['iss'], 'mail-reader@project.iam.gserviceaccount.com');
  assert.equal(decoded['sub'], 'sales@example.com');
  assert.equal(decoded['aud'], 'https://oauth2.example.com/token');
  assert.ok(verify('sha256', Buffer.from(`${header}.${claims}`), publicKey, Buffer.from(signature, 'base64url')));
});
