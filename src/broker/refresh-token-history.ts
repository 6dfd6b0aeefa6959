// What a token line remembers about its refresh token for the token-death
// forecast (src/forecast): when the current value first arrived, the end the
// server stated for it, when the mailbox was last signed in to, and a sign-in
// frequency Entra stated (AADSTS70043). Kept in the line's store record, so a
// restart forgets none of it; records of earlier versions simply lack it.
import type { BrokerError } from '../errors/index.js';
import { parseSignInFrequency } from '../forecast/index.js';
import type { RefreshTokenFacts, StatedMaxLifetime } from '../forecast/index.js';
import type { MailboxRecord } from '../store/index.js';
import type { TokenResult } from './grants/index.js';

/** The record fields this history owns. */
export type HistoryFields = Pick<MailboxRecord, 'refreshTokenIssuedAt' | 'refreshTokenExpiresAt' | 'signedInAt' | 'statedMaxLifetime'>;

export class RefreshTokenHistory {
  #issuedAt: number | undefined;
  #expiresAt: number | undefined;
  #signedInAt: number | undefined;
  #statedMaxLifetime: StatedMaxLifetime | undefined;

  /**
   * A token answer arrived at `now`. `previous`: the refresh token held
   * before it; `signedIn`: it came from a sign-in (an authorization, or a
   * grant used without a refresh token), not from redeeming one.
   */
  noteAnswer(result: TokenResult, previous: string | undefined, signedIn: boolean, now: number): void {
    if (signedIn) this.#signedInAt = now;
    if (result.refreshToken === undefined) return;
    if (result.refreshToken !== previous) {
      // A new value: its own issue time, and only what the server said of it (a rotated token's stated end is not the old one's).
      this.#issuedAt = now;
      this.#expiresAt = result.refreshTokenExpiresAt;
    } else if (result.refreshTokenExpiresAt !== undefined) {
      this.#expiresAt = result.refreshTokenExpiresAt;
    }
  }

  /** A failure: AADSTS70043 states the sign-in frequency that ended the refresh token, which bounds every later sign-in too. */
  noteFailure(failure: BrokerError, now: number): void {
    if (failure.oauth?.aadsts !== '70043') return;
    const stated = parseSignInFrequency(failure.oauth.errorDescription, now);
    if (stated !== undefined) this.#statedMaxLifetime = stated;
  }

  /**
   * Whether a redemption at `now` outlived the stated sign-in frequency: the
   * policy no longer holds (an administrator changed it), so its forecast is
   * dropped rather than warning of a death that will not come. True when dropped.
   */
  outlivedStatedLifetime(now: number): boolean {
    const stated = this.#statedMaxLifetime;
    if (stated === undefined || this.#signedInAt === undefined || this.#signedInAt <= stated.statedAt) return false;
    if (now <= this.#signedInAt + stated.lifetimeMs) return false;
    this.#statedMaxLifetime = undefined;
    return true;
  }

  takeRecord(record: MailboxRecord): void {
    if (record.refreshTokenIssuedAt !== undefined) this.#issuedAt = record.refreshTokenIssuedAt;
    // The stated end belongs to the record's refresh token, which the line now holds: absent means none was stated.
    this.#expiresAt = record.refreshToken === undefined ? this.#expiresAt : record.refreshTokenExpiresAt;
    if (record.signedInAt !== undefined) this.#signedInAt = record.signedInAt;
    if (record.statedMaxLifetime !== undefined) this.#statedMaxLifetime = { ...record.statedMaxLifetime };
  }

  recordFields(): HistoryFields {
    const stated = this.#statedMaxLifetime;
    return {
      ...(this.#issuedAt === undefined ? {} : { refreshTokenIssuedAt: this.#issuedAt }),
      ...(this.#expiresAt === undefined ? {} : { refreshTokenExpiresAt: this.#expiresAt }),
      ...(this.#signedInAt === undefined ? {} : { signedInAt: this.#signedInAt }),
      ...(stated === undefined ? {} : { statedMaxLifetime: { ...stated } }),
    };
  }

  facts(hasRefreshToken: boolean, refreshTokenUsedAt: number | undefined): RefreshTokenFacts {
    return {
      hasRefreshToken,
      refreshTokenUsedAt,
      refreshTokenIssuedAt: this.#issuedAt,
      refreshTokenExpiresAt: this.#expiresAt,
      signedInAt: this.#signedInAt,
      statedMaxLifetime: this.#statedMaxLifetime,
    };
  }
}
