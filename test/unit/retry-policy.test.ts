// The retry policy: exponential backoff with equal jitter for transient
// failures, the server's Retry-After as a floor, a fixed pause for permanent
// failures. Pure, so every bound is checked exactly, no clock involved.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_RETRY_POLICY, RETRY_AFTER_SPREAD, retryDelayMs } from '../../src/broker/retry-policy.js';
import type { RetryPolicyOptions } from '../../src/broker/retry-policy.js';
import { BrokerError } from '../../src/errors/index.js';
import { MAX_RETRY_AFTER_MS } from '../../src/http/index.js';

const transient = new BrokerError('mailbox sales: authorization server microsoft failed', { code: 'authorization_server_error' });
const permanent = new BrokerError('mailbox sales: wrong secret', { code: 'invalid_client', permanent: true });
const throttled = (retryAfterMs?: number): BrokerError => new BrokerError('mailbox sales: throttled', { code: 'throttled', retryAfterMs });
const options: RetryPolicyOptions = { baseDelayMs: 1_000, maxDelayMs: 60_000, permanentDelayMs: 1_800_000 };
const low = (): number => 0;
const high = (): number => 1 - Number.EPSILON;

/** A deterministic [0,1) sequence (mulberry32), so a failing run can be replayed. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

describe('retryDelayMs, transient failures', () => {
  test('the defaults: 2 s base, 5 min cap, 1 h after a permanent failure', () => {
    assert.deepEqual({ ...DEFAULT_RETRY_POLICY }, { baseDelayMs: 2_000, maxDelayMs: 300_000, permanentDelayMs: 3_600_000 });
    assert.equal(retryDelayMs(transient, 1, high), 2_000);
    assert.equal(retryDelayMs(transient, 30, high), 300_000);
    assert.equal(retryDelayMs(permanent, 1, high), 3_600_000);
  });

  test('the backoff doubles with each failure in a row until the cap (upper bound: random close to 1)', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => retryDelayMs(transient, n, high, options));
    assert.deepEqual(delays, [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]);
  });

  test('equal jitter: half is fixed, so the delay never drops below half the backoff (random 0)', () => {
    const delays = [1, 2, 3, 7, 50].map((n) => retryDelayMs(transient, n, low, options));
    assert.deepEqual(delays, [500, 1_000, 2_000, 30_000, 30_000]);
  });

  test('over many random values every delay stays within [backoff/2, backoff] and spreads across it', () => {
    const random = seeded(20260101);
    for (const n of [1, 2, 3, 4, 5, 6, 7, 10]) {
      const backoff = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (n - 1));
      const delays = Array.from({ length: 2_000 }, () => retryDelayMs(transient, n, random, options));
      for (const delay of delays) {
        assert.ok(Number.isInteger(delay), `whole milliseconds: ${delay}`);
        assert.ok(delay >= backoff / 2 && delay <= backoff, `failure ${n}: ${delay} outside [${backoff / 2}, ${backoff}]`);
      }
      const [min, max] = [Math.min(...delays), Math.max(...delays)];
      // Jitter that did nothing would pass the bounds; these prove the spread.
      assert.ok(min < backoff * 0.55, `failure ${n}: lowest ${min} is not near backoff/2`);
      assert.ok(max > backoff * 0.95, `failure ${n}: highest ${max} is not near the backoff`);
      assert.ok(new Set(delays).size > 100, `failure ${n}: too few distinct delays`);
    }
  });

  test('a huge failure count or a nonsense one cannot overflow or shrink the delay', () => {
    assert.equal(retryDelayMs(transient, 5_000, high, options), 60_000, '2 ** 4999 is Infinity: the cap holds');
    assert.equal(retryDelayMs(transient, 0, high, options), 1_000, 'counted as the first');
    assert.equal(retryDelayMs(transient, -3, high, options), 1_000);
    assert.equal(retryDelayMs(transient, Number.NaN, high, options), 1_000);
    assert.equal(retryDelayMs(transient, 2.9, high, options), 2_000);
  });

  test('a random source outside [0,1) is clamped, never breaking the bounds', () => {
    assert.equal(retryDelayMs(transient, 3, () => -5, options), 2_000);
    assert.equal(retryDelayMs(transient, 3, () => 7, options), 4_000);
    assert.equal(retryDelayMs(transient, 3, () => Number.NaN, options), 2_000);
  });
});

describe('retryDelayMs, Retry-After', () => {
  test('Retry-After is a floor: a first failure throttled for 7 s waits 7 s, not the 1 s backoff', () => {
    assert.equal(retryDelayMs(throttled(7_000), 1, low, options), 7_000);
  });

  test('with Retry-After below the backoff, the backoff wins', () => {
    assert.equal(retryDelayMs(throttled(1_000), 6, low, options), 16_000);
  });

  test('Retry-After above the backoff cap is still honoured (up to an hour)', () => {
    assert.equal(retryDelayMs(throttled(1_200_000), 1, low, options), 1_200_000, '20 min beats the 60 s cap');
  });

  test('a Retry-After beyond an hour waits an hour', () => {
    assert.equal(MAX_RETRY_AFTER_MS, 3_600_000);
    assert.equal(retryDelayMs(throttled(86_400_000), 1, high, options), 3_600_000);
  });

  test('over many random values: never below Retry-After, at most RETRY_AFTER_SPREAD above it', () => {
    const random = seeded(7);
    const delays = Array.from({ length: 2_000 }, () => retryDelayMs(throttled(7_000), 1, random, options));
    for (const delay of delays) assert.ok(delay >= 7_000 && delay <= 7_000 * (1 + RETRY_AFTER_SPREAD), String(delay));
    assert.ok(Math.max(...delays) > 7_500, 'mailboxes throttled together do not all come back together');
  });

  test('Retry-After 0 (a date already past) adds no floor', () => {
    assert.equal(retryDelayMs(throttled(0), 1, low, options), 500);
  });

  test('the floor applies to any transient failure that carries Retry-After, not only throttled', () => {
    const outage = new BrokerError('mailbox sales: HTTP 502', { code: 'authorization_server_error', retryAfterMs: 30_000 });
    assert.equal(retryDelayMs(outage, 1, low, options), 30_000);
  });
});

describe('retryDelayMs, permanent failures', () => {
  test('permanentDelayMs whatever the count and the random source', () => {
    for (const n of [1, 2, 10, 1_000]) {
      assert.equal(retryDelayMs(permanent, n, low, options), 1_800_000);
      assert.equal(retryDelayMs(permanent, n, high, options), 1_800_000);
    }
  });

  test('a Retry-After longer than the permanent pause is still honoured', () => {
    const refused = new BrokerError('mailbox sales: refused', { code: 'invalid_client', permanent: true, retryAfterMs: 2_400_000 });
    assert.equal(retryDelayMs(refused, 1, low, options), 2_400_000);
  });
});
