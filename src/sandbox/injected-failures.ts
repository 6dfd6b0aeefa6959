// The Entra side of `failNext` / `throttleNext`: what a queued failure must
// name (an OAuth error and an AADSTS number), and Entra's own throttling
// answers, so a test asks for "a 429 with Retry-After 7" and gets the body
// Entra would send with it.
import { entraErrors } from './entra-errors.js';
import { retryAfterFields, throttleStatus } from './failures.js';
import type { InjectedFailure, InjectedThrottle } from './types.js';

export function checkInjectedFailure(failure: InjectedFailure): void {
  if (typeof failure.error !== 'string' || failure.error.length === 0) {
    throw new TypeError('"error" must be a non-empty string');
  }
  if (!Number.isInteger(failure.aadsts) || failure.aadsts <= 0) {
    throw new RangeError(`"aadsts" must be a positive integer, got ${String(failure.aadsts)}`);
  }
}

export function throttleFailure(throttle: InjectedThrottle = {}): InjectedFailure {
  const answer = throttleStatus(throttle) === 503 ? entraErrors.serviceUnavailable() : entraErrors.tooManyRequests();
  return {
    status: answer.status,
    error: answer.error,
    aadsts: answer.aadsts,
    description: answer.message,
    ...retryAfterFields(throttle),
    ...(throttle.count === undefined ? {} : { count: throttle.count }),
  };
}
