// News of writes between broker instances sharing a redis: after writing a
// record an instance PUBLISHes {from: its id, mailbox} (a name, never a token:
// the mailbox's, or a shared token line's id `app:<digest>`, which no mailbox
// name can be; the field keeps its name so older instances still parse it); each instance listens on a connection of its own, opened on the
// first subscribe, and passes on what the others wrote. A notice sent while
// the listening connection is down is lost: when it is back, listeners are
// told (undefined) and read again what they hold; and the engine re-reads a
// record under the lock before acting on it in any case.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { BackendFailure, bounded } from './backend-failure.js';
import type { ForeignWriteListener, WriteFeed } from './coordination.js';
import { closeSubscriber, REDIS_KEY_PREFIX } from './redis-connection.js';
import type { RedisClient } from './redis-connection.js';

export interface RedisWriteFeedParts {
  readonly client: RedisClient;
  /** Opens the listening connection (see RedisConnection.subscriber); called at most once. */
  readonly openSubscriber: () => RedisClient;
  /** From store.url; PUBLISH reaches every database of a server, so the channel names it. */
  readonly database: number;
  readonly operationTimeoutMs: number;
  readonly lastError: () => string | undefined;
  readonly logger: Logger;
  readonly description: string;
}

/** `token-broker:written:0`: one channel per redis database. */
export function writtenChannel(database: number): string {
  return `${REDIS_KEY_PREFIX}written:${database}`;
}

interface Notice {
  readonly from: string;
  /** A mailbox name or a shared line's id. */
  readonly mailbox: string;
}

export class RedisWriteFeed implements WriteFeed {
  /** Tells this instance's own notices from the others'; one per opened store. */
  readonly #id = randomBytes(12).toString('hex');
  readonly #parts: RedisWriteFeedParts;
  readonly #channel: string;
  /** One entry per subscribe() call, so the same function subscribed twice is unsubscribed one at a time. */
  readonly #listeners = new Set<{ readonly listener: ForeignWriteListener }>();
  #subscriber: RedisClient | undefined;
  #closed = false;

  constructor(parts: RedisWriteFeedParts) {
    this.#parts = parts;
    this.#channel = writtenChannel(parts.database);
  }

  async announce(name: string): Promise<void> {
    const notice: Notice = { from: this.#id, mailbox: name };
    try {
      await bounded(() => this.#parts.client.publish(this.#channel, JSON.stringify(notice)), this.#parts.operationTimeoutMs, this.#parts.lastError);
    } catch (error) {
      const reason = error instanceof BackendFailure ? error.reason : String(error);
      this.#parts.logger.warn(
        { store: this.#parts.description, record: name, reason },
        `token store ${this.#parts.description}: wrote the record of ${recordOwner(name)} but could not tell the other instances (${reason}); they see it when they next read it`,
      );
    }
  }

  subscribe(listener: ForeignWriteListener): () => void {
    if (this.#closed) return () => undefined;
    const entry = { listener };
    this.#listeners.add(entry);
    this.#listen();
    return () => void this.#listeners.delete(entry);
  }

  /** Drops the listening connection and every listener; announce() keeps working until the main connection closes. */
  close(): void {
    this.#closed = true;
    this.#listeners.clear();
    if (this.#subscriber !== undefined) closeSubscriber(this.#subscriber);
  }

  #listen(): void {
    if (this.#subscriber !== undefined) return;
    const subscriber = this.#parts.openSubscriber();
    this.#subscriber = subscriber;
    const { description, logger } = this.#parts;
    // Neither waits for the other: the subscriber queues SUBSCRIBE until it is connected, and reconnects (and resubscribes) by itself.
    subscriber.connect().catch((error: unknown) => {
      if (!this.#closed) logger.warn({ store: description, reason: String(error) }, `token store ${description}: cannot listen for other instances' writes (${String(error)})`);
    });
    // Notices published while this connection was down are gone: after a reconnect, listeners re-read what they hold.
    let connectedBefore = false;
    subscriber.on('ready', () => {
      if (connectedBefore) this.#tell(undefined);
      connectedBefore = true;
    });
    subscriber.subscribe(this.#channel, (message) => this.#deliver(message)).catch((error: unknown) => {
      if (!this.#closed) logger.warn({ store: description, reason: String(error) }, `token store ${description}: cannot subscribe to ${this.#channel} (${String(error)})`);
    });
  }

  #deliver(message: string): void {
    const notice = parseNotice(message);
    if (notice === undefined) {
      this.#parts.logger.debug({ store: this.#parts.description, channel: this.#channel }, `token store ${this.#parts.description}: ignored a message on ${this.#channel} that is not a write notice`);
      return;
    }
    if (notice.from === this.#id) return;
    this.#tell(notice.mailbox);
  }

  #tell(mailbox: string | undefined): void {
    for (const { listener } of [...this.#listeners]) {
      try {
        listener(mailbox);
      } catch (error) {
        // One listener's bug must not keep the notice from the others, nor reach the redis client's event loop.
        const what = mailbox === undefined ? 'after a reconnect' : `on ${recordOwner(mailbox)}`;
        this.#parts.logger.error(
          { store: this.#parts.description, mailbox, err: error },
          `token store ${this.#parts.description}: a listener for other instances' writes failed ${what}`,
        );
      }
    }
  }
}

/** "mailbox sales", "token line app:<digest>" (mailbox names have no `:`). */
function recordOwner(name: string): string {
  return name.includes(':') ? `token line ${name}` : `mailbox ${name}`;
}

function parseNotice(message: string): Notice | undefined {
  try {
    const value: unknown = JSON.parse(message);
    if (typeof value !== 'object' || value === null) return undefined;
    const { from, mailbox } = value as Record<string, unknown>;
    return typeof from === 'string' && typeof mailbox === 'string' && mailbox !== '' ? { from, mailbox } : undefined;
  } catch {
    return undefined;
  }
}
