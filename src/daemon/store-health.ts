// Whether the token store answers, for grpc.health.v1: probed every few
// seconds (redis: PING; sqlite: a write) and at once when a real read or
// write fails; each change is logged once and handed to the gRPC server.
// Token requests never wait on it: cached tokens are served either way.
import type { Logger } from 'pino';
import { BrokerError } from '../errors/index.js';
import type { TokenStore } from '../store/index.js';

export const DEFAULT_STORE_PROBE_INTERVAL_MS = 5_000;

export interface StoreHealthOptions {
  readonly store: Pick<TokenStore, 'description' | 'probe' | 'onUnavailable'>;
  /** Hears each change (never the same value twice in a row); never called after stop(). */
  readonly onChange: (available: boolean) => void;
  readonly logger: Logger;
  /** Pause between the end of one probe and the start of the next; default 5 s. */
  readonly intervalMs?: number;
}

export class StoreHealthMonitor {
  readonly #options: StoreHealthOptions;
  readonly #intervalMs: number;
  /** The store was proven writable when it was opened. */
  #available = true;
  #probing: Promise<boolean> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;
  #state: 'created' | 'running' | 'stopped' = 'created';
  #probeFailures = 0;

  constructor(options: StoreHealthOptions) {
    this.#options = options;
    this.#intervalMs = options.intervalMs ?? DEFAULT_STORE_PROBE_INTERVAL_MS;
  }

  get available(): boolean {
    return this.#available;
  }

  /** Probes that found the store not answering, since start (the metrics' counter). */
  get probeFailures(): number {
    return this.#probeFailures;
  }

  /** Probes every intervalMs from now on, and as soon as a caller's store operation fails. */
  start(): void {
    if (this.#state !== 'created') return;
    this.#state = 'running';
    // While it is known to be down, the next probe notices it back; failures add nothing.
    this.#unsubscribe = this.#options.store.onUnavailable(() => {
      if (this.#available) void this.check();
    });
    this.#schedule();
  }

  /** Probes now (or joins the probe in flight); resolves with whether the store answered. Never rejects. */
  check(): Promise<boolean> {
    this.#probing ??= this.#probe().finally(() => (this.#probing = undefined));
    return this.#probing;
  }

  /** No probe from now on, and onChange is not called again; a probe in flight is left to end by itself. */
  stop(): void {
    this.#state = 'stopped';
    clearTimeout(this.#timer);
    this.#unsubscribe?.();
  }

  #schedule(): void {
    this.#timer = setTimeout(() => {
      void this.check().then(() => {
        if (this.#state === 'running') this.#schedule();
      });
    }, this.#intervalMs);
    // A probe never keeps the process alive.
    this.#timer.unref();
  }

  async #probe(): Promise<boolean> {
    const { store, logger } = this.#options;
    let failure: unknown;
    try {
      await store.probe();
    } catch (error) {
      failure = error;
    }
    const available = failure === undefined;
    if (!available && this.#state !== 'stopped') this.#probeFailures++;
    if (this.#state === 'stopped' || available === this.#available) return available;
    this.#available = available;
    if (available) {
      logger.info({ store: store.description }, `token store ${store.description} answers again; grpc.health.v1 reports SERVING`);
    } else {
      const code = failure instanceof BrokerError ? failure.code : 'internal';
      const text = failure instanceof BrokerError ? failure.describe() : `token store ${store.description} failed its health check: ${String(failure)}.`;
      logger.warn(
        { store: store.description, code },
        `${text} grpc.health.v1 reports NOT_SERVING until it answers again; tokens still valid are served meanwhile.`,
      );
    }
    this.#options.onChange(available);
    return available;
  }
}
