// PKCE (RFC 7636, S256) and state values for interactive authorizations.
// Written here rather than taken from a library: it is three lines of
// node:crypto, and both msal-node and openid-client flows need the same ones.
import { createHash, randomBytes } from 'node:crypto';

export function randomUrlSafe(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export function pkceChallenge(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

/** How long a started authorization may take before completion is refused. */
export const AUTHORIZATION_LIFETIME_MS = 10 * 60 * 1000;
