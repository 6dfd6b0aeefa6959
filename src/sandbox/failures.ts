// Failures queued by tests with `failNext` / `throttleNext`, consumed one
// token request at a time: how outages, throttling and revoked grants are
// simulated on demand. Shared by the Entra- and Google-shaped sandboxes,
// each with its own failure shape and answer bodies.

/** What every queued failure has, whichever server shape it imitates. */
export interface QueuedFailure {
  readonly status: number;
  /** Sent as the `Retry-After` header (seconds) when set. */
  readonly retryAfterSeconds?: number | undefined;
  /** Sent as the `Retry-After` header as is (an HTTP-date, or any text); wins over retryAfterSeconds. */
  readonly retryAfterHeader?: string | undefined;
  readonly count?: number | undefined;
}

/** A request for the server's own throttling answer, as `throttleNext` takes it. */
export interface ThrottleRequest {
  readonly status?: 429 | 503 | undefined;
  readonly retryAfter?: number | string | undefined;
  readonly count?: number | undefined;
}

interface Pending<F> {
  readonly failure: F;
  remaining: number;
}

export class FailureQueue<F extends QueuedFailure> {
  readonly #pending: Pending<F>[] = [];
  readonly #check: (failure: F) => void;

  /** `check` validates what only this server shape knows (error codes); status, count and Retry-After are checked here. */
  constructor(check: (failure: F) => void = () => undefined) {
    this.#check = check;
  }

  push(failure: F): void {
    checkCommon(failure);
    this.#check(failure);
    this.#pending.push({ failure: { ...failure }, remaining: failure.count ?? 1 });
  }

  /** The failure for this request, if any is queued. */
  take(): F | undefined {
    const head = this.#pending[0];
    if (head === undefined) return undefined;
    head.remaining -= 1;
    if (head.remaining <= 0) this.#pending.shift();
    return head.failure;
  }
}

/** The Retry-After header a queued failure asks for, if any. */
export function retryAfterHeader(failure: QueuedFailure): Record<string, string> {
  if (failure.retryAfterHeader !== undefined) return { 'retry-after': failure.retryAfterHeader };
  if (failure.retryAfterSeconds !== undefined) return { 'retry-after': String(failure.retryAfterSeconds) };
  return {};
}

/** The Retry-After fields of a failure from `throttleNext`'s `retryAfter` (seconds, or a header text). */
export function retryAfterFields(throttle: ThrottleRequest): Pick<QueuedFailure, 'retryAfterSeconds' | 'retryAfterHeader'> {
  const { retryAfter } = throttle;
  if (retryAfter === undefined) return {};
  return typeof retryAfter === 'number' ? { retryAfterSeconds: retryAfter } : { retryAfterHeader: retryAfter };
}

/** The status `throttleNext` answers with: 429 unless 503 is asked for. */
export function throttleStatus(throttle: ThrottleRequest): 429 | 503 {
  const status = throttle.status ?? 429;
  if (status !== 429 && status !== 503) throw new RangeError(`"status" must be 429 or 503, got ${String(status)}`);
  return status;
}

function checkCommon(failure: QueuedFailure): void {
  if (!Number.isInteger(failure.status) || failure.status < 400 || failure.status > 599) {
    throw new RangeError(`"status" must be an HTTP error status (400-599), got ${String(failure.status)}`);
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
  // Node refuses control characters in a header value; say so at the test's call instead of at the request.
  const header = failure.retryAfterHeader;
  if (header !== undefined && (typeof header !== 'string' || [...header].some((character) => character < ' ' || character === '\x7f'))) {
    throw new TypeError('"retryAfterHeader" must be a string without control characters');
  }
}
