// Which backend a store URL means, built and proven writable before the
// store uses it: sqlite (file and folder modes, secure delete), redis (a
// fail-fast client, with locks and write notices for sharing) or a Map for tests.
import KeyvSqlite from '@keyv/sqlite';
import type { Logger } from 'pino';
import { BackendFailure } from './backend-failure.js';
import { KeyvBackend, keyvOver, WRITE_CHECK_KEY } from './keyv-backend.js';
import type { StoreBackend } from './keyv-backend.js';
import { connectRedis, REDIS_KEY_PREFIX } from './redis-connection.js';
import { RedisLocks } from './redis-lock.js';
import { RedisWriteFeed } from './redis-write-feed.js';
import { prepareSqliteFile } from './sqlite-file.js';
import type { StoreTarget } from './store-url.js';

/** SQLite waits this long for another connection's write lock before failing. */
const SQLITE_BUSY_TIMEOUT_MS = 5_000;
const SQLITE_TABLE = 'keyv';

export const DEFAULT_OPERATION_TIMEOUT_MS = 10_000;
/** A redis lock whose holder died is free again after this. */
export const DEFAULT_LOCK_TTL_MS = 10_000;
/** Longest wait for a redis lock another holder keeps: far longer than a token request takes. */
export const DEFAULT_LOCK_WAIT_MS = 60_000;

/** What an operator should check when the store is unavailable. */
export function unavailableHint(kind: StoreTarget['kind']): string {
  if (kind === 'sqlite') return "Check that the file and its folder exist and that the broker's user may write both.";
  if (kind === 'redis') return 'Check that redis is running and reachable from this host, and the credentials in store.url.';
  return 'The memory store lives inside this process.';
}

export interface BackendOptions {
  readonly logger: Logger;
  readonly operationTimeoutMs: number;
  /** Redis locks: see RedisLockTimings. */
  readonly lockTtlMs: number;
  readonly lockWaitMs: number;
}

export async function openBackend(target: StoreTarget, options: BackendOptions): Promise<StoreBackend> {
  const backend = await createBackend(target, options);
  // A store that cannot be written must fail at start, not when a rotated refresh token needs saving (redis' probe() only PINGs).
  try {
    await backend.set(WRITE_CHECK_KEY, 'ok');
    await backend.delete(WRITE_CHECK_KEY);
  } catch (error) {
    await backend.close().catch(() => undefined);
    throw error;
  }
  return backend;
}

async function createBackend(target: StoreTarget, options: BackendOptions): Promise<StoreBackend> {
  switch (target.kind) {
    case 'memory':
      return new KeyvBackend(keyvOver(new Map<string, unknown>(), undefined), {
        ...options,
        hint: unavailableHint(target.kind),
        locate: (key) => `key ${key}`,
      });
    case 'sqlite': {
      try {
        await prepareSqliteFile(target.path, options.logger);
      } catch (error) {
        throw new BackendFailure(osReason(error), error);
      }
      const adapter = new KeyvSqlite({ uri: `sqlite://${target.path}`, table: SQLITE_TABLE, busyTimeout: SQLITE_BUSY_TIMEOUT_MS });
      // Replaced and deleted records are zeroed instead of left in free pages: once a key is retired,
      // nothing it encrypted lingers in the file. Issued at once, so a failed open is awaited, never unhandled.
      await adapter.query('PRAGMA secure_delete = ON').catch(async (error: unknown) => {
        await adapter.disconnect().catch(() => undefined);
        throw new BackendFailure(error instanceof Error ? error.message : String(error), error);
      });
      return new KeyvBackend(keyvOver(adapter, undefined), {
        ...options,
        hint: unavailableHint(target.kind),
        locate: (key) => `row with key '${key}' in table ${SQLITE_TABLE} of ${target.path}`,
      });
    }
    case 'redis': {
      const { logger, operationTimeoutMs } = options;
      const { description } = target;
      const connection = connectRedis(target.url, description, logger);
      const { client, lastError } = connection;
      const locks = new RedisLocks({ client, lastError, logger, description, timings: { ttlMs: options.lockTtlMs, waitMs: options.lockWaitMs, operationTimeoutMs } });
      const writes = new RedisWriteFeed({ client, lastError, logger, description, operationTimeoutMs, database: target.database, openSubscriber: connection.subscriber });
      return new KeyvBackend(keyvOver(connection.adapter, REDIS_KEY_PREFIX.slice(0, -1)), {
        operationTimeoutMs,
        hint: unavailableHint(target.kind),
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
  }
}

function osReason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const match = /^([A-Z0-9_]+): ([^,]+)/.exec(error.message);
  return match === null ? error.message : `${match[1]}: ${match[2]}`;
}
