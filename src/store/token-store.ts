// The token store: records in, encrypted envelopes out, over any backend.
// Reads never hide a problem: a record that exists but cannot be read is an
// error naming it, never "no record" (that would silently discard tokens).
import type { ForeignWriteListener } from './coordination.js';
import type { Logger } from 'pino';
import { BrokerError } from '../errors/index.js';
import type { Clock } from '../time/index.js';
import { seal, unseal } from './envelope.js';
import type { RecordAddress } from './envelope.js';
import type { KeyRing } from './key-ring.js';
import { BackendFailure } from './backend-failure.js';
import { LockWaitExceeded } from './coordination.js';
import type { HeldLock, Locks } from './coordination.js';
import { InProcessLocks } from './in-process-locks.js';
import { WriteBatcher } from './write-batcher.js';
import type { CommittedBatch } from './write-batcher.js';
import type { StoreBackend } from './keyv-backend.js';
import { parseRecord, serializeRecord } from './records.js';
import type { LineRecord, MailboxRecord, PendingAuthorizationRecord, RecordKind, RecordTypes } from './records.js';
import { lockNotTaken, mailboxOf, recordInvalid, recordName, storeUnavailable, unknownKey } from './store-errors.js';

export interface TokenStore {
  /** e.g. `sqlite:///var/lib/token-broker/tokens.sqlite` or `redis://host:6379/0`: for messages; never holds a password. */
  readonly description: string;
  /** Throws store_unavailable, store_key_invalid or store_record_invalid; undefined only when there is no record. */
  getMailbox(mailbox: string): Promise<MailboxRecord | undefined>;
  /**
   * The records of `mailboxes` in one pass (a query per 1,000: sqlite one
   * SELECT, redis one MGET), for start-up. A mailbox without a record is
   * absent from the map; one whose record cannot be read maps to the error
   * getMailbox would throw (store_key_invalid, store_record_invalid), never
   * to "no record". Throws store_unavailable when the store cannot be read.
   */
  getMailboxes(mailboxes: readonly string[]): Promise<Map<string, MailboxRecord | BrokerError>>;
  /**
   * The records of mailboxes and of shared token lines in one pass, as
   * getMailboxes (a query per 1,000 keys of either kind): what the broker
   * reads at start. Absent: no record; an error: the record cannot be read.
   */
  getRecords(wanted: RecordsWanted): Promise<StoredRecords>;
  /** The one record of shared token line `line` (`app:<digest>`); throws as getMailbox. */
  getLine(line: string): Promise<LineRecord | undefined>;
  /** As putMailbox; other instances hear of it under the line's id (which no mailbox name can be: they have no `:`). */
  putLine(line: string, record: LineRecord): Promise<void>;
  /** Batched as putMailbox. */
  deleteLine(line: string): Promise<void>;
  /**
   * Durable when it resolves (sqlite: committed; redis: acknowledged).
   * Concurrent writers: the last write wins. Writes are committed in batches
   * (one transaction each), and a caller's promise settles with the batch
   * carrying its write: a failed batch fails each of its callers
   * (store_unavailable), after a few tries when the failure may pass.
   */
  putMailbox(mailbox: string, record: MailboxRecord): Promise<void>;
  /** Batched as putMailbox. */
  deleteMailbox(mailbox: string): Promise<void>;
  /** Undefined when there is none or it has expired (an expired one is deleted). */
  getPendingAuthorization(mailbox: string): Promise<PendingAuthorizationRecord | undefined>;
  /** Expires by itself at record.expiresAt; one already expired is not stored (and replaces any older one). */
  putPendingAuthorization(mailbox: string, record: PendingAuthorizationRecord): Promise<void>;
  deletePendingAuthorization(mailbox: string): Promise<void>;
  /**
   * True when other broker instances may use this store at the same time
   * (redis). The engine then refreshes a token only under withLock, after
   * re-reading the record, and follows the writes of the others (onForeignWrite).
   */
  readonly shared: boolean;
  /**
   * Runs `work` while holding the lock `name` across every instance sharing
   * the store; waits while another holds it. A holder that dies frees it
   * within seconds (expiry); a live holder keeps it for as long as work runs.
   * Single-instance stores run `work` under an in-process lock.
   * Throws store_unavailable when the lock cannot be had.
   */
  withLock<T>(name: string, work: () => Promise<T>): Promise<T>;
  /**
   * Calls `listener` with the mailbox name (or the shared line's id,
   * `app:<digest>`) whenever another instance wrote that record (never for this instance's own writes), and with
   * undefined when such news may have been missed (redis: the listening
   * connection is back after an outage). Returns the unsubscribe function.
   * Single-instance stores never call it.
   */
  onForeignWrite(listener: ForeignWriteListener): () => void;
  /**
   * Resolves when the store answers now (redis: PING; sqlite: a write and its
   * removal); throws store_unavailable naming the store, the reason and what
   * to check. For health checks: nothing a caller needs depends on it.
   */
  probe(): Promise<void>;
  /**
   * Calls `listener` whenever a read, write, delete or lock of a caller fails
   * because the store cannot be reached (store_unavailable; not a lock another
   * holder keeps). Returns the unsubscribe function.
   */
  onUnavailable(listener: (error: BrokerError) => void): () => void;
  close(): Promise<void>;
}

/** What getRecords reads: mailbox names and shared line ids. */
export interface RecordsWanted {
  readonly mailboxes?: readonly string[];
  readonly lines?: readonly string[];
}

/** What getRecords found, by mailbox name and by line id. */
export interface StoredRecords {
  readonly mailboxes: Map<string, MailboxRecord | BrokerError>;
  readonly lines: Map<string, LineRecord | BrokerError>;
}

export interface TokenStoreParts {
  readonly description: string;
  readonly backend: StoreBackend;
  readonly keys: KeyRing;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Longest wait of one write, queued and committed together. */
  readonly operationTimeoutMs: number;
  /** Most records per transaction; 1 commits each on its own. Default DEFAULT_MAX_BATCH. */
  readonly maxBatch?: number | undefined;
  readonly onBatch?: ((batch: CommittedBatch) => void) | undefined;
}

/** Records per read at start-up: bounds one query's size and the memory it holds at once. */
const READ_CHUNK = 1_000;

export class EncryptedTokenStore implements TokenStore {
  readonly description: string;
  readonly shared: boolean;
  readonly #backend: StoreBackend;
  /** Across instances when the backend coordinates them (redis); else within this process. */
  readonly #locks: Locks;
  readonly #keys: KeyRing;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #unavailableListeners = new Set<(error: BrokerError) => void>();
  readonly #writes: WriteBatcher;
  readonly #operationTimeoutMs: number;
  /** Backend failures already told to the listeners: a failed batch is one failure, however many callers it had. */
  readonly #told = new WeakSet<object>();

  constructor(parts: TokenStoreParts) {
    this.description = parts.description;
    this.#backend = parts.backend;
    this.#keys = parts.keys;
    this.#clock = parts.clock;
    this.#logger = parts.logger;
    this.shared = parts.backend.coordination !== undefined;
    this.#locks = parts.backend.coordination?.locks ?? new InProcessLocks();
    this.#operationTimeoutMs = parts.operationTimeoutMs;
    this.#writes = new WriteBatcher({
      backend: parts.backend,
      operationTimeoutMs: parts.operationTimeoutMs,
      maxBatch: parts.maxBatch,
      onBatch: parts.onBatch,
      onLateWrite: (waitedMs) =>
        this.#logger.warn(
          { store: this.description, waitedMs },
          `token store ${this.description}: a write got no answer within ${parts.operationTimeoutMs} ms; its callers were told it failed, and later writes wait until it ends so it cannot land over them`,
        ),
    });
  }

  async getMailboxes(mailboxes: readonly string[]): Promise<Map<string, MailboxRecord | BrokerError>> {
    return (await this.getRecords({ mailboxes })).mailboxes;
  }

  async getRecords(wanted: RecordsWanted): Promise<StoredRecords> {
    const found: StoredRecords = { mailboxes: new Map(), lines: new Map() };
    const addresses: (RecordAddress & { kind: 'mailbox' | 'line' })[] = [
      ...(wanted.mailboxes ?? []).map((name) => ({ kind: 'mailbox' as const, name })),
      ...(wanted.lines ?? []).map((name) => ({ kind: 'line' as const, name })),
    ];
    for (let start = 0; start < addresses.length; start += READ_CHUNK) {
      const chunk = addresses.slice(start, start + READ_CHUNK);
      let sealed: (string | undefined)[];
      try {
        sealed = await this.#backend.getMany(chunk.map(keyOf));
      } catch (error) {
        throw this.#unavailable(error, `read ${chunk.length} records`);
      }
      for (const [index, address] of chunk.entries()) {
        const value = sealed[index];
        if (value === undefined) continue;
        const records = address.kind === 'mailbox' ? found.mailboxes : found.lines;
        try {
          records.set(address.name, this.#open(address, value));
        } catch (error) {
          // Only BrokerErrors come out of #open; anything else is a bug and goes up.
          if (!(error instanceof BrokerError)) throw error;
          records.set(address.name, error);
        }
      }
    }
    return found;
  }

  getMailbox(mailbox: string): Promise<MailboxRecord | undefined> {
    return this.#read({ kind: 'mailbox', name: mailbox });
  }

  async putMailbox(mailbox: string, record: MailboxRecord): Promise<void> {
    await this.#write({ kind: 'mailbox', name: mailbox }, record);
    await this.#backend.coordination?.writes.announce(mailbox);
  }

  async deleteMailbox(mailbox: string): Promise<void> {
    await this.#delete({ kind: 'mailbox', name: mailbox });
    await this.#backend.coordination?.writes.announce(mailbox);
  }

  getLine(line: string): Promise<LineRecord | undefined> {
    return this.#read({ kind: 'line', name: line });
  }

  async putLine(line: string, record: LineRecord): Promise<void> {
    await this.#write({ kind: 'line', name: line }, record);
    await this.#backend.coordination?.writes.announce(line);
  }

  async deleteLine(line: string): Promise<void> {
    await this.#delete({ kind: 'line', name: line });
    await this.#backend.coordination?.writes.announce(line);
  }

  async getPendingAuthorization(mailbox: string): Promise<PendingAuthorizationRecord | undefined> {
    const address = { kind: 'pending', name: mailbox } as const;
    const record = await this.#read(address);
    if (record === undefined || record.expiresAt > this.#clock.now()) return record;
    // Redis drops it by itself at about this time; sqlite and memory keep it until someone looks.
    await this.#delete(address);
    return undefined;
  }

  async putPendingAuthorization(mailbox: string, record: PendingAuthorizationRecord): Promise<void> {
    const address = { kind: 'pending', name: mailbox } as const;
    // Whole milliseconds: redis' PX takes nothing else.
    const ttlMs = Math.ceil(record.expiresAt - this.#clock.now());
    if (ttlMs <= 0) return this.#delete(address);
    return this.#write(address, record, ttlMs);
  }

  deletePendingAuthorization(mailbox: string): Promise<void> {
    return this.#delete({ kind: 'pending', name: mailbox });
  }

  async withLock<T>(name: string, work: () => Promise<T>): Promise<T> {
    let held: HeldLock;
    try {
      held = await this.#locks.acquire(name);
    } catch (error) {
      if (error instanceof LockWaitExceeded) throw lockNotTaken(this.description, error.lock, error.location, error.waitedMs, error.expiresAfterMs);
      throw this.#unavailable(error, `take the lock ${name}`);
    }
    try {
      return await work();
    } finally {
      await held.release();
    }
  }

  onForeignWrite(listener: ForeignWriteListener): () => void {
    return this.#backend.coordination?.writes.subscribe(listener) ?? (() => undefined);
  }

  async probe(): Promise<void> {
    try {
      await this.#backend.probe();
    } catch (error) {
      throw this.#unavailable(error, 'complete a health check', undefined, false);
    }
  }

  onUnavailable(listener: (error: BrokerError) => void): () => void {
    // Wrapped: the same listener subscribed twice is two subscriptions.
    const entry = (error: BrokerError): void => listener(error);
    this.#unavailableListeners.add(entry);
    return () => this.#unavailableListeners.delete(entry);
  }

  async close(): Promise<void> {
    // Writes already queued are committed (or fail) before the connection goes; bounded, because a write
    // without an answer (redis hung) is awaited by the batcher, and closing the connection is what ends it.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#writes.flush(), new Promise((resolve) => (timer = setTimeout(resolve, this.#operationTimeoutMs)))]);
    clearTimeout(timer);
    await this.#backend.close();
  }

  async #read<K extends RecordKind>(address: RecordAddress & { kind: K }): Promise<RecordTypes[K] | undefined> {
    const key = keyOf(address);
    const sealed = await this.#backendCall(() => this.#backend.get(key), `read ${recordName(address)}`, address);
    if (sealed === undefined) return undefined;
    return this.#open(address, sealed);
  }

  /** Decrypts and checks one stored value. Throws store_key_invalid or store_record_invalid. */
  #open<K extends RecordKind>(address: RecordAddress & { kind: K }, sealed: string): RecordTypes[K] {
    const key = keyOf(address);
    const opened = unseal(sealed, this.#keys, address);
    if (!opened.ok) {
      if (opened.problem === 'unknown-key') throw unknownKey(this.description, address, opened.keyId, this.#keys);
      throw recordInvalid(this.description, address, opened.problem === 'unsupported-version' ? { version: opened.version } : opened.problem, this.#backend.locate(key));
    }
    const record = parseRecord(address.kind, opened.plaintext);
    if (record === undefined) throw recordInvalid(this.description, address, 'content', this.#backend.locate(key));
    if (opened.key !== this.#keys.current) {
      this.#logger.debug(
        { store: this.description, kind: address.kind, name: address.name, keyId: opened.key.id },
        `${recordName(address)} is under previous key ${opened.key.id}; its next write re-encrypts it with the current key ${this.#keys.current.id}`,
      );
    }
    return record;
  }

  /** Always under the current key: this is how records move off a previous key. */
  async #write<K extends RecordKind>(address: RecordAddress & { kind: K }, record: RecordTypes[K], ttlMs?: number): Promise<void> {
    const plaintext = serializeRecord(address.kind, record);
    if (plaintext === undefined) {
      // A caller's bug (NaN, a negative time, an empty token): refused here rather than stored and found unreadable after a restart.
      throw new BrokerError(`${recordName(address)} was not written to token store ${this.description}: it is not a valid record.`, {
        code: 'internal',
        mailbox: mailboxOf(address),
      });
    }
    const sealed = seal(plaintext, this.#keys.current, address);
    await this.#backendCall(() => this.#writes.write(keyOf(address), sealed, ttlMs), `write ${recordName(address)}`, address);
  }

  async #delete(address: RecordAddress): Promise<void> {
    await this.#backendCall(() => this.#writes.write(keyOf(address), undefined), `delete ${recordName(address)}`, address);
  }

  async #backendCall<T>(operation: () => Promise<T>, action: string, address: RecordAddress): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw this.#unavailable(error, action, mailboxOf(address));
    }
  }

  /** `tell`: whether onUnavailable listeners hear of it (a caller's operation failed, not a probe). */
  #unavailable(error: unknown, action: string, mailbox?: string, tell = true): BrokerError {
    const reason = error instanceof BackendFailure ? error.reason : error instanceof Error ? error.message : String(error);
    const unavailable = storeUnavailable(this.description, action, reason, this.#backend.hint, mailbox === undefined ? { cause: error } : { mailbox, cause: error });
    if (tell && !(typeof error === 'object' && error !== null && this.#told.has(error))) {
      if (typeof error === 'object' && error !== null) this.#told.add(error);
      for (const listener of this.#unavailableListeners) {
        try {
          listener(unavailable);
        } catch (failure) {
          this.#logger.error({ err: failure, store: this.description }, 'a listener of token store failures threw; ignored');
        }
      }
    }
    return unavailable;
  }
}

/** `mailbox:sales`, `line:app:<digest>`, `pending:sales`: one namespace per kind of record, in every backend. */
function keyOf(address: RecordAddress): string {
  return `${address.kind}:${address.name}`;
}
