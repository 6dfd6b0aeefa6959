// A lock across every broker instance sharing one redis: the key
// token-broker:lock:<name> holds the holder's random token, set with
// SET NX PX, kept alive while the work runs, and given back only by its
// holder. A holder that dies (SIGKILL, lost host) stops renewing, so the key
// expires within one TTL and the next instance takes it.
//
// Written by hand, not with a library: on a single redis server, SET NX PX
// plus compare-and-renew / compare-and-delete scripts is the lock pattern
// redis documents, a few lines. Redlock adds quorum logic across several
// independent redis masters, which one store.url cannot name. The libraries
// that fit otherwise are built on ioredis (redlock: Redlock only, ioredis
// only; redis-semaphore: has a single-server Mutex, but supports ioredis and
// asks other clients to imitate its API), while this store's client is
// node-redis v5 under @keyv/redis: either would mean a second client library
// and connection for three redis commands.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { BackendFailure, bounded } from './backend-failure.js';
import { LockWaitExceeded } from './coordination.js';
import type { HeldLock, Locks } from './coordination.js';
import { InProcessLocks } from './in-process-locks.js';
import { REDIS_KEY_PREFIX } from './redis-connection.js';
import type { RedisClient } from './redis-connection.js';

/** First pause between attempts while another holds the lock; doubles up to MAX_RETRY_DELAY_MS. */
const FIRST_RETRY_DELAY_MS = 25;
const MAX_RETRY_DELAY_MS = 250;

/** PEXPIRE only while the key still holds our token: a lock that expired and was taken by another is left alone. */
const RENEW_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
/** DEL only while the key still holds our token. */
const RELEASE_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

export interface RedisLockTimings {
  /** The key's expiry: how long a holder that died keeps the lock. Renewed every third of it while the work runs. */
  readonly ttlMs: number;
  /** How long acquire() waits for another holder (in this process or another) before giving up. */
  readonly waitMs: number;
  /** Longest wait for one redis command. */
  readonly operationTimeoutMs: number;
}

export interface RedisLockParts {
  readonly client: RedisClient;
  readonly timings: RedisLockTimings;
  readonly lastError: () => string | undefined;
  readonly logger: Logger;
  /** The store, for log lines. */
  readonly description: string;
}

export class RedisLocks implements Locks {
  readonly #parts: RedisLockParts;
  readonly #local = new InProcessLocks();

  constructor(parts: RedisLockParts) {
    this.#parts = parts;
  }

  async acquire(name: string): Promise<HeldLock> {
    const { waitMs } = this.#parts.timings;
    const deadline = performance.now() + waitMs;
    // Callers in this process queue here; only the first of them polls redis.
    const local = await this.#local.tryAcquire(name, waitMs);
    if (local === undefined) throw this.#waitExceeded(name);
    const key = lockKey(name);
    const token = randomBytes(16).toString('hex');
    try {
      await this.#take(key, token, deadline, name);
    } catch (error) {
      await local.release();
      throw error;
    }
    const stopRenewing = this.#keepAlive(key, token, name);
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        stopRenewing();
        await this.#giveBack(key, token, name);
        await local.release();
      },
    };
  }

  /** Polls until the key is ours, with a growing pause, up to the deadline. */
  async #take(key: string, token: string, deadline: number, name: string): Promise<void> {
    const { ttlMs } = this.#parts.timings;
    let pause = FIRST_RETRY_DELAY_MS;
    for (;;) {
      const reply = await this.#command(() => this.#parts.client.set(key, token, { condition: 'NX', expiration: { type: 'PX', value: ttlMs } }));
      if (reply === 'OK') return;
      const left = deadline - performance.now();
      if (left <= 0) throw this.#waitExceeded(name);
      await sleep(Math.min(pause, left));
      pause = Math.min(pause * 2, MAX_RETRY_DELAY_MS);
    }
  }

  /** Renews the key every third of its TTL until stopped; a renewal that fails is retried at the next tick, one that finds the key gone or taken ends it. */
  #keepAlive(key: string, token: string, name: string): () => void {
    const { ttlMs } = this.#parts.timings;
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    let complained = false;
    const renew = async (): Promise<void> => {
      try {
        const renewed = await this.#command(() => this.#parts.client.eval(RENEW_SCRIPT, { keys: [key], arguments: [token, String(ttlMs)] }));
        if (stopped) return;
        if (renewed !== 1) {
          this.#parts.logger.warn(
            { store: this.#parts.description, lock: name },
            `token store ${this.#parts.description}: the lock ${name} (redis key ${key}) expired while its work was still running (redis was out of reach for ${ttlMs} ms or this process stalled); another instance may run the same work now`,
          );
          return;
        }
        complained = false;
      } catch (error) {
        if (stopped) return;
        // Logged once per hold: the next tick tries again, and the key stays ours until it expires.
        if (!complained) {
          complained = true;
          this.#parts.logger.warn(
            { store: this.#parts.description, lock: name, reason: reasonOf(error) },
            `token store ${this.#parts.description}: cannot renew the lock ${name} (${reasonOf(error)}); retrying, it expires in at most ${ttlMs} ms`,
          );
        }
      }
      schedule();
    };
    const schedule = (): void => {
      if (stopped) return;
      timer = setTimeout(() => void renew(), Math.max(1, Math.floor(ttlMs / 3)));
      // The work being run keeps the process alive; the renewal alone must not.
      timer.unref();
    };
    schedule();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }

  async #giveBack(key: string, token: string, name: string): Promise<void> {
    const { description, logger, timings } = this.#parts;
    try {
      const deleted = await this.#command(() => this.#parts.client.eval(RELEASE_SCRIPT, { keys: [key], arguments: [token] }));
      if (deleted !== 1) {
        logger.warn({ store: description, lock: name }, `token store ${description}: the lock ${name} (redis key ${key}) had expired before its work finished; another instance may have run the same work meanwhile`);
      }
    } catch (error) {
      logger.warn(
        { store: description, lock: name, reason: reasonOf(error) },
        `token store ${description}: cannot release the lock ${name} (${reasonOf(error)}); it frees itself within ${timings.ttlMs} ms`,
      );
    }
  }

  #command<T>(operation: () => Promise<T>): Promise<T> {
    return bounded(operation, this.#parts.timings.operationTimeoutMs, this.#parts.lastError);
  }

  #waitExceeded(name: string): LockWaitExceeded {
    return new LockWaitExceeded(name, `redis key ${lockKey(name)}`, this.#parts.timings.waitMs, this.#parts.timings.ttlMs);
  }
}

export function lockKey(name: string): string {
  return `${REDIS_KEY_PREFIX}lock:${name}`;
}

function reasonOf(error: unknown): string {
  return error instanceof BackendFailure ? error.reason : error instanceof Error ? error.message : String(error);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
