// RSA key generation for the sandbox. Keys come from node:crypto (native and
// fast), asynchronously so the three keys of a start are made in parallel on
// the libuv thread pool; node-forge's pure-JS generator would take seconds.
import { generateKeyPair } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

export interface RsaKeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export function generateRsaKeyPair(): Promise<RsaKeyPair> {
  return new Promise((resolve, reject) => {
    generateKeyPair('rsa', { modulusLength: 2048, publicExponent: 0x10001 }, (error, publicKey, privateKey) => {
      if (error) reject(error);
      else resolve({ publicKey, privateKey });
    });
  });
}
