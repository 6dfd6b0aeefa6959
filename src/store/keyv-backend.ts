// The storage under the encryption: one keyv instance, reduced to
// get/set/delete of opaque strings, one at a time or many at once. Every
// failure, including an answer that never comes, becomes a BackendFailure
// with a reason fit for an operator; the token store turns it into
// store_unavailable.
import { Keyv } from 'keyv';
import type { DeserializedData, KeyvStoreAdapter } from 'keyv';
import { BackendFailure, bounded, failureReason } from './backend-failure.js';
import type { StoreCoordination } from './coordination.js';

/** Written and removed to prove a store writable (at open; sqlite and memory health checks too). */
export const WRITE_CHECK_KEY = 'meta:write-check';

export interface BackendEntry {
  readonly key: string;
  readonly value: string;
  /** As for set(). */
  readonly ttlMs?: number | undefined;
}

export interface StoreBackend {
  /** What to check when it is unavailable. */
  readonly hint: string;
  /** Where a key lives, in terms an operator can act on (to delete a damaged record by hand). */
  locate(key: string): string;
  get(key: string): Promise<string | undefined>;
  /** `ttlMs`: redis expires the key by itself; sqlite and memory keep it (the token store checks expiry on read). */
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  delete(key: string): Promise<void>;
  /** One value (or undefined) per key, in the order given: one round trip (sqlite one query, redis MGET). */
  getMany(keys: readonly string[]): Promise<(string | undefined)[]>;
  /**
   * Writes `sets` and removes `deletes` (no key in both) as few transactions
   * as the backend allows: sqlite one statement each, redis one MULTI. Not
   * bounded by the operation timeout: the write batcher (write-batcher.ts)
   * bounds the wait, and waits for a late write to settle before starting
   * the next, so an old write can never land over a newer one.
   */
  writeMany(sets: readonly BackendEntry[], deletes: readonly string[]): Promise<void>;
  /**
   * Resolves when the store answers now: redis a PING; sqlite and memory a
   * write and its removal (a sqlite file whose folder went away still reads,
   * but refuses every write). Throws BackendFailure.
   */
  probe(): Promise<void>;
  /** Only where several broker instances may share the store (redis): locks across them, and news of their writes. */
  readonly coordination?: StoreCoordination;
  /** Closes the coordination too. */
  close(): Promise<void>;
}

/**
 * A keyv whose stored value is exactly our envelope string: keyv's own JSON
 * wrapper (and its `expires` field, judged by the wall clock) would only
 * wrap text that is already JSON, and the token store judges expiry by its
 * injected clock. Keys are used as given (no keyv prefix); redis prefixes
 * them with `token-broker:` in the adapter.
 */
export function keyvOver(store: KeyvStoreAdapter | Map<string, unknown>, namespace: string | undefined): Keyv<string> {
  return new Keyv<string>({
    store,
    namespace,
    useKeyPrefix: false,
    throwOnErrors: true,
    serialize: (data) => String(data.value),
    deserialize: <Value>(text: string): DeserializedData<Value> => ({ value: text as unknown as Value }),
  });
}

export interface KeyvBackendOptions {
  /** Longest wait for one operation. */
  readonly operationTimeoutMs: number;
  readonly hint: string;
  readonly locate: (key: string) => string;
  /** The client's last complaint, when the adapter's own error is vaguer. */
  readonly lastError?: () => string | undefined;
  /** Replaces the write check of probe(): redis answers a PING without touching a key. */
  readonly ping?: () => Promise<unknown>;
  /** Replaces keyv.disconnect(): redis needs a bounded, graceful close. */
  readonly disconnect?: () => Promise<void>;
  readonly coordination?: StoreCoordination;
  /**
   * Replaces keyv.setMany(): @keyv/sqlite has no setMany, and keyv's fallback
   * is one set (one transaction, ~4 fsyncs) per key. Unbounded, as writeMany.
   */
  readonly setMany?: (entries: readonly BackendEntry[]) => Promise<void>;
  /**
   * Runs before and after every write: throws BackendFailure when a write
   * would not (or did not) reach the store the URL names (sqlite: the file
   * was moved or deleted; in WAL mode SQLite itself goes on writing to it).
   */
  readonly checkWritable?: () => Promise<void>;
}

export class KeyvBackend implements StoreBackend {
  readonly hint: string;
  readonly locate: (key: string) => string;
  readonly coordination: StoreCoordination | undefined;
  readonly #keyv: Keyv<string>;
  readonly #options: KeyvBackendOptions;
  #closed = false;

  constructor(keyv: Keyv<string>, options: KeyvBackendOptions) {
    this.#keyv = keyv;
    this.#options = options;
    this.hint = options.hint;
    this.locate = options.locate;
    this.coordination = options.coordination;
  }

  async get(key: string): Promise<string | undefined> {
    const value = await this.#run(() => this.#keyv.get(key));
    return typeof value === 'string' ? value : undefined;
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    await this.#run(async () => {
      await this.#options.checkWritable?.();
      const stored = await this.#keyv.set(key, value, ttlMs);
      // keyv reports some failures as `false` rather than by throwing.
      if (!stored) throw new BackendFailure(this.#options.lastError?.() ?? 'the write was not acknowledged');
      await this.#options.checkWritable?.();
    });
  }

  async delete(key: string): Promise<void> {
    await this.#run(async () => {
      await this.#options.checkWritable?.();
      await this.#keyv.delete(key);
    });
  }

  async getMany(keys: readonly string[]): Promise<(string | undefined)[]> {
    if (keys.length === 0) return [];
    const values = await this.#run(() => this.#keyv.getMany([...keys]));
    return keys.map((_, index) => {
      const value = values[index];
      return typeof value === 'string' ? value : undefined;
    });
  }

  async writeMany(sets: readonly BackendEntry[], deletes: readonly string[]): Promise<void> {
    if (this.#closed) throw new BackendFailure('the store has been closed');
    try {
      const { setMany, checkWritable } = this.#options;
      await checkWritable?.();
      if (sets.length > 0) {
        if (setMany !== undefined) await setMany(sets);
        else {
          // redis: one MULTI/EXEC (@keyv/redis setMany); memory: keyv sets the Map key by key.
          const stored: unknown = await this.#keyv.setMany(sets.map(({ key, value, ttlMs }) => ({ key, value, ttl: ttlMs })));
          // keyv answers `false` for an entry it could not write rather than throwing (its fallback path); the redis adapter answers nothing.
          if (Array.isArray(stored) && stored.includes(false)) throw new BackendFailure(this.#options.lastError?.() ?? 'the write was not acknowledged');
        }
      }
      // sqlite: one DELETE ... json_each statement; redis: one MULTI.
      if (deletes.length > 0) await this.#keyv.deleteMany([...deletes]);
      // A file moved during the write took it along: not durable where the next start looks.
      await checkWritable?.();
    } catch (error) {
      if (error instanceof BackendFailure) throw error;
      throw new BackendFailure(failureReason(error, this.#options.lastError), error);
    }
  }

  async probe(): Promise<void> {
    const { ping } = this.#options;
    if (ping !== undefined) {
      await this.#run(ping);
      return;
    }
    await this.set(WRITE_CHECK_KEY, 'ok');
    await this.delete(WRITE_CHECK_KEY);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await (this.#options.disconnect?.() ?? this.#keyv.disconnect());
  }

  async #run<T>(operation: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new BackendFailure('the store has been closed');
    return bounded(operation, this.#options.operationTimeoutMs, this.#options.lastError);
  }
}
