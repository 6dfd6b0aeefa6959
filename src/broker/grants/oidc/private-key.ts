// Turns the mailbox certificate's private key (PKCS#8 PEM, as the config
// loader hands it over) into the WebCrypto key openid-client signs with.
// Node 20 has no KeyObject.toCryptoKey, so the key goes through its DER.
import { createPrivateKey } from 'node:crypto';
import type { CryptoKey } from 'openid-client';

const EC_CURVES: Readonly<Record<string, string>> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

export async function signingKey(pkcs8Pem: string): Promise<CryptoKey> {
  const key = createPrivateKey(pkcs8Pem);
  const der = key.export({ type: 'pkcs8', format: 'der' });
  if (key.asymmetricKeyType === 'rsa') {
    // RS256: what every server that accepts private_key_jwt supports.
    return crypto.subtle.importKey('pkcs8', der, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);
  }
  const curve = key.asymmetricKeyType === 'ec' ? EC_CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''] : undefined;
  if (curve !== undefined) return crypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: curve }, false, ['sign']);
  throw new Error(`the certificate's ${key.asymmetricKeyType ?? 'unknown'} key cannot sign a client assertion; use an RSA or EC (P-256/384/521) key`);
}
