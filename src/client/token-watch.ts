// WatchToken that outlives the daemon: when the stream ends with UNAVAILABLE
// (broker restart or shutdown, dropped connection) it resubscribes after a
// capped, jittered backoff and keeps delivering to the same consumer, never a
// token older than one it already delivered. Statuses that retrying cannot
// fix end the watch with that status.
import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import type { ClientReadableStream, ServiceError, StatusObject } from '@grpc/grpc-js';
import type { TokenMessage__Output } from '../proto/index.js';
import { fromTokenMessage } from './messages.js';
import type { BrokerToken } from './messages.js';

export interface ReconnectOptions {
  /** Delay before the first resubscription, default 250 ms; doubled after each failed one. */
  readonly initialDelayMs?: number;
  /** Cap of the delay, default 10 s. Each delay is drawn between half of it and all of it (jitter). */
  readonly maxDelayMs?: number;
}

export interface WatchTokenOptions {
  /** Passed to the broker: the least validity a token is sent with (default: the broker's, 60 s). */
  readonly minValiditySeconds?: number;
  /**
   * Resubscribe after UNAVAILABLE or a stream that ends by itself (default
   * true). `false`: the watch ends with that status, as it did before.
   */
  readonly reconnect?: boolean | ReconnectOptions;
  /** Told before each resubscription: the attempt (1, 2, ...), the delay, and the status that ended the stream (undefined: it ended without one). */
  readonly onReconnect?: (attempt: number, delayMs: number, cause: ServiceError | undefined) => void;
}

export interface TokenWatch {
  /** Ends the watch; `onEnd` is then called with undefined. */
  cancel(): void;
}

/** How a WatchToken stream is opened: one call per (re)subscription. */
export type OpenWatchStream = (waitForReady: boolean) => ClientReadableStream<TokenMessage__Output>;

const DEFAULT_INITIAL_DELAY_MS = 250;
const DEFAULT_MAX_DELAY_MS = 10_000;

/**
 * A stream ended by these may work when opened again: the broker is
 * restarting or was unreachable; CANCELLED not asked for by us is a server
 * that went away mid-stream (grpc-js reports a forced shutdown's RST_STREAM
 * so); OK is a stream closed that should have stayed open. Everything else
 * (NOT_FOUND, PERMISSION_DENIED, UNAUTHENTICATED, INVALID_ARGUMENT,
 * FAILED_PRECONDITION: someone must act) ends the watch.
 */
function isRetryable(status: StatusObject): boolean {
  return status.code === GrpcStatus.UNAVAILABLE || status.code === GrpcStatus.CANCELLED || status.code === GrpcStatus.OK;
}

/** A token that is the one last delivered, or older than it, is not delivered again. */
export function isNewer(token: BrokerToken, last: BrokerToken | undefined): boolean {
  return last === undefined || (token.accessToken !== last.accessToken && token.expiresAt.getTime() >= last.expiresAt.getTime());
}

export function watchWithReconnect(
  open: OpenWatchStream,
  onToken: (token: BrokerToken) => void,
  onEnd: (error: ServiceError | undefined) => void,
  options: WatchTokenOptions,
): TokenWatch {
  const reconnect = options.reconnect ?? true;
  const backoff = typeof reconnect === 'object' ? reconnect : {};
  const initialDelay = Math.max(1, backoff.initialDelayMs ?? DEFAULT_INITIAL_DELAY_MS);
  const maxDelay = Math.max(initialDelay, backoff.maxDelayMs ?? DEFAULT_MAX_DELAY_MS);
  let last: BrokerToken | undefined;
  let stream: ClientReadableStream<TokenMessage__Output> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let failures = 0;
  let finished = false;

  const finish = (error: ServiceError | undefined): void => {
    if (finished) return;
    finished = true;
    onEnd(error);
  };

  const subscribe = (resubscription: boolean): void => {
    timer = undefined;
    let current: ClientReadableStream<TokenMessage__Output>;
    try {
      // A resubscription waits for the channel to connect (the daemon may still be starting) instead of failing at once.
      current = open(resubscription);
    } catch (error) {
      // The client was closed under the watch.
      finish(Object.assign(new Error((error as Error).message), { code: GrpcStatus.CANCELLED, details: (error as Error).message, metadata: new Metadata() }));
      return;
    }
    stream = current;
    let error: ServiceError | undefined;
    current.on('data', (message: TokenMessage__Output) => {
      failures = 0;
      const token = fromTokenMessage(message);
      if (finished || !isNewer(token, last)) return;
      last = token;
      onToken(token);
    });
    // grpc-js emits 'error' (non-OK only) just before 'status' (always): act once, on 'status'.
    current.on('error', (cause: ServiceError) => (error = cause));
    current.on('status', (status: StatusObject) => {
      if (stream !== current || finished) return;
      stream = undefined;
      if (reconnect === false || !isRetryable(status)) {
        finish(status.code === GrpcStatus.OK ? undefined : error);
        return;
      }
      failures += 1;
      const ceiling = Math.min(maxDelay, initialDelay * 2 ** (failures - 1));
      const delay = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
      options.onReconnect?.(failures, delay, error);
      timer = setTimeout(() => subscribe(true), delay);
    });
  };

  subscribe(false);
  return {
    cancel() {
      if (finished) return;
      clearTimeout(timer);
      const current = stream;
      stream = undefined;
      current?.cancel();
      // Asynchronously, as every other end is reported.
      queueMicrotask(() => finish(undefined));
    },
  };
}

/**
 * The same watch as an async iterator. A slow consumer gets the newest token,
 * not a backlog: tokens it had no time to take are superseded. A status that
 * ends the watch is thrown from the loop; `break` (or `signal`) ends it.
 */
export function iterateWatch(
  start: (onToken: (token: BrokerToken) => void, onEnd: (error: ServiceError | undefined) => void) => TokenWatch,
  signal?: AbortSignal,
): AsyncIterableIterator<BrokerToken> {
  let pending: BrokerToken | undefined;
  let ended: { readonly error: ServiceError | undefined } | undefined;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  const watch = start(
    (token) => {
      pending = token;
      notify();
    },
    (error) => {
      ended = { error };
      notify();
    },
  );
  const stop = (): void => watch.cancel();
  signal?.addEventListener('abort', stop, { once: true });
  if (signal?.aborted === true) stop();

  const iterator: AsyncIterableIterator<BrokerToken> = {
    async next(): Promise<IteratorResult<BrokerToken>> {
      for (;;) {
        if (pending !== undefined) {
          const value = pending;
          pending = undefined;
          return { value, done: false };
        }
        if (ended !== undefined) {
          signal?.removeEventListener('abort', stop);
          if (ended.error !== undefined) {
            const { error } = ended;
            ended = { error: undefined };
            throw error;
          }
          return { value: undefined, done: true };
        }
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
    return(): Promise<IteratorResult<BrokerToken>> {
      stop();
      signal?.removeEventListener('abort', stop);
      pending = undefined;
      ended ??= { error: undefined };
      return Promise.resolve({ value: undefined, done: true });
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
