// Opening the store: keys first (a bad key file must stop the broker before
// it touches any record), then the backend, proven writable.
import type { Logger } from 'pino';
import type { StoreConfig } from '../config/index.js';
import { systemClock } from '../time/index.js';
import type { Clock } from '../time/index.js';
import { randomBytes } from 'node:crypto';
import { loadKeyRing } from './key-file.js';
import { KeyRing, storeKey } from './key-ring.js';
import { BackendFailure } from './backend-failure.js';
import { DEFAULT_LOCK_TTL_MS, DEFAULT_LOCK_WAIT_MS, DEFAULT_OPERATION_TIMEOUT_MS, openBackend, unavailableHint } from './open-backend.js';
import { storeUnavailable } from './store-errors.js';
import { parseStoreUrl } from './store-url.js';
import { EncryptedTokenStore } from './token-store.js';
import type { TokenStore } from './token-store.js';
import type { CommittedBatch } from './write-batcher.js';

export interface OpenTokenStoreOptions {
  readonly logger: Logger;
  /** Judges the expiry of pending authorizations; default the system clock. */
  readonly clock?: Clock;
  /** Longest wait for one read or write before store_unavailable; default 10 s. */
  readonly operationTimeoutMs?: number;
  /** Redis: how long a lock outlives a holder that died (renewed every third of it while held); default 10 s. */
  readonly lockTtlMs?: number;
  /** Redis: how long withLock waits while another holds the lock before store_unavailable; default 60 s. */
  readonly lockWaitMs?: number;
  /** Most records committed in one transaction; 1 commits each on its own (benchmarks). Default 500. */
  readonly maxWriteBatch?: number;
  /** Hears of every committed batch of writes (tests and benchmarks count transactions with it). */
  readonly onBatch?: (batch: CommittedBatch) => void;
}

/**
 * Throws BrokerError store_key_invalid (key file unreadable or not a key,
 * or the key cannot be created), store_unavailable (backend unreachable or
 * not writable), or config_invalid (a URL the loader would have refused).
 */
export async function openTokenStore(config: StoreConfig, options: OpenTokenStoreOptions): Promise<TokenStore> {
  const target = parseStoreUrl(config.url);
  const { logger } = options;
  // A memory store dies with the process, so a key file would protect
  // nothing and only litter /var/lib in tests: it gets a key of its own.
  const keys = target.kind === 'memory' ? new KeyRing(storeKey(randomBytes(32), '(in memory)')) : await loadKeyRing(config, logger);
  // Said before the wait: a store that does not answer holds start-up for up to the operation timeout.
  logger.info({ store: target.description }, `opening token store ${target.description}`);
  const operationTimeoutMs = options.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS;
  const backend = await openBackend(target, {
    logger,
    operationTimeoutMs,
    lockTtlMs: options.lockTtlMs ?? DEFAULT_LOCK_TTL_MS,
    lockWaitMs: options.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS,
  }).catch((error: unknown) => {
    const reason = error instanceof BackendFailure ? error.reason : error instanceof Error ? error.message : String(error);
    throw storeUnavailable(target.description, 'open it', reason, unavailableHint(target.kind), { cause: error });
  });
  logger.info(
    { store: target.description, keyId: keys.current.id, previousKeyIds: keys.previous.map((key) => key.id) },
    `token store ${target.description} opened; records are encrypted with key ${keys.current.id}`,
  );
  return new EncryptedTokenStore({
    description: target.description,
    backend,
    keys,
    clock: options.clock ?? systemClock,
    logger,
    operationTimeoutMs,
    maxBatch: options.maxWriteBatch,
    onBatch: options.onBatch,
  });
}
