// The one HTTP seam of the broker: every request to an authorization server
// (msal-node and openid-client alike) goes through here, on an undici
// dispatcher chosen by (proxy, extra CAs), so proxies and trust are set in
// one place and transport failures become BrokerErrors. TLS contexts and
// connections are kept: a daemon with thousands of mailboxes refreshes in
// sweeps, and setting up TLS again at every sweep shows in GetToken latency.
import { createHash } from 'node:crypto';
// The module object, not a named import: tests count the contexts made through it.
import tls from 'node:tls';
import type { SecureContext } from 'node:tls';
import { Agent, EnvHttpProxyAgent, ProxyAgent, Socks5ProxyAgent, fetch as undiciFetch } from 'undici';
import type { Dispatcher, RequestInit as UndiciRequestInit, Response as UndiciResponse } from 'undici';
import { challengeReadingClient } from './proxy-challenge.js';
import { classifyTransportError } from './transport-errors.js';

export interface ProxyRoute {
  readonly name: string;
  /** http(s)://host:port or socks5(h)://host:port, without credentials. */
  readonly url: string;
  readonly username?: string;
  /** Revealed only here, to build the Proxy-Authorization header. */
  readonly password?: { reveal(): string };
  /** Hosts reached directly (NO_PROXY syntax), for an HTTP proxy. */
  readonly noProxy?: readonly string[];
  /** HTTP_PROXY, HTTPS_PROXY and NO_PROXY of the environment instead of `url`. */
  readonly fromEnvironment?: boolean;
}

export interface RouteOptions {
  readonly proxy?: ProxyRoute;
  /** PEM texts trusted in addition to the system roots. */
  readonly caCertificates?: readonly string[];
  /** For error messages. */
  readonly mailbox?: string;
  readonly authorizationServer?: string;
}

export interface HttpResponse {
  readonly status: number;
  /** Lower-case header names. */
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface HttpRequest {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly timeoutMs?: number;
}

export interface HttpTransportOptions {
  readonly timeoutMs?: number;
  /**
   * Connections kept per origin and route: refresh.maxConcurrentPerServer, as
   * no more token requests than that are in flight to one server. The value
   * at start applies for the transport's life: a reload that changes the cap
   * keeps the pools (rebuilding them would drop every kept connection, and
   * tie the reloader to the transport); a lowered cap leaves connections idle
   * until they time out, a raised one queues the extra requests here for a
   * free connection until the next restart.
   */
  readonly connectionsPerOrigin?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
/** refresh.maxConcurrentPerServer's default, for transports made without a config (tests, tools). */
const DEFAULT_CONNECTIONS_PER_ORIGIN = 16;
/**
 * How long an idle connection is kept. Sweeps run at most 59 s apart
 * (refresh.sweepIntervalSeconds), so a connection outlives several of them,
 * whatever a reload does to the interval; undici's default (4 s) closed it
 * between every two. A server announcing a shorter `Keep-Alive: timeout` is
 * believed (undici keeps min(its value - 2 s, KEEP_ALIVE_MS)), and a
 * connection the server closed anyway is simply opened again.
 */
const KEEP_ALIVE_MS = 5 * 60_000;

export class HttpTransport {
  readonly #dispatchers = new Map<string, Dispatcher>();
  /** One TLS context per trust configuration (the system roots alone are one too), by trustKey. */
  readonly #secureContexts = new Map<string, SecureContext>();
  readonly #timeoutMs: number;
  readonly #connectionsPerOrigin: number;

  constructor(options: HttpTransportOptions = {}) {
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#connectionsPerOrigin = options.connectionsPerOrigin ?? DEFAULT_CONNECTIONS_PER_ORIGIN;
    if (!Number.isInteger(this.#connectionsPerOrigin) || this.#connectionsPerOrigin < 1) {
      throw new RangeError(`connectionsPerOrigin must be a positive integer, got ${String(this.#connectionsPerOrigin)}`);
    }
  }

  /** A fetch bound to one route, the shape openid-client's customFetch expects. */
  fetchFor(route: RouteOptions): (url: string | URL, init?: UndiciRequestInit) => Promise<UndiciResponse> {
    const dispatcher = this.#dispatcherFor(route);
    return async (url, init) => {
      try {
        const response = await undiciFetch(url, {
          ...init,
          dispatcher,
          signal: init?.signal ?? AbortSignal.timeout(this.#timeoutMs),
        });
        // The whole body arrives here, while a failure can still be named: a
        // body cut short would otherwise fail later inside openid-client, as
        // a parse error of an answer it calls not OAuth. Reading a clone
        // leaves the response's own body (now buffered) to its reader.
        await response.clone().arrayBuffer();
        return response;
      } catch (error) {
        throw classifyTransportError(error, contextFor(new URL(String(url)), route));
      }
    };
  }

  /** Sends a request and reads the whole body; throws a BrokerError on transport failure, not on HTTP status. */
  async send(request: HttpRequest, route: RouteOptions): Promise<HttpResponse> {
    const url = new URL(request.url);
    const dispatcher = this.#dispatcherFor(route);
    try {
      const response = await undiciFetch(url, {
        method: request.method,
        headers: request.headers,
        body: request.body,
        dispatcher,
        signal: AbortSignal.timeout(request.timeoutMs ?? this.#timeoutMs),
      });
      const body = await response.text();
      const headers: Record<string, string> = {};
      response.headers.forEach((value, name) => {
        headers[name] = value;
      });
      return { status: response.status, headers, body };
    } catch (error) {
      throw classifyTransportError(error, contextFor(url, route));
    }
  }

  async close(): Promise<void> {
    const dispatchers = [...this.#dispatchers.values()];
    this.#dispatchers.clear();
    this.#secureContexts.clear();
    await Promise.all(dispatchers.map((dispatcher) => dispatcher.close()));
  }

  #dispatcherFor(route: RouteOptions): Dispatcher {
    const key = routeKey(route);
    let dispatcher = this.#dispatchers.get(key);
    if (dispatcher === undefined) {
      dispatcher = this.#createDispatcher(route);
      this.#dispatchers.set(key, dispatcher);
    }
    return dispatcher;
  }

  #createDispatcher(route: RouteOptions): Dispatcher {
    // undici hands `secureContext` to tls.connect as is; with `ca` instead,
    // every connection parsed ~140 root certificates again (20+ ms of event
    // loop, and native memory not given back).
    const connectTls = { secureContext: this.#secureContextFor(route.caCertificates ?? []) };
    const connections = {
      connections: this.#connectionsPerOrigin,
      keepAliveTimeout: KEEP_ALIVE_MS,
      keepAliveMaxTimeout: KEEP_ALIVE_MS,
      // HTTP/1.1 pipelining off: a slow token answer would hold up those queued behind it, and a POST
      // cut off mid-pipeline cannot be retried.
      pipelining: 1,
    };
    if (route.proxy === undefined) {
      return new Agent({ ...connections, connect: connectTls });
    }
    const { username, password, url, noProxy, fromEnvironment } = route.proxy;
    if (isSocksUrl(url)) return socksDispatcher(url, username, password?.reveal(), connectTls);
    const token =
      username === undefined ? undefined : `Basic ${Buffer.from(`${username}:${password?.reveal() ?? ''}`).toString('base64')}`;
    const proxied = {
      ...(token === undefined ? {} : { token }),
      ...connections,
      // The same trust for the target through the tunnel and for an https proxy itself.
      requestTls: connectTls,
      proxyTls: connectTls,
      clientFactory: challengeReadingClient,
    };
    // undici's EnvHttpProxyAgent does the NO_PROXY matching (host, subdomains, port) for
    // both: the environment's variables, or a configured proxy with its noProxy list.
    // `connect` is for the hosts it reaches directly.
    if (fromEnvironment === true) return new EnvHttpProxyAgent({ ...proxied, connect: connectTls });
    if (noProxy !== undefined && noProxy.length > 0) {
      return new EnvHttpProxyAgent({ ...proxied, connect: connectTls, httpProxy: url, httpsProxy: url, noProxy: noProxy.join(',') });
    }
    return new ProxyAgent({ uri: url, ...proxied });
  }

  #secureContextFor(extraCas: readonly string[]): SecureContext {
    const key = trustKey(extraCas);
    let context = this.#secureContexts.get(key);
    if (context === undefined) {
      // An explicit `ca` replaces Node's default roots, so keep them alongside the extra anchors.
      context = tls.createSecureContext(extraCas.length === 0 ? {} : { ca: [...tls.rootCertificates, ...extraCas] });
      this.#secureContexts.set(key, context);
    }
    return context;
  }
}

function isSocksUrl(url: string): boolean {
  return url.startsWith('socks5://') || url.startsWith('socks5h://');
}

/**
 * undici's SOCKS5 agent (both OAuth libraries already run on undici; an
 * http.Agent such as proxy-agent's would not reach them). It always hands the
 * target's host name to the proxy, which resolves it: socks5:// behaves as
 * socks5h://, which is what offices whose DNS only the proxy sees need. It
 * knows only the socks5: scheme. Its per-origin pools take their connection
 * limit from each request, not from here, so the per-origin cap does not
 * apply through SOCKS5 (token requests are capped upstream by the refresh
 * engine's maxConcurrentPerServer anyway).
 */
function socksDispatcher(url: string, username: string | undefined, password: string | undefined, requestTls: { secureContext: SecureContext }): Dispatcher {
  // requestTls (TLS to the target through the tunnel) is read by undici but missing from its types.
  const options: Socks5ProxyAgent.Options & { requestTls: { secureContext: SecureContext } } = {
    requestTls,
    ...(username === undefined ? {} : { username, password: password ?? '' }),
  };
  return new Socks5ProxyAgent(url.replace(/^socks5h:/, 'socks5:'), options);
}

/** A digest of the extra CA PEMs, in order; JSON-encoded so no two lists hash alike. */
function trustKey(extraCas: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify(extraCas)).digest('base64');
}

function routeKey(route: RouteOptions): string {
  // Mailboxes with the same proxy, credentials and trust anchors share
  // connections; hashed so no password sits in a map key.
  const hash = createHash('sha256');
  if (route.proxy !== undefined) {
    const { name, url, username, password, noProxy, fromEnvironment } = route.proxy;
    hash.update(JSON.stringify([name, url, username ?? '', password?.reveal() ?? '', noProxy ?? [], fromEnvironment === true]));
  }
  hash.update(trustKey(route.caCertificates ?? []));
  return hash.digest('base64');
}

function contextFor(url: URL, route: RouteOptions) {
  return {
    target: url.host,
    proxyName: route.proxy?.name,
    proxyUrl: route.proxy?.url,
    mailbox: route.mailbox,
    authorizationServer: route.authorizationServer,
  };
}
