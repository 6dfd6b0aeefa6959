// authenticationMode certificate: the file (PEM with a plain or encrypted
// key, or PFX) is opened at load time, its fingerprint compared with the
// configured thumbprint, and its expiry checked against an injected clock.
// Certificates are generated per run in a mkdtemp folder.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { encryptedKeyPem, makeCertificate, pfx, withColons } from '../support/certificates.js';
import type { TestCertificate } from '../support/certificates.js';
import { CLIENT, configOf, loadObject, NOW, TENANT, tempDir, triples, writeFiles } from '../support/config-helpers.js';
import type { Expected } from '../support/config-helpers.js';

const DAY = 24 * 60 * 60 * 1000;
const C = 'mailboxes.m.certificate';

let dir = '';
let good: TestCertificate;
let other: TestCertificate;
let expired: TestCertificate;
let expiring: TestCertificate;

before(async () => {
  dir = await tempDir('config-cert-');
  good = makeCertificate(Date.UTC(2025, 0, 1), Date.UTC(2027, 0, 1));
  other = makeCertificate(Date.UTC(2025, 0, 1), Date.UTC(2027, 0, 1), 'other');
  expired = makeCertificate(Date.UTC(2024, 0, 1), Date.UTC(2025, 6, 1), 'expired');
  expiring = makeCertificate(Date.UTC(2025, 0, 1), NOW + 10 * DAY + 3600_000, 'expiring');
  await writeFiles(dir, {
    'app.pem': good.certificatePem + good.keyPem,
    'key-first.pem': good.keyPem + good.certificatePem,
    'encrypted.pem': good.certificatePem + encryptedKeyPem(good, 'pem-pass'),
    'app.pfx': pfx(good, 'pfx-pass'),
    'no-password.p12': pfx(good, ''),
    'chain.pem': other.certificatePem + good.certificatePem + good.keyPem,
    'cert-only.pem': good.certificatePem,
    'wrong-key.pem': good.certificatePem + other.keyPem,
    'expired.pem': expired.certificatePem + expired.keyPem,
    'expiring.pem': expiring.certificatePem + expiring.keyPem,
    'garbage.pfx': Buffer.from([0x30, 0x03, 0x02, 0x01, 0x03, 0xff, 0xfe]),
    'pfx-password': 'pfx-pass\n',
  });
});

function mailbox(certificate: Record<string, unknown>, grant: 'client-credentials' | 'authorization-code' = 'client-credentials'): Record<string, unknown> {
  return {
    protocol: 'imap',
    grantType: grant,
    tenantId: TENANT,
    clientId: CLIENT,
    authenticationMode: 'certificate',
    certificate,
    username: 'u@contoso.example',
    ...(grant === 'authorization-code' ? { redirectUri: 'https://broker.contoso.example/callback' } : {}),
  };
}

async function load(certificate: Record<string, unknown>, grant?: 'client-credentials' | 'authorization-code'): Promise<ReturnType<typeof loadObject>> {
  return loadObject({ mailboxes: { m: mailbox(certificate, grant) } }, { dir });
}

describe('config certificates: accepted', () => {
  const cases: { name: string; certificate: () => Record<string, unknown>; grant?: 'authorization-code' }[] = [
    { name: 'PEM, SHA-1 thumbprint as the Azure portal shows it', certificate: () => ({ file: 'app.pem', thumbprint: good.sha1 }) },
    { name: 'PEM, key first', certificate: () => ({ file: 'key-first.pem', thumbprint: good.sha1 }) },
    { name: 'SHA-1 with colons, lower case', certificate: () => ({ file: 'app.pem', thumbprint: withColons(good.sha1).toLowerCase() }) },
    { name: 'SHA-1 with spaces and the invisible mark Windows adds when copying', certificate: () => ({ file: 'app.pem', thumbprint: `\u200e${withColons(good.sha1).replaceAll(':', ' ')}` }) },
    { name: 'SHA-256 thumbprint', certificate: () => ({ file: 'app.pem', thumbprint: withColons(good.sha256) }) },
    { name: 'PEM with an encrypted key and its password', certificate: () => ({ file: 'encrypted.pem', thumbprint: good.sha1, password: 'pem-pass' }) },
    { name: 'PFX with its password from a file', certificate: () => ({ file: 'app.pfx', thumbprint: good.sha1, passwordFile: 'pfx-password' }) },
    { name: 'PFX without a password', certificate: () => ({ file: 'no-password.p12', thumbprint: good.sha1 }) },
    { name: 'a chain: the certificate that matches the key is the one', certificate: () => ({ file: 'chain.pem', thumbprint: good.sha1 }) },
    { name: 'authorization-code (web is the default in certificate mode)', certificate: () => ({ file: join(dir, 'app.pem'), thumbprint: good.sha1 }), grant: 'authorization-code' },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const result = await load(c.certificate(), c.grant);
      assert.deepEqual(triples(result), []);
      const m = configOf(result).mailboxes.get('m');
      assert.ok(m);
      const certificate = m.certificate;
      assert.equal(certificate?.sha1Thumbprint, good.sha1);
      assert.equal(certificate.sha256Thumbprint, good.sha256);
      assert.equal(certificate.notAfter, Date.UTC(2027, 0, 1));
      assert.match(certificate.certificatePem ?? '', /^-----BEGIN CERTIFICATE-----/);
      assert.match(certificate.privateKey?.reveal() ?? '', /^-----BEGIN PRIVATE KEY-----/);
      assert.equal(String(certificate.privateKey), '[redacted]');
      assert.match(certificate.file, /^\//);
      assert.equal(m.clientSecret, undefined);
      if (c.grant === 'authorization-code') assert.equal(m.redirectPlatform, 'web');
    });
  }

  test('the configured thumbprint is kept normalized', async () => {
    const m = configOf(await load({ file: 'app.pem', thumbprint: withColons(good.sha1).toLowerCase() })).mailboxes.get('m');
    assert.equal(m?.certificate?.thumbprint, good.sha1);
  });
});

describe('config certificates: refused', () => {
  const cases: { name: string; certificate: () => Record<string, unknown>; expect: () => Expected[] }[] = [
    {
      name: 'a SHA-1 thumbprint of another certificate quotes both',
      certificate: () => ({ file: 'app.pem', thumbprint: other.sha1 }),
      expect: () => [
        [
          'error',
          `${C}.thumbprint`,
          `does not match the certificate in ${join(dir, 'app.pem')}: configured ${other.sha1}, the file's SHA-1 thumbprint is ${good.sha1}; use the thumbprint of the certificate uploaded to the app registration, and the file that holds it`,
        ],
      ],
    },
    {
      name: 'a SHA-256 thumbprint of another certificate quotes SHA-256 too',
      certificate: () => ({ file: 'app.pem', thumbprint: other.sha256 }),
      expect: () => [
        [
          'error',
          `${C}.thumbprint`,
          `does not match the certificate in ${join(dir, 'app.pem')}: configured ${other.sha256}, the file's SHA-1 thumbprint is ${good.sha1}, its SHA-256 thumbprint is ${good.sha256}; use the thumbprint of the certificate uploaded to the app registration, and the file that holds it`,
        ],
      ],
    },
    {
      name: 'a PFX with the wrong certificate, too',
      certificate: () => ({ file: 'app.pfx', thumbprint: other.sha1, password: 'pfx-pass' }),
      expect: () => [
        [
          'error',
          `${C}.thumbprint`,
          `does not match the certificate in ${join(dir, 'app.pfx')}: configured ${other.sha1}, the file's SHA-1 thumbprint is ${good.sha1}; use the thumbprint of the certificate uploaded to the app registration, and the file that holds it`,
        ],
      ],
    },
    {
      name: 'a thumbprint that is not one',
      certificate: () => ({ file: 'app.pem', thumbprint: 'AB12' }),
      expect: () => [['error', `${C}.thumbprint`, 'must be a SHA-1 (40 hexadecimal digits) or SHA-256 (64) fingerprint; colons and spaces are allowed']],
    },
    {
      name: 'a missing file',
      certificate: () => ({ file: 'nope.pem', thumbprint: good.sha1 }),
      expect: () => [['error', `${C}.file`, `cannot read ${join(dir, 'nope.pem')} (ENOENT: no such file or directory); check the path and that the broker's user may read it`]],
    },
    {
      name: 'an encrypted key without a password',
      certificate: () => ({ file: 'encrypted.pem', thumbprint: good.sha1 }),
      expect: () => [['error', `${C}.password`, `the private key in ${join(dir, 'encrypted.pem')} is encrypted; set certificate.password or certificate.passwordFile`]],
    },
    {
      name: 'an encrypted key with the wrong password',
      certificate: () => ({ file: 'encrypted.pem', thumbprint: good.sha1, password: 'nope' }),
      expect: () => [['error', `${C}.password`, `cannot decrypt the private key in ${join(dir, 'encrypted.pem')}; check certificate.password`]],
    },
    {
      name: 'a PFX without its password',
      certificate: () => ({ file: 'app.pfx', thumbprint: good.sha1 }),
      expect: () => [['error', `${C}.password`, `${join(dir, 'app.pfx')} is password-protected; set certificate.password or certificate.passwordFile`]],
    },
    {
      name: 'a PFX with the wrong password',
      certificate: () => ({ file: 'app.pfx', thumbprint: good.sha1, password: 'nope' }),
      expect: () => [['error', `${C}.password`, `cannot open ${join(dir, 'app.pfx')} with the configured password; check certificate.password`]],
    },
    {
      name: 'neither PEM nor PFX',
      certificate: () => ({ file: 'garbage.pfx', thumbprint: good.sha1 }),
      expect: () => [['error', `${C}.file`, `${join(dir, 'garbage.pfx')} is neither PEM nor a readable PFX/PKCS#12 file; export the certificate with its private key as .pfx or PEM`]],
    },
    {
      name: 'a certificate without its key',
      certificate: () => ({ file: 'cert-only.pem', thumbprint: good.sha1 }),
      expect: () => [['error', `${C}.file`, `${join(dir, 'cert-only.pem')} contains no private key; add it to the PEM file (after the certificate), or use a PFX file`]],
    },
    {
      name: 'a key of another certificate',
      certificate: () => ({ file: 'wrong-key.pem', thumbprint: good.sha1 }),
      expect: () => [['error', `${C}.file`, `the private key in ${join(dir, 'wrong-key.pem')} does not belong to its certificate; put the matching certificate and key together`]],
    },
    {
      name: 'an expired certificate',
      certificate: () => ({ file: 'expired.pem', thumbprint: expired.sha1 }),
      expect: () => [
        ['error', `${C}.file`, `the certificate in ${join(dir, 'expired.pem')} expired on 2025-07-01T00:00:00.000Z; renew it, upload the new one to the app registration, and update file and thumbprint`],
      ],
    },
    {
      name: 'a certificate that expires within 30 days is a warning',
      certificate: () => ({ file: 'expiring.pem', thumbprint: expiring.sha1 }),
      expect: () => [
        [
          'warning',
          `${C}.file`,
          `the certificate in ${join(dir, 'expiring.pem')} expires on 2026-01-11T01:00:00.000Z (in 10 days); renew it and upload the new one to the app registration before then`,
        ],
      ],
    },
    {
      name: 'a password that is not a string',
      certificate: () => ({ file: 'app.pfx', thumbprint: good.sha1, password: 1234 }),
      expect: () => [['error', `${C}.password`, 'must be a string, not a number; put the value in quotes']],
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const result = await load(c.certificate());
      assert.deepEqual(triples(result), c.expect());
      assert.equal(result.ok, !c.expect().some(([severity]) => severity === 'error'));
    });
  }

  test('the clock decides: the same file is fine a year earlier', async () => {
    const result = await loadObject({ mailboxes: { m: mailbox({ file: 'expired.pem', thumbprint: expired.sha1 }) } }, { dir, now: () => Date.UTC(2024, 6, 1) });
    assert.deepEqual(triples(result), []);
  });

  test('no message quotes a certificate password', async () => {
    for (const certificate of [
      { file: 'app.pfx', thumbprint: good.sha1, password: 'secret-guess' },
      { file: 'encrypted.pem', thumbprint: good.sha1, password: 'secret-guess' },
    ]) {
      const result = await load(certificate);
      assert.equal(JSON.stringify(triples(result)).includes('secret-guess'), false);
    }
  });
});
