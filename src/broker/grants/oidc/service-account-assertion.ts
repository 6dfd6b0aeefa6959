// The signed JWT a Google service account trades for an access token
// (RFC 7523 JWT bearer grant, Google's "domain-wide delegation" when `sub`
// names a user). node:crypto signs it: one RS256 signature needs no library.
import { createPrivateKey, sign } from 'node:crypto';

export const JWT_BEARER_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** Google's maximum: an assertion may live one hour. */
export const ASSERTION_LIFETIME_SECONDS = 3600;

export interface ServiceAccountAssertionInput {
  /** The service account's e-mail address (`iss`). */
  readonly serviceAccount: string;
  /** The user to act as (`sub`); the mailbox's username. */
  readonly subject: string;
  /** The token endpoint (`aud`). */
  readonly audience: string;
  readonly scopes: readonly string[];
  /** Milliseconds since the epoch. */
  readonly now: number;
  /** PKCS#8 PEM of the service account's RSA key. */
  readonly privateKeyPem: string;
  /**
   * The key's id at Google (a JSON key's private_key_id), sent as `kid` so
   * Google checks the signature against that key of the account's (up to
   * ten). The PEM form has none: Google then tries the account's keys.
   */
  readonly keyId?: string;
}

export function serviceAccountAssertion(input: ServiceAccountAssertionInput): string {
  const key = createPrivateKey(input.privateKeyPem);
  if (key.asymmetricKeyType !== 'rsa') throw new Error(`a Google service account key is RSA; this one is ${key.asymmetricKeyType ?? 'unknown'}`);
  const iat = Math.floor(input.now / 1000);
  const header = input.keyId === undefined ? { alg: 'RS256', typ: 'JWT' } : { alg: 'RS256', typ: 'JWT', kid: input.keyId };
  const claims = {
    iss: input.serviceAccount,
    sub: input.subject,
    aud: input.audience,
    scope: input.scopes.join(' '),
    iat,
    exp: iat + ASSERTION_LIFETIME_SECONDS,
  };
  const signingInput = `${base64url(header)}.${base64url(claims)}`;
  return `${signingInput}.${sign('sha256', Buffer.from(signingInput), key).toString('base64url')}`;
}

function base64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
