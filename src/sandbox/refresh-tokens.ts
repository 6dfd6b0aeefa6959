// Refresh tokens: opaque random strings bound to a user session, rotated on
// every use (the one redeemed dies), revoked by a session generation bump,
// expired after 90 days without use or on a test's request.
import { randomBytes } from 'node:crypto';
import type { UserSession } from './user-sessions.js';

/** Entra's refresh tokens live 90 days from issuance; each use issues a new one, so the window slides. */
export const REFRESH_TOKEN_LIFETIME_MS = 90 * 24 * 60 * 60 * 1000;

export type RefreshTokenState = 'active' | 'redeemed' | 'expired';

export interface RefreshTokenRecord {
  readonly session: UserSession;
  /** Milliseconds since the epoch. */
  readonly issuedAt: number;
  /** The user's session generation at issuance; a later bump revokes this token. */
  readonly sessionGeneration: number;
  state: RefreshTokenState;
}

export class RefreshTokenStore {
  readonly #records = new Map<string, RefreshTokenRecord>();

  issue(session: UserSession, sessionGeneration: number, now: number): string {
    // Entra's are opaque too (`0.A...`, hundreds of characters): clients must not parse them.
    const token = `0.A${randomBytes(96).toString('base64url')}`;
    this.#records.set(token, { session, issuedAt: now, sessionGeneration, state: 'active' });
    return token;
  }

  find(token: string): RefreshTokenRecord | undefined {
    return this.#records.get(token);
  }

  /** Marks live tokens of the users `matches` selects as expired; returns how many. */
  expire(matches: (session: UserSession) => boolean): number {
    let expired = 0;
    for (const record of this.#records.values()) {
      if (record.state === 'active' && matches(record.session)) {
        record.state = 'expired';
        expired += 1;
      }
    }
    return expired;
  }
}
