// The metrics listener (metrics.listen): GET /metrics, /healthz and /readyz
// on loopback TCP or a unix socket. node:http and not a framework: three
// fixed paths, no request bodies, no parameters; a framework would add a
// dependency and more surface to an endpoint without authentication.
// Nothing it answers carries a secret: metric names, labels (mailbox and
// server names, error codes) and one-line reasons.
import { chmod, unlink } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { isLoopbackHost } from '../config/index.js';
import type { ListenAddress } from '../config/index.js';
import { clearUnixSocketPath, listenError } from '../server/index.js';

/** Longer request targets get 414: the three paths are short, and nothing longer is worth parsing. */
export const MAX_TARGET_LENGTH = 1024;
/** Node's own limit on the request line and headers (431 past it); Prometheus sends a few hundred bytes. */
const MAX_HEADER_BYTES = 8 * 1024;
/** A client that does not finish sending its request in this time is cut (slow-loris). */
const REQUEST_TIMEOUT_MS = 10_000;
/** Prometheus scrapes one target at a time: a few connections are plenty; more are refused. */
const MAX_CONNECTIONS = 32;

export interface MetricsServerOptions {
  readonly address: ListenAddress;
  /** Permission bits of a unix socket (server.socketMode: whoever may call the broker may read its metrics). */
  readonly socketMode: number;
  /** Whether per-mailbox series are served: named in the warning about a non-loopback address. */
  readonly perMailbox: boolean;
  /** The text exposition and its content type. */
  readonly metrics: { metrics(): Promise<string>; readonly contentType: string };
  /** Why the broker is not ready (one line), or undefined when it is: serving gRPC with the store answering. */
  readonly notReady: () => string | undefined;
  readonly logger: Logger;
}

export class MetricsServer {
  readonly #server: Server;
  readonly #options: MetricsServerOptions;
  #url = '';

  private constructor(options: MetricsServerOptions) {
    this.#options = options;
    this.#server = createServer({ maxHeaderSize: MAX_HEADER_BYTES, requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: REQUEST_TIMEOUT_MS }, (request, response) => {
      this.#answer(request, response).catch((error: unknown) => {
        options.logger.error({ err: error }, 'metrics listener: answering a request failed');
        if (!response.headersSent) send(response, 500, 'internal error; see the broker log\n');
        else response.destroy();
      });
    });
    this.#server.maxConnections = MAX_CONNECTIONS;
  }

  /** Listens on options.address; a failure is a BrokerError (config_invalid) naming metrics.listen. */
  static async start(options: MetricsServerOptions): Promise<MetricsServer> {
    const server = new MetricsServer(options);
    await server.#listen();
    return server;
  }

  /** Where it listens: http://host:port (the port bound, when the config said 0) or unix:///path. */
  get url(): string {
    return this.#url;
  }

  /** Stops listening and cuts open connections (a scrape in flight is lost: Prometheus retries). */
  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
    const { address } = this.#options;
    if (address.kind === 'unix') await unlink(address.path).catch(() => undefined);
  }

  async #listen(): Promise<void> {
    const { address, logger, perMailbox } = this.#options;
    if (address.kind === 'unix') await clearUnixSocketPath(address, 'metrics.listen');
    try {
      await new Promise<void>((resolve, reject) => {
        const listening = (): void => {
          this.#server.off('error', reject);
          resolve();
        };
        this.#server.once('error', reject);
        if (address.kind === 'unix') this.#server.listen(address.path, listening);
        else this.#server.listen(address.port, address.host, listening);
      });
    } catch (error) {
      throw listenError(
        `cannot listen on ${address.url} (metrics.listen): ${(error as Error).message}.`,
        'Check that the address is free and that the broker may bind it, or change metrics.listen (or remove the metrics section).',
        error,
      );
    }
    this.#server.on('error', (error) => logger.error({ err: error }, 'metrics listener failed'));
    if (address.kind === 'unix') {
      await chmod(address.path, this.#options.socketMode);
      this.#url = address.url;
    } else {
      const { port } = this.#server.address() as AddressInfo;
      this.#url = `http://${address.host.includes(':') ? `[${address.host}]` : address.host}:${port}`;
      const warning = exposureWarning(address, perMailbox);
      if (warning !== undefined) logger.warn({ listen: address.url }, warning);
    }
    logger.info({ listen: this.#url }, 'metrics listening (/metrics, /healthz, /readyz)');
  }

  async #answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const target = request.url ?? '/';
    if (target.length > MAX_TARGET_LENGTH) {
      send(response, 414, `request target longer than ${MAX_TARGET_LENGTH} characters; the paths are /metrics, /healthz and /readyz\n`);
      return;
    }
    const query = target.indexOf('?');
    const path = query === -1 ? target : target.slice(0, query);
    if (path !== '/metrics' && path !== '/healthz' && path !== '/readyz') {
      send(response, 404, 'not found; the paths are /metrics, /healthz and /readyz\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      send(response, 405, `${path} answers GET and HEAD only\n`);
      return;
    }
    if (path === '/healthz') {
      send(response, 200, 'ok\n');
    } else if (path === '/readyz') {
      const reason = this.#options.notReady();
      send(response, reason === undefined ? 200 : 503, reason === undefined ? 'ready\n' : `not ready: ${reason}\n`);
    } else {
      const { metrics } = this.#options;
      const body = await metrics.metrics();
      send(response, 200, body, metrics.contentType);
    }
  }
}

/** The warning for a listener other hosts may reach (a TCP host that is not loopback); undefined for loopback and unix sockets. */
export function exposureWarning(address: ListenAddress, perMailbox: boolean): string | undefined {
  if (address.kind === 'unix' || isLoopbackHost(address.host)) return undefined;
  const named = perMailbox ? ' and its per-mailbox series name every mailbox' : '';
  return `metrics.listen ${address.url} is not a loopback address: /metrics has no authentication${named}; let only Prometheus reach it (firewall), or listen on 127.0.0.1 or a unix socket.`;
}

/** Answers with `body` (HEAD: node leaves the body out); never cached, since every answer is about now. */
function send(response: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  response.writeHead(status, { 'Content-Type': contentType, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
  response.end(body);
}
