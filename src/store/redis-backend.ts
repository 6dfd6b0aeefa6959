// The redis backend: a fail-fast client, with locks and write notices so that
// several broker instances can share the store. Its own module because
// open-backend.ts loads it only for a redis store (see there).
import type { Logger } from 'pino';
import { KeyvBackend, keyvOver } from './keyv-backend.js';
import type { StoreBackend } from './keyv-backend.js';
import { connectRedis, REDIS_KEY_PREFIX } from './redis-connection.js';
import { RedisLocks } from './redis-lock.js';
import { RedisWriteFeed } from './redis-write-feed.js';
import type { StoreTarget } from './store-url.js';

export interface RedisBackendOptions {
  readonly logger: Logger;
  readonly operationTimeoutMs: number;
  /** Redis locks: see RedisLockTimings. */
  readonly lockTtlMs: number;
  readonly lockWaitMs: number;
}

/** `hint`: what an operator should check when the store is unavailable. */
export function openRedisBackend(target: StoreTarget & { readonly kind: 'redis' }, options: RedisBackendOptions, hint: string): StoreBackend {
  const { logger, operationTimeoutMs } = options;
  const { description } = target;
  const connection = connectRedis(target.url, description, logger);
  const { client, lastError } = connection;
  const locks = new RedisLocks({ client, lastError, logger, description, timings: { ttlMs: options.lockTtlMs, waitMs: options.lockWaitMs, operationTimeoutMs } });
  const writes = new RedisWriteFeed({ client, lastError, logger, description, operationTimeoutMs, database: target.database, openSubscriber: connection.subscriber });
  return new KeyvBackend(keyvOver(connection.adapter, REDIS_KEY_PREFIX.slice(0, -1)), {
    operationTimeoutMs,
    hint,
    locate: (key) => `redis key ${REDIS_KEY_PREFIX}${key}`,
    lastError,
    ping: () => client.ping(),
    coordination: { locks, writes },
    disconnect: async () => {
      writes.close();
      await connection.close();
    },
  });
}
