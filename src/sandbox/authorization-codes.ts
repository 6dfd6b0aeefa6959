// Authorization codes: single use, ten minutes on the sandbox clock, bound to
// the client, the redirect URI and (with PKCE) the code challenge.
import { createHash, randomBytes } from 'node:crypto';
import type { UserSession } from './user-sessions.js';

export const AUTHORIZATION_CODE_LIFETIME_MS = 10 * 60 * 1000;

export type CodeChallengeMethod = 'S256' | 'plain';

export interface AuthorizationCodeRecord {
  readonly session: UserSession;
  readonly redirectUri: string;
  readonly codeChallenge: string | undefined;
  readonly codeChallengeMethod: CodeChallengeMethod;
  readonly nonce: string | undefined;
  readonly issuedAt: number;
  redeemed: boolean;
}

export class AuthorizationCodeStore {
  readonly #records = new Map<string, AuthorizationCodeRecord>();

  issue(record: Omit<AuthorizationCodeRecord, 'redeemed'>): string {
    const code = `1.A${randomBytes(64).toString('base64url')}`;
    this.#records.set(code, { ...record, redeemed: false });
    return code;
  }

  find(code: string): AuthorizationCodeRecord | undefined {
    return this.#records.get(code);
  }
}

/** RFC 7636 4.6. */
export function verifierMatches(record: AuthorizationCodeRecord, verifier: string | undefined): boolean {
  if (record.codeChallenge === undefined) return true;
  if (verifier === undefined) return false;
  const derived = record.codeChallengeMethod === 'S256' ? createHash('sha256').update(verifier).digest('base64url') : verifier;
  return derived === record.codeChallenge;
}
