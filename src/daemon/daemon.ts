// The composition root of `token-broker serve`: the HTTP seam, the engine and
// the gRPC server built from one validated config, and stopped in reverse.
import { unlink } from 'node:fs/promises';
import cron from 'node-cron';
import type { Logger } from 'pino';
import { TokenBroker } from '../broker/index.js';
import type { GrantFactory } from '../broker/index.js';
import type { BrokerConfig } from '../config/index.js';
import { HttpTransport } from '../http/index.js';
import { BrokerGrpcServer } from '../server/index.js';
import { openTokenStore } from '../store/index.js';
import type { BoundAddress } from '../server/index.js';
import { systemClock } from '../time/index.js';
import type { Clock } from '../time/index.js';

export interface DaemonOptions {
  readonly logger: Logger;
  readonly clock?: Clock;
  /** For tests: replace how grants are made. */
  readonly grantFactory?: GrantFactory;
}

export interface RunningDaemon {
  readonly addresses: readonly BoundAddress[];
  readonly broker: TokenBroker;
  stop(graceMs?: number): Promise<void>;
}

export async function startDaemon(config: BrokerConfig, options: DaemonOptions): Promise<RunningDaemon> {
  const { logger } = options;
  const clock = options.clock ?? systemClock;
  const store = await openTokenStore(config.store, { logger, clock });
  const transport = new HttpTransport();
  const broker = new TokenBroker({
    mailboxes: config.mailboxes.values(),
    refresh: config.refresh,
    clock,
    logger,
    store,
    dependencies: { transport, clock, logger },
    grantFactory: options.grantFactory,
  });
  const server = new BrokerGrpcServer({ config: config.server, broker, logger });
  let addresses: readonly BoundAddress[];
  try {
    // Before listening: a connector's first call after a restart is served from the store.
    await broker.restore();
    addresses = await server.start();
  } catch (error) {
    await server.stop(0);
    await transport.close();
    await store.close();
    throw error;
  }
  // Tokens come due between calls too: the sweep refreshes them ahead of expiry
  // (and warms mailboxes that need no person) so no connector waits on a server.
  broker.sweep();
  const sweeper = cron.schedule(`*/${config.refresh.sweepIntervalSeconds} * * * * *`, () => void broker.sweep(), { noOverlap: true });
  logger.info({ mailboxes: config.mailboxes.size, config: config.source, store: store.description }, 'token-broker started');

  return {
    addresses,
    broker,
    async stop(graceMs = 10_000) {
      await sweeper.stop();
      await server.stop(graceMs);
      await broker.drain();
      await transport.close();
      await store.close();
      for (const address of config.server.listen) {
        if (address.kind === 'unix') await unlink(address.path).catch(() => undefined);
      }
      logger.info('token-broker stopped');
    },
  };
}
