// The Google side of `failNext` / `throttleNext`: a queued failure names an
// OAuth error, and throttling answers carry the body Google sends with them.
import { retryAfterFields, throttleStatus } from '../failures.js';
import { googleErrors } from './google-errors.js';
import type { JsonAnswer } from './context.js';
import type { GoogleInjectedFailure, GoogleInjectedThrottle } from './types.js';

export function checkInjectedFailure(failure: GoogleInjectedFailure): void {
  if (typeof failure.error !== 'string' || failure.error.length === 0) {
    throw new TypeError('"error" must be a non-empty string');
  }
}

export function throttleFailure(throttle: GoogleInjectedThrottle = {}): GoogleInjectedFailure {
  const answer = throttleStatus(throttle) === 503 ? googleErrors.backendFailure() : googleErrors.rateLimitExceeded();
  return {
    status: answer.status,
    error: answer.body.error,
    ...(answer.body.error_description === undefined ? {} : { description: answer.body.error_description }),
    ...retryAfterFields(throttle),
    ...(throttle.count === undefined ? {} : { count: throttle.count }),
  };
}

export function injectedAnswer(failure: GoogleInjectedFailure): JsonAnswer {
  return {
    status: failure.status,
    body: failure.description === undefined ? { error: failure.error } : { error: failure.error, error_description: failure.description },
  };
}
