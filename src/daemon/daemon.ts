// The composition root of `token-broker serve`: the HTTP seam, the engine and
// the gRPC server built from one validated config, reloaded in place (SIGHUP,
// the Reload RPC, a change of the file), health following the token store,
// and stopped in reverse.
import { unlink } from 'node:fs/promises';
import type { Logger } from 'pino';
import { AuditLog } from '../audit/index.js';
import { TokenBroker } from '../broker/index.js';
import type { GrantFactory } from '../broker/index.js';
import type { BrokerConfig } from '../config/index.js';
import { serverTlsCertificateDeaths } from '../forecast/index.js';
import { HttpTransport } from '../http/index.js';
import type { CredentialDeath } from '../forecast/credential-death.js';
import { BrokerMetrics, MetricsServer } from '../metrics/index.js';
import { BrokerGrpcServer } from '../server/index.js';
import { openTokenStore } from '../store/index.js';
import type { BoundAddress, ConnectionLimits, ReloadOutcome } from '../server/index.js';
import { systemClock, systemScheduler } from '../time/index.js';
import type { Clock, Scheduler } from '../time/index.js';
import { ConfigFileWatcher } from './config-watcher.js';
import { ConfigReloader } from './reloader.js';
import type { ReloadTrigger } from './reloader.js';
import { StoreHealthMonitor } from './store-health.js';
import { SweepSchedule } from './sweep-schedule.js';

export interface DaemonOptions {
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Runs the refresh sweep and the config watch's debounce; default real time. */
  readonly scheduler?: Scheduler;
  /** For tests: replace how grants are made. */
  readonly grantFactory?: GrantFactory;
  /** Reload by itself when the config file's content changes; default false (`serve` turns it on). */
  readonly watchConfig?: boolean;
  /** How often the token store is probed for grpc.health.v1; default 5 s. */
  readonly storeProbeIntervalMs?: number;
  /** How long one HTTP request to an authorization server may take; default the transport's 30 s. */
  readonly httpTimeoutMs?: number;
  /** For tests: shorter connection timeouts of the gRPC server (default DEFAULT_CONNECTION_LIMITS). */
  readonly connectionLimits?: Partial<ConnectionLimits>;
  /** `serve --strict`: reloads load the config strictly too (LoadOptions.strict). */
  readonly strictConfig?: boolean;
  /** For tests: the server.tls certificates' deaths (warnings and metrics); default the forecast's serverTlsCertificateDeaths(config). */
  readonly serverCertificateDeaths?: () => readonly CredentialDeath[];
}

export interface RunningDaemon {
  readonly addresses: readonly BoundAddress[];
  /** Where metrics.listen serves (http://host:port with the port bound, or unix:///path); undefined without metrics. */
  readonly metricsUrl: string | undefined;
  readonly broker: TokenBroker;
  /**
   * Re-reads config.source and applies it; on any problem keeps the running
   * config and returns applied: false with one line per error. Reloads run
   * one at a time. Never rejects.
   */
  reload(trigger: ReloadTrigger): Promise<ReloadOutcome>;
  /**
   * Stops accepting calls, lets those in flight finish for up to `graceMs`
   * (default 10 s), waits for token requests in flight, closes the store.
   * Once `force` aborts it cuts what is left and no longer waits for token requests.
   */
  stop(graceMs?: number, force?: AbortSignal): Promise<void>;
}

export async function startDaemon(config: BrokerConfig, options: DaemonOptions): Promise<RunningDaemon> {
  const { logger } = options;
  const clock = options.clock ?? systemClock;
  const scheduler = options.scheduler ?? systemScheduler;
  // Opened first: a file the broker may not write stops the start before anything is served without its record.
  const audit = config.audit === undefined ? undefined : await AuditLog.open(config.audit, clock, logger);
  let store;
  try {
    store = await openTokenStore(config.store, { logger, clock });
  } catch (error) {
    await audit?.close();
    throw error;
  }
  const transport = new HttpTransport({ connectionsPerOrigin: config.refresh.maxConcurrentPerServer, timeoutMs: options.httpTimeoutMs });
  const serverCertificateDeaths = options.serverCertificateDeaths ?? ((): readonly CredentialDeath[] => serverTlsCertificateDeaths(config));
  // Made first: the engine and the server report to it. It reads the parts made below only when scraped, once listening.
  const metrics: BrokerMetrics | undefined =
    config.metrics === undefined
      ? undefined
      : new BrokerMetrics({
          perMailbox: config.metrics.perMailbox,
          clock,
          sources: {
            statuses: () => broker.statuses(),
            watchStreams: () => server.openWatchStreams,
            store: () => storeHealth,
            serverCertificateDeaths,
          },
        });
  const broker: TokenBroker = new TokenBroker({
    mailboxes: config.mailboxes.values(),
    refresh: config.refresh,
    clock,
    logger,
    store,
    dependencies: { transport, clock, logger },
    grantFactory: options.grantFactory,
    onTokenRequest: metrics?.onTokenRequest,
    serverCredentialDeaths: serverCertificateDeaths,
  });
  // Tokens come due between calls too: the sweep refreshes them ahead of expiry
  // (and warms mailboxes that need no person) so no connector waits on a server.
  const sweeper = new SweepSchedule(() => void broker.sweep(), config.refresh.sweepIntervalSeconds, scheduler);
  // The server and the reloader know each other; the server only calls it once listening, after both exist.
  const server: BrokerGrpcServer = new BrokerGrpcServer({
    config: config.server,
    broker,
    logger,
    reload: () => reload('rpc'),
    connectionLimits: options.connectionLimits,
    audit,
    clock,
    onCall: metrics?.onCall,
  });
  // Every reload also reopens the audit file: logrotate's postrotate sends SIGHUP (systemctl reload) after moving it,
  // and the file must be reopened even when the new config has errors.
  const reload = (trigger: ReloadTrigger): Promise<ReloadOutcome> => {
    audit?.reopen();
    return reloader.reload(trigger);
  };
  const reloader: ConfigReloader = new ConfigReloader({ config, broker, clients: server, sweep: sweeper, logger, strict: options.strictConfig === true });
  // Health says NOT_SERVING while the store does not answer; GetToken goes on serving cached tokens.
  const storeHealth = new StoreHealthMonitor({ store, logger, intervalMs: options.storeProbeIntervalMs, onChange: (available) => server.setServing(available) });
  let addresses: readonly BoundAddress[] | undefined;
  let metricsServer: MetricsServer | undefined;
  try {
    // Before listening: a connector's first call after a restart is served from the store.
    await broker.restore();
    addresses = await server.start();
    // After the gRPC server binds, so /readyz can only say ready once it serves; a listen failure stops the start.
    if (config.metrics !== undefined && metrics !== undefined) {
      metricsServer = await MetricsServer.start({
        address: config.metrics.listen,
        socketMode: config.server.socketMode,
        perMailbox: config.metrics.perMailbox,
        metrics,
        notReady: () => notReady(server, storeHealth, store.description),
        logger,
      });
    }
  } catch (error) {
    await server.stop(0);
    await transport.close();
    await store.close();
    await audit?.close();
    // Only sockets this start bound: a failed bind may have met a live broker's socket, or a file that is no socket.
    if (addresses !== undefined) await unlinkSockets(config);
    throw error;
  }
  broker.sweep();
  sweeper.start();
  storeHealth.start();
  const watcher = options.watchConfig === true ? await ConfigFileWatcher.start({ file: config.source, logger, scheduler, onChange: () => reload('file') }) : undefined;
  logger.info({ mailboxes: config.mailboxes.size, config: config.source, store: store.description, watchConfig: watcher !== undefined, audit: audit?.description }, 'token-broker started');

  return {
    addresses,
    metricsUrl: metricsServer?.url,
    broker,
    reload,
    async stop(graceMs = 10_000, force?: AbortSignal) {
      // No reload may start (or be cut in half) while the parts it touches stop.
      await watcher?.stop();
      // Health stays NOT_SERVING from here on, whatever a probe in flight finds.
      storeHealth.stop();
      await reloader.close();
      await sweeper.stop();
      await server.stop(graceMs, force);
      // After the gRPC server: /readyz says 503 while the calls in flight finish.
      await metricsServer?.stop();
      // Token requests in flight are answered and written before the store closes: a rotated refresh token must not be lost.
      // A second signal stops that wait, as a kill would.
      const forced = new Promise<false>((resolve) => (force?.aborted === true ? resolve(false) : force?.addEventListener('abort', () => resolve(false), { once: true })));
      if (await Promise.race([broker.drain().then(() => true), forced])) await transport.close();
      else logger.warn('not waiting for token requests still in flight (second signal): a refresh token rotated in such an answer is lost');
      await store.close();
      await audit?.close();
      await unlinkSockets(config);
      logger.info('token-broker stopped');
    },
  };
}

/** The gRPC server's unix sockets: grpc-js leaves the files behind. */
async function unlinkSockets(config: BrokerConfig): Promise<void> {
  for (const address of config.server.listen) {
    if (address.kind === 'unix') await unlink(address.path).catch(() => undefined);
  }
}

/** /readyz: why the broker cannot do its job now (one line), or undefined when it serves with the store answering. */
function notReady(server: BrokerGrpcServer, storeHealth: StoreHealthMonitor, store: string): string | undefined {
  if (!storeHealth.available) return `token store ${store} does not answer its health check (see the broker's log); cached tokens are still served`;
  if (!server.serving) return 'the gRPC server is not serving (starting or stopping)';
  return undefined;
}
