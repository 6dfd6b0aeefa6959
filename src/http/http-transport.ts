// The one HTTP seam of the broker: every request to an authorization server
// (msal-node and openid-client alike) goes through here, on an undici
// dispatcher chosen by (proxy, extra CAs), so proxies and trust are set in
// one place and transport failures become BrokerErrors.
import { createHash } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { Agent, ProxyAgent, fetch as undiciFetch } from 'undici';
import type { Dispatcher, RequestInit as UndiciRequestInit, Response as UndiciResponse } from 'undici';
import { classifyTransportError } from './transport-errors.js';

export interface ProxyRoute {
  readonly name: string;
  /** http(s)://host:port without credentials. */
  readonly url: string;
  readonly username?: string;
  /** Revealed only here, to build the Proxy-Authorization header. */
  readonly password?: { reveal(): string };
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

const DEFAULT_TIMEOUT_MS = 30_000;

export class HttpTransport {
  readonly #dispatchers = new Map<string, Dispatcher>();
  readonly #timeoutMs: number;

  constructor(options: { timeoutMs?: number } = {}) {
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** A fetch bound to one route, the shape openid-client's customFetch expects. */
  fetchFor(route: RouteOptions): (url: string | URL, init?: UndiciRequestInit) => Promise<UndiciResponse> {
    const dispatcher = this.#dispatcherFor(route);
    return async (url, init) => {
      try {
        return await undiciFetch(url, {
          ...init,
          dispatcher,
          signal: init?.signal ?? AbortSignal.timeout(this.#timeoutMs),
        });
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
    await Promise.all(dispatchers.map((dispatcher) => dispatcher.close()));
  }

  #dispatcherFor(route: RouteOptions): Dispatcher {
    const key = routeKey(route);
    let dispatcher = this.#dispatchers.get(key);
    if (dispatcher === undefined) {
      dispatcher = createDispatcher(route);
      this.#dispatchers.set(key, dispatcher);
    }
    return dispatcher;
  }
}

function routeKey(route: RouteOptions): string {
  // Mailboxes with the same proxy, credentials and trust anchors share
  // connections; hashed so no password sits in a map key.
  const hash = createHash('sha256');
  if (route.proxy !== undefined) {
    const { name, url, username, password } = route.proxy;
    hash.update(JSON.stringify([name, url, username ?? '', password?.reveal() ?? '']));
  }
  for (const ca of route.caCertificates ?? []) hash.update(ca);
  return hash.digest('base64');
}

function createDispatcher(route: RouteOptions): Dispatcher {
  const extraCas = route.caCertificates ?? [];
  // An explicit `ca` replaces Node's default roots, so keep them alongside the extra anchors.
  const tls = extraCas.length === 0 ? {} : { ca: [...rootCertificates, ...extraCas] };
  if (route.proxy === undefined) {
    return new Agent({ connect: tls });
  }
  const { username, password, url } = route.proxy;
  const token =
    username === undefined ? undefined : `Basic ${Buffer.from(`${username}:${password?.reveal() ?? ''}`).toString('base64')}`;
  return new ProxyAgent({ uri: url, ...(token === undefined ? {} : { token }), requestTls: tls, proxyTls: tls });
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
