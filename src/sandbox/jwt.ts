// RS256 JWTs signed with the sandbox's own key, and the JWKS that publishes
// it: enough for clients and tests to validate tokens the way they would
// validate Entra's, without any JOSE library.
import { createHash, sign, verify } from 'node:crypto';
import type { JsonWebKey, KeyObject } from 'node:crypto';
import { generateRsaKeyPair } from './rsa-keys.js';

export interface PublicJwk {
  kty: string;
  use: 'sig';
  alg: 'RS256';
  kid: string;
  n: string;
  e: string;
}

export class TokenSigner {
  readonly kid: string;
  readonly #privateKey: KeyObject;
  readonly #publicKey: KeyObject;
  readonly #jwk: PublicJwk;

  private constructor(privateKey: KeyObject, publicKey: KeyObject) {
    this.#privateKey = privateKey;
    this.#publicKey = publicKey;
    const { kty, n, e } = publicKey.export({ format: 'jwk' }) as JsonWebKey & { kty: string; n: string; e: string };
    // RFC 7638 thumbprint: stable for the key, and what `kid` conventionally is.
    this.kid = createHash('sha256').update(JSON.stringify({ e, kty, n })).digest('base64url');
    this.#jwk = { kty, use: 'sig', alg: 'RS256', kid: this.kid, n, e };
  }

  static async create(): Promise<TokenSigner> {
    const { privateKey, publicKey } = await generateRsaKeyPair();
    return new TokenSigner(privateKey, publicKey);
  }

  get jwks(): { keys: PublicJwk[] } {
    return { keys: [{ ...this.#jwk }] };
  }

  sign(claims: object): string {
    const header = { typ: 'JWT', alg: 'RS256', kid: this.kid };
    const signingInput = `${base64urlJson(header)}.${base64urlJson(claims)}`;
    const signature = sign('sha256', Buffer.from(signingInput), this.#privateKey);
    return `${signingInput}.${signature.toString('base64url')}`;
  }

  /**
   * The payload of a JWT this signer made, or undefined when the token is
   * malformed, names another key or algorithm, or its signature fails.
   * Time-based checks are the caller's: it owns the clock.
   */
  verify(token: string): Record<string, unknown> | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const [encodedHeader = '', encodedPayload = '', encodedSignature = ''] = parts;
    const header = parseJsonObject(encodedHeader);
    if (header?.['alg'] !== 'RS256' || header['kid'] !== this.kid) return undefined;
    const signature = Buffer.from(encodedSignature, 'base64url');
    const signingInput = Buffer.from(`${encodedHeader}.${encodedPayload}`);
    if (!verify('sha256', signingInput, this.#publicKey, signature)) return undefined;
    return parseJsonObject(encodedPayload);
  }
}

function base64urlJson(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** The JSON object a base64url JWT segment holds, or undefined when it holds anything else. */
export function parseJsonObject(encoded: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
