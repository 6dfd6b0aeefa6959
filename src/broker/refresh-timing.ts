// When tokens come due, as pure functions of the settings and the token, so
// the sweep, the cached path and the multi-instance re-read all agree, and
// tests reason about them with a manual clock.
import type { RefreshConfig } from '../config/index.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** The jitter spreads due times over up to this fraction of the refresh window. */
const JITTER_SHARE = 0.2;

/** The refresh settings in the units the engine uses; replaced as a whole on reload. */
export interface RefreshTiming {
  readonly leadTimeMs: number;
  readonly idleAfterMs: number;
  readonly keepAliveMs: number;
}

export function refreshTiming(config: RefreshConfig): RefreshTiming {
  return { leadTimeMs: config.leadTimeSeconds * 1000, idleAfterMs: config.idleAfterHours * HOUR_MS, keepAliveMs: config.keepAliveDays * DAY_MS };
}

/**
 * When a token is due for refresh: the lead time before expiry (never more
 * than half the token's life, or short-lived tokens would refresh on every
 * call), plus up to a fifth of that window of jitter, so tokens issued
 * together do not all come due together. The jitter is derived from the
 * line (mailbox, or shared application) and when the token was obtained, with
 * no randomness: restarts and every instance sharing a store see the same
 * due time, which is what lets them agree on one refresh per cycle.
 */
export function refreshDueAt(lineId: string, token: { readonly expiresAt: number; readonly obtainedAt: number }, leadTimeMs: number): number {
  const window = Math.min(leadTimeMs, (token.expiresAt - token.obtainedAt) / 2);
  return token.expiresAt - window - jitterFraction(lineId, token.obtainedAt) * window * JITTER_SHARE;
}

/** A stable number in [0, 1) from a name and a time (FNV-1a). */
export function jitterFraction(name: string, obtainedAt: number): number {
  let hash = 0x811c9dc5;
  for (const char of `${name}@${obtainedAt}`) {
    hash ^= char.charCodeAt(0);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash / 0x1_0000_0000;
}
