// When to ask the authorization server again after a failed token request:
// exponential backoff with jitter for transient failures, never sooner than
// the server's Retry-After, and a long fixed pause for permanent ones (which
// a configuration change or an authorization ends sooner). Pure: the engine
// passes the failure count and its random source, so tests need no clock.
import { MAX_RETRY_AFTER_MS } from '../http/index.js';
import type { BrokerError } from '../errors/index.js';

export interface RetryPolicyOptions {
  /** Delay after the first transient failure, before jitter. */
  readonly baseDelayMs: number;
  /** Cap of the exponential backoff (a Retry-After may ask for longer, up to an hour). */
  readonly maxDelayMs: number;
  /** Delay after a permanent failure. */
  readonly permanentDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicyOptions = {
  baseDelayMs: 2_000,
  maxDelayMs: 300_000,
  permanentDelayMs: 3_600_000,
};

/**
 * Mailboxes throttled by the same answer would all come back at the same
 * instant; up to this share of the Retry-After is added at random to spread them.
 */
export const RETRY_AFTER_SPREAD = 0.1;

/**
 * How long to wait before the next token request after `failure`, the
 * `consecutiveFailures`-th in a row (1 = first). `random` returns [0,1).
 *
 * Transient: base·2^(n−1) capped at maxDelayMs, with equal jitter (half of
 * it fixed, half random, so it never drops to 0), and never less than the
 * server's Retry-After (capped at MAX_RETRY_AFTER_MS, one hour), to which up
 * to RETRY_AFTER_SPREAD of it is added at random (the sum capped at an hour).
 * Permanent: permanentDelayMs (no shorter than a Retry-After either).
 * `random` is called once, or twice when there is a Retry-After.
 */
export function retryDelayMs(
  failure: BrokerError,
  consecutiveFailures: number,
  random: () => number,
  options: RetryPolicyOptions = DEFAULT_RETRY_POLICY,
): number {
  const retryAfter = failure.retryAfterMs === undefined ? 0 : Math.min(Math.max(0, failure.retryAfterMs), MAX_RETRY_AFTER_MS);
  if (failure.permanent) return Math.max(options.permanentDelayMs, retryAfter);
  const attempt = Number.isFinite(consecutiveFailures) ? Math.max(1, Math.floor(consecutiveFailures)) : 1;
  // 2 ** 1100 is Infinity, which the cap turns into maxDelayMs.
  const backoff = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempt - 1));
  const jittered = backoff / 2 + (backoff / 2) * unit(random());
  if (retryAfter === 0) return Math.ceil(jittered);
  const spread = Math.min(retryAfter * (1 + RETRY_AFTER_SPREAD * unit(random())), MAX_RETRY_AFTER_MS);
  return Math.ceil(Math.max(jittered, spread));
}

/** `random()` clamped into [0,1): a broken source can shorten or lengthen a wait, never break the bounds. */
function unit(value: number): number {
  if (!Number.isFinite(value) || value <= 0) return 0;
  return value >= 1 ? 1 - Number.EPSILON : value;
}
