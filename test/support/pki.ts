// A throwaway certificate authority for TLS tests of the gRPC face: it issues
// a server certificate for localhost / 127.0.0.1 and client certificates
// with any subject, so mTLS is tested with real chains, not self-signed leaves.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

export interface IssuedCertificate {
  readonly certificatePem: string;
  readonly keyPem: string;
}

export interface TestAuthority {
  readonly certificatePem: string;
  /** A server certificate for localhost, 127.0.0.1 and ::1. */
  issueServer(): IssuedCertificate;
  /** A client certificate; `subject` lists [short name, value] in order, e.g. [['CN', 'connector-1'], ['O', 'Acme']]. */
  issueClient(subject: readonly (readonly [string, string])[]): IssuedCertificate;
}

const HOUR = 60 * 60 * 1000;

export function makeAuthority(name: string): TestAuthority {
  const caKeys = keyPair();
  const caSubject = [{ shortName: 'CN', value: name }];
  const ca = newCertificate(caKeys.publicKey);
  ca.setSubject(caSubject);
  ca.setIssuer(caSubject);
  ca.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  ca.sign(caKeys.privateKey, forge.md.sha256.create());

  const issue = (subject: { shortName: string; value: string }[], extensions: object[]): IssuedCertificate => {
    const keys = keyPair();
    const certificate = newCertificate(keys.publicKey);
    certificate.setSubject(subject);
    certificate.setIssuer(caSubject);
    certificate.setExtensions([
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      ...extensions,
      { name: 'authorityKeyIdentifier', keyIdentifier: ca.generateSubjectKeyIdentifier().getBytes() },
    ]);
    certificate.sign(caKeys.privateKey, forge.md.sha256.create());
    return { certificatePem: forge.pki.certificateToPem(certificate), keyPem: keys.pem };
  };

  return {
    certificatePem: forge.pki.certificateToPem(ca),
    issueServer: () =>
      issue(
        [{ shortName: 'CN', value: 'localhost' }],
        [
          { name: 'extKeyUsage', serverAuth: true },
          {
            name: 'subjectAltName',
            altNames: [
              { type: 2, value: 'localhost' },
              { type: 7, ip: '127.0.0.1' },
              { type: 7, ip: '::1' },
            ],
          },
        ],
      ),
    issueClient: (subject) => issue(subject.map(([shortName, value]) => ({ shortName, value })), [{ name: 'extKeyUsage', clientAuth: true }]),
  };
}

function keyPair(): { publicKey: forge.pki.rsa.PublicKey; privateKey: forge.pki.rsa.PrivateKey; pem: string } {
  // Native key generation: forge's own takes seconds.
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(pem);
  return { privateKey: forgeKey, publicKey: forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e), pem };
}

function newCertificate(publicKey: forge.pki.rsa.PublicKey): forge.pki.Certificate {
  const certificate = forge.pki.createCertificate();
  certificate.publicKey = publicKey;
  const serial = randomBytes(16);
  serial[0] = ((serial[0] ?? 0) & 0x7f) || 0x01;
  certificate.serialNumber = serial.toString('hex');
  certificate.validity.notBefore = new Date(Date.now() - HOUR);
  certificate.validity.notAfter = new Date(Date.now() + 24 * HOUR);
  return certificate;
}
