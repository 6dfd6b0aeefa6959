// Failures queued by tests with `failNext`, consumed one token request at a
// time: how outages, throttling and revoked grants are simulated on demand.
import type { InjectedFailure } from './types.js';

interface Pending {
  readonly failure: InjectedFailure;
  remaining: number;
}

export class FailureQueue {
  readonly #pending: Pending[] = [];

  push(failure: InjectedFailure): void {
    check(failure);
    this.#pending.push({ failure: { ...failure }, remaining: failure.count ?? 1 });
  }

  /** The failure for this request, if any is queued. */
  take(): InjectedFailure | undefined {
    const head = this.#pending[0];
    if (head === undefined) return undefined;
    head.remaining -= 1;
    if (head.remaining <= 0) this.#pending.shift();
    return head.failure;
  }
}

function check(failure: InjectedFailure): void {
  if (!Number.isInteger(failure.status) || failure.status < 400 || failure.status > 599) {
    throw new RangeError(`"status" must be an HTTP error status (400-599), got ${String(failure.status)}`);
  }
  if (typeof failure.error !== 'string' || failure.error.length === 0) {
    throw new TypeError('"error" must be a non-empty string');
  }
  if (!Number.isInteger(failure.aadsts) || failure.aadsts <= 0) {
    throw new RangeError(`"aadsts" must be a positive integer, got ${String(failure.aadsts)}`);
  }
  if (failure.count !== undefined && (!Number.isInteger(failure.count) || failure.count < 1)) {
    throw new RangeError(`"count" must be a positive integer, got ${String(failure.count)}`);
  }
  if (
    failure.retryAfterSeconds !== undefined &&
    (!Number.isInteger(failure.retryAfterSeconds) || failure.retryAfterSeconds < 0)
  ) {
    throw new RangeError(`"retryAfterSeconds" must be a non-negative integer, got ${String(failure.retryAfterSeconds)}`);
  }
}
