// The broker's gRPC server: TokenBroker and BrokerAdmin, grpc.health.v1 and
// server reflection on every configured listener, with an explicit lifecycle
// (start, then graceful stop with a forced end after a grace period). Health
// is SERVING only between start and stop, and while the daemon says the
// broker can do its job (setServing).
import { loadSync } from '@grpc/proto-loader';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import { ReflectionService } from '@grpc/reflection';
import type { Logger } from 'pino';
import type { TokenBroker } from '../broker/index.js';
import type { ClientConfig, ServerConfig, ServerLimitsConfig } from '../config/index.js';
import { loadBrokerProto, TOKEN_BROKER_SERVICE_NAME, BROKER_ADMIN_SERVICE_NAME } from '../proto/index.js';
import type { AuditLog } from '../audit/index.js';
import type { Clock } from '../time/index.js';
import { brokerAdminService } from './broker-admin-service.js';
import { CallAudit } from './call-audit.js';
import type { CallObserver } from './call-audit.js';
import { CallTracker } from './call-tracker.js';
import { ClientAuthenticator } from './client-auth.js';
import { connectionOptions, DEFAULT_CONNECTION_LIMITS } from './connection-limits.js';
import type { ConnectionLimits } from './connection-limits.js';
import { bindAll } from './listeners.js';
import type { ReloadHandler } from './reload-handler.js';
import type { BoundAddress } from './listeners.js';
import { tokenBrokerService } from './token-broker-service.js';
import { DecodeGuardedServer, undecodableRequestInterceptor } from './undecodable-request.js';
import type { TokenBrokerHandlers } from './token-broker-service.js';

const HEALTH_SERVICES = ['', TOKEN_BROKER_SERVICE_NAME, BROKER_ADMIN_SERVICE_NAME] as const;

export interface GrpcServerOptions {
  readonly config: ServerConfig;
  readonly broker: TokenBroker;
  readonly logger: Logger;
  /** Serves the Reload RPC; without it Reload is UNIMPLEMENTED. */
  readonly reload?: ReloadHandler;
  /** Overrides of DEFAULT_CONNECTION_LIMITS (tests: timeouts of a few hundred milliseconds). */
  readonly connectionLimits?: Partial<ConnectionLimits>;
  /** Where tokens handed out, authorizations and admin calls are recorded (audit.file); none without. */
  readonly audit?: AuditLog;
  /** Times the clients' call budgets; default real time. */
  readonly clock?: Clock;
  /** Hears each call as answered (the metrics); none by default. */
  readonly onCall?: CallObserver;
}

/** What status a stream, or a call cut by the stop, ends with: UNAVAILABLE and this. */
const SHUTTING_DOWN = 'token-broker is shutting down; reconnect (to another instance, or once it is back).';
/** After the grace period: how long the connections get to close once their last calls were answered, before they are dropped. */
const CLOSE_AFTER_CUT_MS = 1_000;

/** How a stop went: the unary calls in flight when it began, and how many of them it cut. */
export interface StopOutcome {
  readonly inFlight: number;
  readonly cut: number;
}

export class BrokerGrpcServer {
  readonly #server: DecodeGuardedServer;
  readonly #health = new HealthImplementation({ '': 'NOT_SERVING', [TOKEN_BROKER_SERVICE_NAME]: 'NOT_SERVING', [BROKER_ADMIN_SERVICE_NAME]: 'NOT_SERVING' });
  #healthStatus: 'SERVING' | 'NOT_SERVING' = 'NOT_SERVING';
  readonly #options: GrpcServerOptions;
  readonly #tokenBroker: TokenBrokerHandlers;
  readonly #auth: ClientAuthenticator;
  readonly #calls = new CallTracker();
  #addresses: BoundAddress[] = [];
  #phase: 'created' | 'listening' | 'stopped' = 'created';
  /** What the daemon last said (setServing); applies only while listening. */
  #serving = true;

  constructor(options: GrpcServerOptions) {
    this.#options = options;
    const proto = loadBrokerProto();
    this.#auth = new ClientAuthenticator(options.config.clients, options.broker, options.clock);
    // With mTLS the interceptor records each call's client certificate, so a reload may add certificate clients.
    const mutualTls = options.config.tls?.clientCaFile !== undefined;
    // The call tracker first, so it sees the status of an undecodable request too.
    const interceptors = [this.#calls.interceptor, undecodableRequestInterceptor, ...(mutualTls ? [this.#auth.interceptor] : [])];
    const limits = { ...DEFAULT_CONNECTION_LIMITS, ...limitsOf(options.config.limits), ...options.connectionLimits };
    this.#server = new DecodeGuardedServer({ ...connectionOptions(limits), interceptors });
    const audit = new CallAudit(options.audit, this.#auth, options.onCall);
    this.#tokenBroker = tokenBrokerService(options.broker, this.#auth, audit);
    this.#server.addService(proto.tokenBrokerService, this.#tokenBroker.implementation);
    this.#server.addService(proto.brokerAdminService, brokerAdminService(options.broker, this.#auth, audit, options.reload));
    this.#health.addToServer(this.#server);
    // Health too, so grpcurl and other generic clients see every service served.
    new ReflectionService({ ...proto.packageDefinition, ...loadSync(healthProtoPath) }).addToServer(this.#server);
  }

  get addresses(): readonly BoundAddress[] {
    return this.#addresses;
  }

  /** What grpc.health.v1 reports now: listening, not stopped, and the daemon said the broker can do its job. */
  get serving(): boolean {
    return this.#healthStatus === 'SERVING';
  }

  /** WatchToken streams open now. */
  get openWatchStreams(): number {
    return this.#tokenBroker.openWatches;
  }

  async start(): Promise<readonly BoundAddress[]> {
    this.#addresses = await bindAll(this.#server, this.#options.config);
    if (this.#phase === 'created') this.#phase = 'listening';
    this.#applyHealth();
    this.#options.logger.info({ listen: this.#addresses.map((address) => address.url) }, 'gRPC server listening');
    return this.#addresses;
  }

  /**
   * Whether the broker can do its job (false while the token store does not
   * answer): grpc.health.v1 reports SERVING or NOT_SERVING for "" and every
   * broker service accordingly. Before start and from stop on, health stays
   * NOT_SERVING whatever this says. Calls are served either way.
   */
  setServing(serving: boolean): void {
    this.#serving = serving;
    this.#applyHealth();
  }

  /**
   * Applies a reloaded server.clients (undefined: no list, every caller
   * trusted) from the next call on, resolving its patterns against the
   * engine's mailboxes as they are now (so call it once the engine applied
   * the reload), and ends open WatchToken streams the new list no longer
   * allows. Returns how many streams ended.
   */
  replaceClients(clients: readonly ClientConfig[] | undefined): number {
    this.#auth.replace(clients);
    return this.#tokenBroker.recheckWatches();
  }

  /**
   * Stops accepting connections and calls, ends every stream, lets the unary
   * calls in flight finish for up to `graceMs` (or until `force` aborts), then
   * answers the rest UNAVAILABLE. Logs and returns how many it cut.
   */
  async stop(graceMs = 10_000, force?: AbortSignal): Promise<StopOutcome> {
    const { logger } = this.#options;
    this.#phase = 'stopped';
    this.#applyHealth();
    // Streams never finish by themselves (WatchToken, a health Watch, a reflection session): end them so the grace period is for unary calls.
    this.#tokenBroker.endWatches(SHUTTING_DOWN);
    this.#calls.endStreams(SHUTTING_DOWN);
    const inFlight = this.#calls.unaryInFlight;
    // Closes the listeners at once; each connection closes once its last call is answered.
    const closed = new Promise<void>((resolve) => this.#server.tryShutdown(() => resolve()));
    if (inFlight > 0) logger.info({ calls: inFlight, graceMs }, `waiting up to ${graceMs / 1000} s for ${inFlight} calls in flight`);
    const cutBy = await Promise.race([closed.then(() => undefined), elapsed(graceMs, `the ${graceMs / 1000} s grace period ran out`), aborted(force, 'a second signal asked to stop at once')]);
    const cut = cutBy === undefined ? 0 : this.#calls.endAll(`token-broker stopped before this call was answered (${cutBy}); retry, on another instance or once it is back.`);
    if (cut > 0) logger.warn({ calls: inFlight, cut }, `${cut} calls in flight cut (${cutBy}), answered UNAVAILABLE; ${inFlight - cut} finished`);
    else if (inFlight > 0) logger.info({ calls: inFlight }, `all ${inFlight} calls in flight finished`);
    // Answered calls let their connections close; one that still does not is dropped.
    if (cutBy !== undefined && !(await Promise.race([closed.then(() => true), elapsed(CLOSE_AFTER_CUT_MS, false)]))) this.#server.forceShutdown();
    return { inFlight, cut };
  }

  #applyHealth(): void {
    const status = this.#phase === 'listening' && this.#serving ? 'SERVING' : 'NOT_SERVING';
    // Health watchers hear every setStatus: only changes are sent.
    if (status === this.#healthStatus) return;
    this.#healthStatus = status;
    for (const service of HEALTH_SERVICES) this.#health.setStatus(service, status);
  }
}

/** Resolves with `value` after `ms` (without keeping the process alive). */
function elapsed<T>(ms: number, value: T): Promise<T> {
  return new Promise((resolve) => setTimeout(resolve, ms, value).unref());
}

/** Resolves with `value` once `signal` aborts; never without one. */
function aborted<T>(signal: AbortSignal | undefined, value: T): Promise<T> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) resolve(value);
    else signal?.addEventListener('abort', () => resolve(value), { once: true });
  });
}

/** The connection limits server.limits sets (the rest keep their defaults). */
function limitsOf(config: ServerLimitsConfig | undefined): Partial<ConnectionLimits> {
  if (config === undefined) return {};
  return {
    ...(config.maxRequestBytes === undefined ? {} : { maxReceiveMessageBytes: config.maxRequestBytes }),
    ...(config.maxStreamsPerConnection === undefined ? {} : { maxConcurrentStreams: config.maxStreamsPerConnection }),
    ...(config.idleConnectionSeconds === undefined ? {} : { idleMs: config.idleConnectionSeconds * 1000 }),
  };
}
