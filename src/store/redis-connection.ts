// The redis client behind @keyv/redis, tuned so a store that cannot be
// reached fails fast instead of queueing: requests for tokens must not hang
// while redis is down, and a lost connection is logged once, not per retry.
// Also the second connection that listens for other instances' writes.
import KeyvRedis, { createClient } from '@keyv/redis';
import type { Logger } from 'pino';

/** The TCP (and TLS) connect must finish within this; later waits are bounded per operation by the token store. */
const CONNECT_TIMEOUT_MS = 5_000;
/** Between reconnection attempts once connected: 100 ms doubling up to 2 s. */
const MAX_RECONNECT_DELAY_MS = 2_000;
/** How long close() waits for replies in flight before dropping the connection. */
const CLOSE_GRACE_MS = 2_000;

/** Every key the broker writes starts with this, so a shared redis can hold other things too. */
export const REDIS_KEY_PREFIX = 'token-broker:';

export type RedisClient = ReturnType<typeof createMainClient>;

export interface RedisConnection {
  readonly adapter: KeyvRedis<string>;
  /** The client under the adapter, for what keyv cannot say: locks and PUBLISH. */
  readonly client: RedisClient;
  /** What the client last reported, for "unavailable" messages (the adapter's own errors say only "not connected"). */
  readonly lastError: () => string | undefined;
  /**
   * A new connection for SUBSCRIBE (a subscribed connection can do nothing
   * else), not yet connected. It queues commands until connected, keeps
   * reconnecting (and resubscribing) for as long as it is open, and logs an
   * outage once. The caller owns it: closeSubscriber() it.
   */
  readonly subscriber: () => RedisClient;
  /** Closes the main client only. */
  readonly close: () => Promise<void>;
}

export function connectRedis(url: string, description: string, logger: Logger): RedisConnection {
  let everReady = false;
  const client = createMainClient(url, () => everReady);
  const state = watchConnection(client, logger, {
    lost: (reason) => `token store ${description}: connection lost (${reason}); reconnecting`,
    back: `token store ${description}: connected again`,
    store: description,
  });
  client.on('ready', () => (everReady = true));
  const adapter = new KeyvRedis<string>(client, {
    namespace: REDIS_KEY_PREFIX.slice(0, -1),
    keyPrefixSeparator: ':',
    throwOnErrors: true,
    throwOnConnectError: true,
    // No connectionTimeout here: the adapter's leaves a timer running after every connect (delaying exit);
    // socket.connectTimeout above bounds the connect, and the token store bounds every operation.
  });
  return {
    adapter,
    client,
    lastError: state.lastError,
    subscriber() {
      const subscriber = client.duplicate({
        // SUBSCRIBE is sent once and must survive an outage: node-redis replays it on every reconnect.
        disableOfflineQueue: false,
        socket: { connectTimeout: CONNECT_TIMEOUT_MS, reconnectStrategy: reconnectDelay },
      });
      watchConnection(subscriber, logger, {
        lost: (reason) => `token store ${description}: the connection that hears of other instances' writes is down (${reason}); reconnecting`,
        back: `token store ${description}: hearing of other instances' writes again`,
        store: description,
        // The main connection's first failure is the reason opening the store fails; this one's would go unseen.
        reportFirstFailure: true,
      });
      return subscriber;
    },
    async close() {
      if (!client.isOpen) return;
      let timer: NodeJS.Timeout | undefined;
      const graceful = client.close().then(
        () => true,
        () => false,
      );
      const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), CLOSE_GRACE_MS)));
      const closed = await Promise.race([graceful, timedOut]);
      clearTimeout(timer);
      if (!closed && client.isOpen) client.destroy();
    },
  };
}

function createMainClient(url: string, everReady: () => boolean) {
  return createClient({
    url,
    // Commands while disconnected fail at once (ClientOfflineError) instead of waiting for a reconnect that may never come.
    disableOfflineQueue: true,
    socket: {
      connectTimeout: CONNECT_TIMEOUT_MS,
      // Before the first connection, give up at once so opening the store reports why;
      // afterwards keep trying forever: redis coming back must heal the broker without a restart.
      reconnectStrategy: (retries, cause) => (everReady() ? reconnectDelay(retries) : cause),
    },
  });
}

/** A subscriber has no replies worth waiting for: drop it at once. */
export function closeSubscriber(subscriber: RedisClient): void {
  if (subscriber.isOpen) subscriber.destroy();
}

function reconnectDelay(retries: number): number {
  return Math.min(100 * 2 ** retries, MAX_RECONNECT_DELAY_MS);
}

interface ConnectionMessages {
  readonly lost: (reason: string) => string;
  readonly back: string;
  readonly store: string;
  readonly reportFirstFailure?: boolean;
}

/**
 * Keeps the client's last error and logs each outage once: node-redis emits
 * `error` on every failed reconnect, and without a listener an `error` event
 * would crash the process.
 */
function watchConnection(client: RedisClient, logger: Logger, messages: ConnectionMessages): { lastError: () => string | undefined } {
  let connected = false;
  let everConnected = false;
  let lastError: string | undefined;
  let reported = false;
  client.on('error', (error: unknown) => {
    lastError = errorText(error);
    const firstFailure = !everConnected && messages.reportFirstFailure === true && !reported;
    if (!connected && !firstFailure) return;
    connected = false;
    reported = true;
    logger.warn({ store: messages.store, reason: lastError }, messages.lost(lastError));
  });
  client.on('ready', () => {
    if (!connected && (everConnected || reported)) logger.info({ store: messages.store }, messages.back);
    everConnected = true;
    connected = true;
    lastError = undefined;
  });
  return { lastError: () => lastError };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
