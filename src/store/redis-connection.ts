// The redis client behind @keyv/redis, tuned so a store that cannot be
// reached fails fast instead of queueing: requests for tokens must not hang
// while redis is down, and a lost connection is logged once, not per retry.
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

export interface RedisConnection {
  readonly adapter: KeyvRedis<string>;
  /** What the client last reported, for "unavailable" messages (the adapter's own errors say only "not connected"). */
  readonly lastError: () => string | undefined;
  readonly close: () => Promise<void>;
}

export function connectRedis(url: string, description: string, logger: Logger): RedisConnection {
  let everReady = false;
  let connected = false;
  let lastError: string | undefined;
  const client = createClient({
    url,
    // Commands while disconnected fail at once (ClientOfflineError) instead of waiting for a reconnect that may never come.
    disableOfflineQueue: true,
    socket: {
      connectTimeout: CONNECT_TIMEOUT_MS,
      // Before the first connection, give up at once so opening the store reports why;
      // afterwards keep trying forever: redis coming back must heal the broker without a restart.
      reconnectStrategy: (retries, cause) => (everReady ? Math.min(100 * 2 ** retries, MAX_RECONNECT_DELAY_MS) : cause),
    },
  });
  client.on('error', (error: unknown) => {
    lastError = errorText(error);
    if (!connected) return;
    connected = false;
    logger.warn({ store: description, reason: lastError }, `token store ${description}: connection lost (${lastError}); reconnecting`);
  });
  client.on('ready', () => {
    if (everReady && !connected) logger.info({ store: description }, `token store ${description}: connected again`);
    everReady = true;
    connected = true;
    lastError = undefined;
  });
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
    lastError: () => lastError,
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

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
