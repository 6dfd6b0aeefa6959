// Opens a client certificate file (PEM with its private key, or PFX/PKCS#12)
// the way the grants will use it, so a wrong password, a key that belongs to
// another certificate or a wrong thumbprint shows at load time, not at the
// first token request. node:crypto reads PEM; node-forge unpacks PFX.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import type forgeModule from 'node-forge';
import { pemCertificateBlocks } from './pem.js';

type Forge = typeof forgeModule;
let forgeLoaded: Forge | undefined;

/** node-forge, loaded at the first PFX file: it takes about 40 ms to load, on every start and validate otherwise. */
function forgeLibrary(): Forge {
  forgeLoaded ??= createRequire(import.meta.url)('node-forge') as Forge;
  return forgeLoaded;
}

export interface CertificateInfo {
  /** Upper-case hex, no separators. */
  readonly sha1: string;
  readonly sha256: string;
  readonly certificatePem: string;
  /** Decrypted PKCS#8 PEM. */
  readonly privateKeyPem: string;
  readonly notBefore: number;
  readonly notAfter: number;
}

/** A failure, attributed to the key an operator must change. */
export interface CertificateFailure {
  readonly field: 'file' | 'password';
  readonly message: string;
}

const KEY_BLOCK = /-----BEGIN ((?:ENCRYPTED |RSA |EC )?PRIVATE KEY)-----[\s\S]+?-----END \1-----/;

export function inspectCertificate(data: Buffer, path: string, password: string | undefined): CertificateInfo | CertificateFailure {
  const text = data.toString('latin1');
  const opened = text.includes('-----BEGIN') ? openPem(text, path, password) : openPfx(data, path, password);
  if ('message' in opened) return opened;
  const certificate = opened.certificates.find((candidate) => candidate.checkPrivateKey(opened.key));
  if (certificate === undefined) return { field: 'file', message: `the private key in ${path} does not belong to its certificate; put the matching certificate and key together` };
  return {
    sha1: hex(certificate.fingerprint),
    sha256: hex(certificate.fingerprint256),
    certificatePem: certificate.toString(),
    privateKeyPem: opened.key.export({ type: 'pkcs8', format: 'pem' }).toString(),
    notBefore: Date.parse(certificate.validFrom),
    notAfter: Date.parse(certificate.validTo),
  };
}

type Opened = { readonly certificates: X509Certificate[]; readonly key: KeyObject } | CertificateFailure;

function openPem(text: string, path: string, password: string | undefined): Opened {
  const blocks = pemCertificateBlocks(text);
  if (blocks.length === 0) return { field: 'file', message: `${path} contains no certificate; give a PEM file with the certificate and its private key, or a PFX file` };
  const keyBlock = KEY_BLOCK.exec(text)?.[0];
  if (keyBlock === undefined) return { field: 'file', message: `${path} contains no private key; add it to the PEM file (after the certificate), or use a PFX file` };
  const encrypted = keyBlock.startsWith('-----BEGIN ENCRYPTED') || keyBlock.includes('Proc-Type: 4,ENCRYPTED');
  if (encrypted && password === undefined) {
    return { field: 'password', message: `the private key in ${path} is encrypted; set certificate.password or certificate.passwordFile` };
  }
  let certificates: X509Certificate[];
  try {
    certificates = blocks.map((block) => new X509Certificate(block));
  } catch {
    return { field: 'file', message: `${path} holds a certificate that cannot be parsed; export it again` };
  }
  try {
    return { certificates, key: createPrivateKey(encrypted ? { key: keyBlock, passphrase: password ?? '' } : { key: keyBlock }) };
  } catch {
    return encrypted
      ? { field: 'password', message: `cannot decrypt the private key in ${path}; check certificate.password` }
      : { field: 'file', message: `the private key in ${path} cannot be parsed; export it again` };
  }
}

function openPfx(data: Buffer, path: string, password: string | undefined): Opened {
  const forge = forgeLibrary();
  let pfx: forgeModule.pkcs12.Pkcs12Pfx;
  try {
    const asn1 = forge.asn1.fromDer(forge.util.createBuffer(data.toString('binary')));
    pfx = forge.pkcs12.pkcs12FromAsn1(asn1, password ?? '');
  } catch (error) {
    const message = error instanceof Error ? error.message : '';
    if (/password|MAC|decrypt/i.test(message)) {
      return password === undefined
        ? { field: 'password', message: `${path} is password-protected; set certificate.password or certificate.passwordFile` }
        : { field: 'password', message: `cannot open ${path} with the configured password; check certificate.password` };
    }
    return { field: 'file', message: `${path} is neither PEM nor a readable PFX/PKCS#12 file; export the certificate with its private key as .pfx or PEM` };
  }
  const certificates: X509Certificate[] = [];
  let key: KeyObject | undefined;
  try {
    for (const bag of pfx.safeContents.flatMap((contents) => contents.safeBags)) {
      if (bag.type === forge.pki.oids.certBag) {
        // forge parses only RSA certificates; for others it keeps the ASN.1, which node:crypto reads.
        const asn1 = bag.cert ? forge.pki.certificateToAsn1(bag.cert) : bag.asn1;
        certificates.push(new X509Certificate(Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary')));
      } else if (key === undefined && (bag.type === forge.pki.oids.keyBag || bag.type === forge.pki.oids.pkcs8ShroudedKeyBag)) {
        key = bag.key
          ? createPrivateKey(forge.pki.privateKeyToPem(bag.key))
          : createPrivateKey({ key: Buffer.from(forge.asn1.toDer(bag.asn1).getBytes(), 'binary'), format: 'der', type: 'pkcs8' });
      }
    }
  } catch {
    return { field: 'file', message: `${path} holds a certificate or key that cannot be parsed; export it again` };
  }
  if (certificates.length === 0) return { field: 'file', message: `${path} contains no certificate; export the certificate with its private key` };
  if (key === undefined) return { field: 'file', message: `${path} contains no private key; export the certificate with its private key` };
  return { certificates, key };
}

function hex(fingerprint: string): string {
  return fingerprint.replaceAll(':', '').toUpperCase();
}
