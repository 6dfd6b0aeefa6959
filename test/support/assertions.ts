// Assertions the node:test toolkit lacks: the BrokerError a promise rejects
// with, and a check retried until it holds (for effects that take a moment,
// never for timing claims).
import assert from 'node:assert/strict';
import { isBrokerError } from '../../src/errors/index.js';
import type { BrokerError } from '../../src/errors/index.js';

/** The BrokerError `promise` rejects with; fails the test if it resolves or rejects with anything else. */
export async function rejection(promise: Promise<unknown>): Promise<BrokerError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isBrokerError(error), `expected a BrokerError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a rejection');
}

/**
 * Runs `attempt` until it neither throws nor rejects, for at most `timeoutMs`;
 * then rethrows its last error. The default bound is generous on purpose: it
 * only ends a wait for something that will never happen, and CI may share
 * its cores with other work.
 */
export function eventually<T>(attempt: () => Promise<T> | T, timeoutMs = 30_000, pauseMs = 50): Promise<T> {
  return retryWhile(attempt, () => true, timeoutMs, pauseMs);
}

/** Runs `call` until it resolves; again while it rejects with an error `retry` accepts (for at most `timeoutMs`), any other error at once. */
export async function retryWhile<T>(call: () => Promise<T> | T, retry: (error: unknown) => boolean, timeoutMs = 30_000, pauseMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (!retry(error) || Date.now() > deadline) throw error;
      // A poll of a condition, not a wait standing for an event: the next check comes after this pause.
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }
}
