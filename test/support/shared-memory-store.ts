// Several "instances" over one in-memory store, shared the way a redis store
// is: for engine tests of the multi-instance logic (lock, re-read, following
// others' writes) without a redis-server. The real redis implementation has
// its own tests against a real server.
import type { BrokerError } from '../../src/errors/index.js';
import type { LineRecord, MailboxRecord, PendingAuthorizationRecord, RecordsWanted, StoredRecords, TokenStore } from '../../src/store/index.js';

export class SharedMemoryStores {
  readonly #inner: TokenStore;
  readonly #locks = new Map<string, Promise<void>>();
  readonly #views: SharedView[] = [];
  /** Names of the locks taken, in order, for assertions. */
  readonly lockLog: string[] = [];
  /** Called right after the other views heard of a write: lets a test act inside a race window. */
  afterAnnounce: ((mailbox: string) => void) | undefined;

  constructor(inner: TokenStore) {
    this.#inner = inner;
  }

  /** A store as one instance sees it. */
  view(): TokenStore {
    const view = new SharedView(this.#inner, this);
    this.#views.push(view);
    return view;
  }

  async lock<T>(name: string, work: () => Promise<T>): Promise<T> {
    this.lockLog.push(name);
    for (;;) {
      const held = this.#locks.get(name);
      if (held === undefined) break;
      await held;
    }
    let release!: () => void;
    this.#locks.set(name, new Promise<void>((resolve) => (release = resolve)));
    try {
      return await work();
    } finally {
      this.#locks.delete(name);
      release();
    }
  }

  /** Tells every view that news may have been missed (as after a reconnect of redis' listening connection). */
  resync(): void {
    for (const view of this.#views) view.notify(undefined);
  }

  /** While true, writes are not announced: notices lost as during an outage of redis' listening connection. */
  muted = false;

  announce(writer: SharedView, mailbox: string): void {
    if (this.muted) return;
    for (const view of this.#views) if (view !== writer) view.notify(mailbox);
    this.afterAnnounce?.(mailbox);
  }
}

class SharedView implements TokenStore {
  readonly shared = true;
  readonly description = 'shared-memory:';
  readonly #inner: TokenStore;
  readonly #group: SharedMemoryStores;
  readonly #listeners = new Set<(mailbox: string | undefined) => void>();

  constructor(inner: TokenStore, group: SharedMemoryStores) {
    this.#inner = inner;
    this.#group = group;
  }

  notify(mailbox: string | undefined): void {
    for (const listener of this.#listeners) listener(mailbox);
  }

  getMailbox(mailbox: string): Promise<MailboxRecord | undefined> {
    return this.#inner.getMailbox(mailbox);
  }

  getMailboxes(mailboxes: readonly string[]): Promise<Map<string, MailboxRecord | BrokerError>> {
    return this.#inner.getMailboxes(mailboxes);
  }

  getRecords(wanted: RecordsWanted): Promise<StoredRecords> {
    return this.#inner.getRecords(wanted);
  }

  getLine(line: string): Promise<LineRecord | undefined> {
    return this.#inner.getLine(line);
  }

  async putLine(line: string, record: LineRecord): Promise<void> {
    await this.#inner.putLine(line, record);
    this.#group.announce(this, line);
  }

  async deleteLine(line: string): Promise<void> {
    await this.#inner.deleteLine(line);
    this.#group.announce(this, line);
  }

  async putMailbox(mailbox: string, record: MailboxRecord): Promise<void> {
    await this.#inner.putMailbox(mailbox, record);
    this.#group.announce(this, mailbox);
  }

  async deleteMailbox(mailbox: string): Promise<void> {
    await this.#inner.deleteMailbox(mailbox);
    this.#group.announce(this, mailbox);
  }

  getPendingAuthorization(mailbox: string): Promise<PendingAuthorizationRecord | undefined> {
    return this.#inner.getPendingAuthorization(mailbox);
  }

  putPendingAuthorization(mailbox: string, record: PendingAuthorizationRecord): Promise<void> {
    return this.#inner.putPendingAuthorization(mailbox, record);
  }

  deletePendingAuthorization(mailbox: string): Promise<void> {
    return this.#inner.deletePendingAuthorization(mailbox);
  }

  withLock<T>(name: string, work: () => Promise<T>): Promise<T> {
    return this.#group.lock(name, work);
  }

  onForeignWrite(listener: (mailbox: string | undefined) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  probe(): Promise<void> {
    return this.#inner.probe();
  }

  onUnavailable(listener: (error: BrokerError) => void): () => void {
    return this.#inner.onUnavailable(listener);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
