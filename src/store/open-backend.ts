// Which backend a store URL means, built and proven writable before the
// store uses it: sqlite (file and folder modes, secure delete, WAL), redis (a
// fail-fast client, with locks and write notices for sharing) or a Map for tests.
import { stat } from 'node:fs/promises';
import type KeyvSqlite from '@keyv/sqlite';
import type { Logger } from 'pino';
import { BackendFailure } from './backend-failure.js';
import { KeyvBackend, keyvOver, WRITE_CHECK_KEY } from './keyv-backend.js';
import type { BackendEntry, StoreBackend } from './keyv-backend.js';
import { prepareSqliteFile } from './sqlite-file.js';
import { loadKeyvSqlite } from './sqlite-module.js';
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
      const KeyvSqliteAdapter = await loadKeyvSqlite();
      const adapter = new KeyvSqliteAdapter({ uri: `sqlite://${target.path}`, table: SQLITE_TABLE, busyTimeout: SQLITE_BUSY_TIMEOUT_MS });
      let opened: { dev: number; ino: number };
      // Issued at once, so a failed open is awaited, never unhandled.
      try {
        // Replaced and deleted records are zeroed instead of left in free pages: once a key is retired,
        // nothing it encrypted lingers in the file.
        await adapter.query('PRAGMA secure_delete = ON');
        // WAL: a commit appends to tokens.sqlite-wal and syncs nothing (synchronous=NORMAL); the WAL is synced
        // only at checkpoints. A committed transaction is in the OS page cache when the query returns, so it
        // survives the broker being killed (SIGKILL, OOM, a crash); only an OS crash or power loss may roll back
        // the last transactions. The rollback journal with synchronous=FULL cost ~4 fsyncs per transaction.
        // SQLite creates -wal and -shm with the database file's mode (0600), and secure_delete covers WAL frames.
        await adapter.query('PRAGMA journal_mode = WAL');
        await adapter.query('PRAGMA synchronous = NORMAL');
        // A checkpointed WAL is cut back to nothing instead of keeping old frames (old envelopes) until overwritten.
        await adapter.query('PRAGMA journal_size_limit = 0');
        opened = await stat(target.path);
      } catch (error) {
        await adapter.disconnect().catch(() => undefined);
        throw new BackendFailure(error instanceof Error ? error.message : String(error), error);
      }
      return new KeyvBackend(keyvOver(adapter, undefined), {
        ...options,
        hint: unavailableHint(target.kind),
        locate: (key) => `row with key '${key}' in table ${SQLITE_TABLE} of ${target.path}`,
        setMany: (entries) => sqliteUpsert(adapter, entries),
        checkWritable: () => sqliteFileUnmoved(target.path, opened),
      });
    }
    case 'redis': {
      // Loaded only for a redis store: the redis client's modules take about 90 ms to load, on every start otherwise.
      const { openRedisBackend } = await import('./redis-backend.js');
      return openRedisBackend(target, options, unavailableHint(target.kind));
    }
  }
}

/**
 * One INSERT ... ON CONFLICT over json_each: one statement is one implicit
 * transaction (one WAL append) whatever the number of rows. Below keyv on
 * purpose: @keyv/sqlite has no setMany, and keyv's fallback would write
 * (and commit) each key on its own. Keys are unique within a batch.
 */
async function sqliteUpsert(adapter: KeyvSqlite, entries: readonly BackendEntry[]): Promise<void> {
  const rows = JSON.stringify(entries.map(({ key, value }) => [key, value]));
  // `WHERE true`: SQLite's grammar needs it between INSERT ... SELECT and ON CONFLICT.
  await adapter.query(
    `INSERT INTO ${SQLITE_TABLE}(key, value) SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?) WHERE true ` +
      'ON CONFLICT(key) DO UPDATE SET value = excluded.value',
    rows,
  );
}

/**
 * In WAL mode SQLite goes on writing to a file whose folder was removed or
 * that was renamed (the rollback journal refused with SQLITE_READONLY):
 * such writes would be lost at the next start. So each write checks that
 * the path still names the file opened, and fails as SQLite did.
 */
async function sqliteFileUnmoved(path: string, opened: { readonly dev: number; readonly ino: number }): Promise<void> {
  const now = await stat(path).catch(() => undefined);
  if (now?.dev === opened.dev && now.ino === opened.ino) return;
  throw new BackendFailure(`SQLITE_READONLY: ${path} was moved or deleted since the broker opened it, so a write would not reach it`);
}

function osReason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const match = /^([A-Z0-9_]+): ([^,]+)/.exec(error.message);
  return match === null ? error.message : `${match[1]}: ${match[2]}`;
}
