// Group commit: writes wait in one queue and are committed a batch at a time,
// one transaction per batch (sqlite: one statement, ~4 fsyncs for the lot
// instead of per record; redis: one MULTI). While a batch commits, new writes
// gather for the next, so no fixed delay is needed. Each caller's promise
// settles with the batch that carries its write: resolved only once committed.
import { BackendFailure } from './backend-failure.js';
import type { BackendEntry, StoreBackend } from './keyv-backend.js';

/** More records than this go in the next batch: bounds one statement's size (about 1 KB a record). */
export const DEFAULT_MAX_BATCH = 500;
/** A batch that fails for a reason that may pass (SQLITE_BUSY, redis reconnecting) is tried this often in all. */
const MAX_ATTEMPTS = 3;
const FIRST_BACKOFF_MS = 100;

/** What onBatch hears of each committed batch. */
export interface CommittedBatch {
  /** Records written and removed: one transaction on sqlite when only one of them is non-zero. */
  readonly writes: number;
  readonly deletes: number;
  /** Callers served by it; more than writes + deletes when writes to one key were coalesced. */
  readonly callers: number;
  readonly attempts: number;
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: BackendFailure) => void;
}

interface QueuedWrite {
  /** undefined: remove the key. */
  value: string | undefined;
  ttlMs: number | undefined;
  /** When its first caller queued it: the deadline of every caller on it counts from here. */
  readonly since: number;
  readonly waiters: Waiter[];
}

export interface WriteBatcherOptions {
  readonly backend: Pick<StoreBackend, 'writeMany'>;
  /** Longest wait of one caller, in the queue and in the commit together. */
  readonly operationTimeoutMs: number;
  /** 1 writes every record in a transaction of its own (the bench's "before"). */
  readonly maxBatch?: number;
  readonly onBatch?: (batch: CommittedBatch) => void;
  /** A write outlived its deadline and the next ones wait for it: said once per such write. */
  readonly onLateWrite?: (waitedMs: number) => void;
  readonly now?: () => number;
}

export class WriteBatcher {
  /** The next batch, in arrival order; the latest value per key wins (Map keeps a key's first position). */
  readonly #queue = new Map<string, QueuedWrite>();
  readonly #options: WriteBatcherOptions;
  readonly #maxBatch: number;
  readonly #now: () => number;
  /** Set and cleared synchronously, so a write queued from a settling caller's continuation is never left without a drain. */
  #running = false;
  #draining: Promise<void> = Promise.resolve();
  /** Fails queued writes whose callers waited the whole operation timeout (the commit ahead of them is stuck). */
  #watchdog: NodeJS.Timeout | undefined;

  constructor(options: WriteBatcherOptions) {
    this.#options = options;
    this.#maxBatch = Math.max(1, options.maxBatch ?? DEFAULT_MAX_BATCH);
    this.#now = options.now ?? Date.now;
  }

  /** Resolves once `value` (or a later value of `key`) is committed; undefined removes the key. Rejects with BackendFailure. */
  write(key: string, value: string | undefined, ttlMs?: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const queued = this.#queue.get(key);
      if (queued === undefined) {
        this.#queue.set(key, { value, ttlMs, since: this.#now(), waiters: [{ resolve, reject }] });
      } else {
        // Coalesced: the earlier caller is served by this later value, which is what last-write-wins would leave anyway.
        queued.value = value;
        queued.ttlMs = ttlMs;
        queued.waiters.push({ resolve, reject });
      }
      this.#armWatchdog();
      if (!this.#running) {
        this.#running = true;
        this.#draining = this.#drain();
      }
    });
  }

  /** Resolves when every write queued so far has settled (close waits for it). */
  async flush(): Promise<void> {
    while (this.#running) await this.#draining;
  }

  async #drain(): Promise<void> {
    try {
      // Writes issued in one synchronous run (a token line's members, Promise.all over many puts) share the first
      // batch. A microtask, not a timer: a write of the memory store still settles within the current turn.
      await Promise.resolve();
      while (this.#queue.size > 0) {
        const batch: [string, QueuedWrite][] = [];
        for (const entry of this.#queue) {
          batch.push(entry);
          if (batch.length >= this.#maxBatch) break;
        }
        for (const [key] of batch) this.#queue.delete(key);
        await this.#commit(batch);
      }
    } finally {
      this.#running = false;
      this.#disarmWatchdog();
    }
  }

  /** Never throws: every outcome goes to the batch's callers. */
  async #commit(batch: readonly [string, QueuedWrite][]): Promise<void> {
    const sets: BackendEntry[] = [];
    const deletes: string[] = [];
    for (const [key, { value, ttlMs }] of batch) {
      if (value === undefined) deletes.push(key);
      else sets.push({ key, value, ttlMs });
    }
    const { operationTimeoutMs } = this.#options;
    const deadline = Math.min(...batch.map(([, queued]) => queued.since)) + operationTimeoutMs;
    let attempts = 0;
    let failure: BackendFailure;
    for (;;) {
      attempts++;
      const write = this.#options.backend.writeMany(sets, deletes);
      const outcome = await settleWithin(write, deadline - this.#now());
      if (outcome === 'committed') {
        for (const [, queued] of batch) for (const waiter of queued.waiters) waiter.resolve();
        this.#options.onBatch?.({ writes: sets.length, deletes: deletes.length, callers: batch.reduce((sum, [, queued]) => sum + queued.waiters.length, 0), attempts });
        return;
      }
      if (outcome === 'late') {
        failure = new BackendFailure(`no answer within ${operationTimeoutMs} ms`);
        settle(batch, failure);
        // The write may still commit. Until it has settled nothing else is written: a later batch could hold a newer
        // refresh token for the same mailbox, and this one landing after it would put back a token already dead.
        const started = this.#now();
        this.#options.onLateWrite?.(started - (deadline - operationTimeoutMs));
        await write.catch(() => undefined);
        return;
      }
      failure = outcome;
      // Bounded twice: a few attempts (a store that is down fails its callers soon, and the token line keeps the
      // record to write again) and the callers' deadline.
      const backoff = FIRST_BACKOFF_MS * 2 ** (attempts - 1);
      if (attempts >= MAX_ATTEMPTS || !mayPass(failure) || this.#now() + backoff >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, backoff));
    }
    settle(batch, failure);
  }

  #armWatchdog(): void {
    if (this.#watchdog !== undefined) return;
    const oldest = this.#queue.values().next().value;
    if (oldest === undefined) return;
    const delay = Math.max(0, oldest.since + this.#options.operationTimeoutMs - this.#now());
    this.#watchdog = setTimeout(() => {
      this.#watchdog = undefined;
      const now = this.#now();
      const expired = new BackendFailure(`no answer within ${this.#options.operationTimeoutMs} ms`);
      for (const [key, queued] of this.#queue) {
        if (queued.since + this.#options.operationTimeoutMs > now) break;
        this.#queue.delete(key);
        for (const waiter of queued.waiters) waiter.reject(expired);
      }
      this.#armWatchdog();
    }, delay);
  }

  #disarmWatchdog(): void {
    clearTimeout(this.#watchdog);
    this.#watchdog = undefined;
  }
}

function settle(batch: readonly [string, QueuedWrite][], failure: BackendFailure): void {
  // One failure object for the whole batch: the token store tells its listeners once, not once per caller.
  for (const [, queued] of batch) for (const waiter of queued.waiters) waiter.reject(failure);
}

/** 'committed', 'late' when no answer came within `timeoutMs`, or the failure. */
async function settleWithin(write: Promise<void>, timeoutMs: number): Promise<'committed' | 'late' | BackendFailure> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), Math.max(0, timeoutMs))));
  try {
    return await Promise.race([
      write.then(
        () => 'committed' as const,
        (error: unknown) => (error instanceof BackendFailure ? error : new BackendFailure(error instanceof Error ? error.message : String(error), error)),
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Whether trying again soon may succeed: a busy or locked SQLite file, a
 * full disk or an I/O error, a redis connection that drops or is coming
 * back. Not a closed store, nor a SQLite file that is read-only, moved,
 * missing or damaged: those wait for an operator.
 */
function mayPass(failure: BackendFailure): boolean {
  if (failure.reason === 'the store has been closed') return false;
  if (/^SQLITE_/.test(failure.reason)) return /^SQLITE_(BUSY|LOCKED|FULL|IOERR)/.test(failure.reason);
  return true;
}
