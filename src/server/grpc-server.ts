// The broker's gRPC server: TokenBroker and BrokerAdmin, grpc.health.v1 and
// server reflection on every configured listener, with an explicit lifecycle
// (start, then graceful stop with a forced end after a grace period). Health
// is SERVING only between start and stop, and while the daemon says the
// broker can do its job (setServing).
import { Server } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import { ReflectionService } from '@grpc/reflection';
import type { Logger } from 'pino';
import type { TokenBroker } from '../broker/index.js';
import type { ClientConfig, ServerConfig } from '../config/index.js';
import { loadBrokerProto, TOKEN_BROKER_SERVICE_NAME, BROKER_ADMIN_SERVICE_NAME } from '../proto/index.js';
import { brokerAdminService } from './broker-admin-service.js';
import { ClientAuthenticator } from './client-auth.js';
import { bindAll } from './listeners.js';
import type { ReloadHandler } from './reload-handler.js';
import type { BoundAddress } from './listeners.js';
import { tokenBrokerService } from './token-broker-service.js';
import type { TokenBrokerHandlers } from './token-broker-service.js';

const HEALTH_SERVICES = ['', TOKEN_BROKER_SERVICE_NAME, BROKER_ADMIN_SERVICE_NAME] as const;

export interface GrpcServerOptions {
  readonly config: ServerConfig;
  readonly broker: TokenBroker;
  readonly logger: Logger;
  /** Serves the Reload RPC; without it Reload is UNIMPLEMENTED. */
  readonly reload?: ReloadHandler;
}

export class BrokerGrpcServer {
  readonly #server: Server;
  readonly #health = new HealthImplementation({ '': 'NOT_SERVING', [TOKEN_BROKER_SERVICE_NAME]: 'NOT_SERVING', [BROKER_ADMIN_SERVICE_NAME]: 'NOT_SERVING' });
  #healthStatus: 'SERVING' | 'NOT_SERVING' = 'NOT_SERVING';
  readonly #options: GrpcServerOptions;
  readonly #tokenBroker: TokenBrokerHandlers;
  readonly #auth: ClientAuthenticator;
  #addresses: BoundAddress[] = [];
  #phase: 'created' | 'listening' | 'stopped' = 'created';
  /** What the daemon last said (setServing); applies only while listening. */
  #serving = true;

  constructor(options: GrpcServerOptions) {
    this.#options = options;
    const proto = loadBrokerProto();
    this.#auth = new ClientAuthenticator(options.config.clients);
    // With mTLS the interceptor records each call's client certificate, so a reload may add certificate clients.
    const mutualTls = options.config.tls?.clientCaFile !== undefined;
    this.#server = new Server({ 'grpc.max_receive_message_length': 64 * 1024, interceptors: mutualTls ? [this.#auth.interceptor] : [] });
    this.#tokenBroker = tokenBrokerService(options.broker, this.#auth);
    this.#server.addService(proto.tokenBrokerService, this.#tokenBroker.implementation);
    this.#server.addService(proto.brokerAdminService, brokerAdminService(options.broker, this.#auth, options.reload));
    this.#health.addToServer(this.#server);
    // Health too, so grpcurl and other generic clients see every service served.
    new ReflectionService({ ...proto.packageDefinition, ...loadSync(healthProtoPath) }).addToServer(this.#server);
  }

  get addresses(): readonly BoundAddress[] {
    return this.#addresses;
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
   * trusted) from the next call on, and ends open WatchToken streams the new
   * list no longer allows. Returns how many streams ended.
   */
  replaceClients(clients: readonly ClientConfig[] | undefined): number {
    this.#auth.replace(clients);
    return this.#tokenBroker.recheckWatches();
  }

  /** Stops accepting calls, lets calls in flight finish for up to `graceMs`, then ends the rest. */
  async stop(graceMs = 10_000): Promise<void> {
    this.#phase = 'stopped';
    this.#applyHealth();
    // Streams never finish by themselves: end them so the grace period is for unary calls.
    this.#tokenBroker.endWatches('token-broker is shutting down; reconnect (to another instance, or once it is back).');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#server.forceShutdown();
        resolve();
      }, graceMs);
      timer.unref();
      this.#server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  #applyHealth(): void {
    const status = this.#phase === 'listening' && this.#serving ? 'SERVING' : 'NOT_SERVING';
    // Health watchers hear every setStatus: only changes are sent.
    if (status === this.#healthStatus) return;
    this.#healthStatus = status;
    for (const service of HEALTH_SERVICES) this.#health.setStatus(service, status);
  }
}
