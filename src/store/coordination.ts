// What several broker instances sharing one store need from it beyond
// records: a lock per name held across all of them, and news of the records
// the others wrote. Only redis provides it; the token store falls back to an
// in-process lock and silence for sqlite and memory.

export interface HeldLock {
  /** Never throws: a lock that cannot be given back expires by itself (and the failure is logged). */
  release(): Promise<void>;
}

export interface Locks {
  /**
   * Resolves once the lock `name` is held by the caller. Throws
   * LockWaitExceeded when someone else kept it for the whole wait, or
   * BackendFailure when the backend cannot be asked.
   */
  acquire(name: string): Promise<HeldLock>;
}

/**
 * Hears the name of each mailbox (or the id of each shared token line,
 * `app:<digest>`) whose record another instance wrote; undefined when
 * notices may have been missed (the listening connection was down and is
 * back): then every record that matters should be read again.
 */
export type ForeignWriteListener = (name: string | undefined) => void;

export interface WriteFeed {
  /** Tells the other instances this one wrote the record of `name` (a mailbox, or a shared line's id). Never throws (logs instead): the write itself has succeeded. */
  announce(name: string): Promise<void>;
  /** `listener` hears of the records other instances wrote (see ForeignWriteListener); returns the unsubscribe function. */
  subscribe(listener: ForeignWriteListener): () => void;
}

export interface StoreCoordination {
  readonly locks: Locks;
  readonly writes: WriteFeed;
}

/** The lock stayed with another holder for the whole wait. */
export class LockWaitExceeded extends Error {
  override readonly name = 'LockWaitExceeded';
  constructor(
    /** As the caller named it. */
    readonly lock: string,
    /** Where it lives, in terms an operator can act on, e.g. `redis key token-broker:lock:sales`. */
    readonly location: string,
    readonly waitedMs: number,
    /** How soon a holder that died lets it go. */
    readonly expiresAfterMs: number,
  ) {
    super(`the lock ${lock} was still held after ${waitedMs} ms`);
  }
}
