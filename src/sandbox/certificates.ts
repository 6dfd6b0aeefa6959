// The sandbox's own little PKI: a throwaway CA and a server certificate for
// localhost signed by it, so that clients test real TLS verification with an
// extra trust anchor (a broker config's caFile) instead of disabling it; and
// self-signed client certificates for certificate credentials.
import forge from 'node-forge';
import { X509Certificate, createHash, randomBytes, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { generateRsaKeyPair } from './rsa-keys.js';
import type { RsaKeyPair } from './rsa-keys.js';

export interface TlsMaterial {
  readonly caCertificatePem: string;
  readonly serverCertificatePem: string;
  readonly serverKeyPem: string;
}

const SHA256_WITH_RSA_ENCRYPTION = '1.2.840.113549.1.1.11';
const HOUR_MS = 60 * 60 * 1000;
const YEAR_MS = 365 * 24 * HOUR_MS;

/**
 * Validity uses the real time on purpose, not the sandbox's injected clock:
 * TLS clients check certificates against the wall clock.
 */
export async function createTlsMaterial(now: number = Date.now(), extraHostnames: readonly string[] = []): Promise<TlsMaterial> {
  const [caKeys, serverKeys] = await Promise.all([generateRsaKeyPair(), generateRsaKeyPair()]);
  const notBefore = new Date(now - HOUR_MS);
  const notAfter = new Date(now + YEAR_MS);

  const ca = newCertificate(caKeys, notBefore, notAfter);
  const caName = [
    { name: 'commonName', value: 'Token Broker Sandbox CA' },
    { name: 'organizationName', value: 'mailbox-token-broker sandbox' },
  ];
  ca.setSubject(caName);
  ca.setIssuer(caName);
  ca.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  signWith(ca, caKeys.privateKey);

  const server = newCertificate(serverKeys, notBefore, notAfter);
  server.setSubject([{ name: 'commonName', value: 'localhost' }]);
  server.setIssuer(caName);
  server.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        { type: 2, value: 'localhost' }, // dNSName
        ...extraHostnames.map((value) => ({ type: 2, value })),
        { type: 7, ip: '127.0.0.1' }, // iPAddress
        { type: 7, ip: '::1' },
      ],
    },
    { name: 'subjectKeyIdentifier' },
    // forge's `keyIdentifier: true` would use the leaf's own key: name the CA's.
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.generateSubjectKeyIdentifier().getBytes() },
  ]);
  signWith(server, caKeys.privateKey);

  return {
    caCertificatePem: forge.pki.certificateToPem(ca),
    serverCertificatePem: forge.pki.certificateToPem(server),
    serverKeyPem: serverKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/** A key pair and self-signed certificate an app registration can hold (`certificates`) and a client can sign assertions with. */
export interface ClientCertificate {
  readonly certificatePem: string;
  /** PKCS#8 PEM, what msal-node's `clientCertificate.privateKey` takes. */
  readonly privateKeyPem: string;
  /** SHA-1 of the DER certificate, upper-case hex: the Windows thumbprint, msal-node's legacy `thumbprint`. */
  readonly thumbprintSha1: string;
  /** SHA-256 of the DER certificate, upper-case hex: msal-node's `thumbprintSha256`. */
  readonly thumbprintSha256: string;
}

export async function createClientCertificate(commonName = 'token-broker sandbox client', now: number = Date.now()): Promise<ClientCertificate> {
  const keys = await generateRsaKeyPair();
  const certificate = newCertificate(keys, new Date(now - HOUR_MS), new Date(now + YEAR_MS));
  const name = [{ name: 'commonName', value: commonName }];
  certificate.setSubject(name);
  certificate.setIssuer(name);
  certificate.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, critical: true },
    { name: 'extKeyUsage', clientAuth: true },
  ]);
  signWith(certificate, keys.privateKey);
  const certificatePem = forge.pki.certificateToPem(certificate);
  const der = new X509Certificate(certificatePem).raw;
  return {
    certificatePem,
    privateKeyPem: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    thumbprintSha1: createHash('sha1').update(der).digest('hex').toUpperCase(),
    thumbprintSha256: createHash('sha256').update(der).digest('hex').toUpperCase(),
  };
}

function newCertificate(keys: RsaKeyPair, notBefore: Date, notAfter: Date): forge.pki.Certificate {
  const certificate = forge.pki.createCertificate();
  certificate.publicKey = forge.pki.publicKeyFromPem(keys.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  certificate.serialNumber = positiveSerialNumber();
  certificate.validity.notBefore = notBefore;
  certificate.validity.notAfter = notAfter;
  return certificate;
}

// Present in node-forge, missing from its type definitions.
const { getTBSCertificate } = forge.pki as unknown as {
  getTBSCertificate(this: void, certificate: forge.pki.Certificate): forge.asn1.Asn1;
};

/**
 * What `certificate.sign()` does, but signing natively: forge's pure-JS RSA
 * takes 40-80 ms per signature, a third of the sandbox's start-up.
 */
function signWith(certificate: forge.pki.Certificate, issuerKey: KeyObject): void {
  certificate.signatureOid = SHA256_WITH_RSA_ENCRYPTION;
  certificate.siginfo.algorithmOid = certificate.signatureOid;
  certificate.tbsCertificate = getTBSCertificate(certificate);
  const tbsDer = Buffer.from(forge.asn1.toDer(certificate.tbsCertificate).getBytes(), 'binary');
  // forge keeps signatures as binary strings.
  certificate.signature = sign('sha256', tbsDer, issuerKey).toString('binary');
}

/**
 * 16 random bytes, first byte in 1..0x7f: DER integers are signed (serials
 * must be positive) and minimal (no leading zero byte).
 */
function positiveSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) || 0x01;
  return bytes.toString('hex');
}
