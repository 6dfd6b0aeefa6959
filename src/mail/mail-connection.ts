// Opens the TCP connection to a mail server: directly, through an HTTP(S)
// proxy's CONNECT tunnel (undici's Client#connect, the library the broker's
// HTTP already runs on), or through a SOCKS5 proxy; `proxy: environment` as
// the broker's HTTP transport reads it (HTTPS_PROXY, HTTP_PROXY, NO_PROXY).
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { Client } from 'undici';
import type { ProxyRoute } from '../http/index.js';
import { connectFailure, proxyAuthFailed, proxyFailed, timedOut, cancelled } from './mail-errors.js';
import type { MailEndpoint } from './mail-errors.js';
import { socks5Connect, Socks5Refusal } from './socks5.js';

export interface ConnectionTarget {
  readonly host: string;
  readonly port: number;
  readonly proxy?: ProxyRoute;
  /** PEM trust for an https:// proxy itself (beside the system roots). */
  readonly ca?: string;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  readonly env?: NodeJS.ProcessEnv;
}

/** A proxy as used for one connection: its URL, and credentials from the config or the URL. */
interface ResolvedProxy {
  readonly name: string;
  readonly url: URL;
  readonly username?: string;
  readonly password?: string;
}

export interface OpenedConnection {
  readonly socket: Socket;
  readonly endpoint: MailEndpoint;
}

export async function openConnection(target: ConnectionTarget): Promise<OpenedConnection> {
  const proxy = target.proxy === undefined ? undefined : resolveProxy(target.proxy, target.host, target.port, target.env ?? process.env);
  const endpoint: MailEndpoint = {
    host: target.host,
    port: target.port,
    ...(proxy === undefined ? {} : { proxyName: proxy.name, proxyUrl: `${proxy.url.protocol}//${proxy.url.host}` }),
  };
  if (target.signal?.aborted === true) throw cancelled(endpoint);
  try {
    if (proxy === undefined) return { socket: await tcpConnect(target.host, target.port, target, endpoint), endpoint };
    if (proxy.url.protocol === 'socks5:' || proxy.url.protocol === 'socks5h:') {
      const socket = await tcpConnect(proxy.url.hostname, Number(proxy.url.port || 1080), target, endpoint);
      try {
        await withDeadline(
          socks5Connect(socket, target.host, target.port, proxy.username === undefined ? undefined : { username: proxy.username, password: proxy.password ?? '' }),
          target,
          endpoint,
          'the SOCKS5 handshake',
        );
      } catch (error) {
        socket.destroy();
        if (error instanceof Socks5Refusal) {
          throw error.authentication ? proxyAuthFailed(endpoint, `SOCKS5: ${error.message}`) : proxyFailed(endpoint, `would not connect to ${target.host}:${target.port}: ${error.message}.`);
        }
        throw error;
      }
      return { socket, endpoint };
    }
    return { socket: await httpTunnel(proxy, target, endpoint), endpoint };
  } catch (error) {
    throw connectFailure(endpoint, error);
  }
}

function tcpConnect(host: string, port: number, target: ConnectionTarget, endpoint: MailEndpoint): Promise<Socket> {
  const socket = netConnect({ host, port });
  return withDeadline(
    new Promise<Socket>((resolve, reject) => {
      socket.once('connect', () => {
        socket.removeAllListeners('error');
        resolve(socket);
      });
      socket.once('error', reject);
    }),
    target,
    endpoint,
    endpoint.proxyName === undefined ? 'the connection' : `the connection to proxy ${endpoint.proxyName}`,
    () => socket.destroy(),
  );
}

/** CONNECT host:port through an HTTP(S) proxy, with Basic credentials when it has some. */
async function httpTunnel(proxy: ResolvedProxy, target: ConnectionTarget, endpoint: MailEndpoint): Promise<Socket> {
  const client = new Client(proxy.url.origin, {
    connectTimeout: target.timeoutMs,
    headersTimeout: target.timeoutMs,
    ...(proxy.url.protocol === 'https:' && target.ca !== undefined ? { connect: { ca: target.ca } } : {}),
  });
  const headers: Record<string, string> = { host: `${target.host}:${target.port}` };
  if (proxy.username !== undefined) {
    headers['proxy-authorization'] = `Basic ${Buffer.from(`${proxy.username}:${proxy.password ?? ''}`).toString('base64')}`;
  }
  try {
    const signal = target.signal ?? AbortSignal.timeout(target.timeoutMs);
    const data = await client.connect({ path: `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`, headers, signal });
    if (data.statusCode === 200) return data.socket as Socket;
    data.socket.destroy();
    if (data.statusCode === 407) throw proxyAuthFailed(endpoint, 'HTTP 407');
    throw proxyFailed(endpoint, `answered HTTP ${data.statusCode} when asked to CONNECT to ${target.host}:${target.port}.`);
  } catch (error) {
    if ((error as { name?: string }).name === 'AbortError' || (error as { name?: string }).name === 'TimeoutError') {
      throw target.signal?.aborted === true ? cancelled(endpoint) : timedOut(endpoint, target.timeoutMs, `proxy ${proxy.name}`);
    }
    if ((error as { code?: string }).code === 'UND_ERR_HEADERS_TIMEOUT' || (error as { code?: string }).code === 'UND_ERR_CONNECT_TIMEOUT') {
      throw timedOut(endpoint, target.timeoutMs, `proxy ${proxy.name}`);
    }
    const cause = innermost(error);
    throw connectFailure(endpoint, cause);
  } finally {
    // The tunnel's socket now belongs to us; the client only held it for the CONNECT.
    void client.close().catch(() => undefined);
  }
}

function innermost(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 5 && current instanceof Error && current.cause !== undefined; depth++) current = current.cause;
  return error instanceof Error && (error as { code?: unknown }).code !== undefined && !(current as { code?: unknown }).code ? error : current;
}

function withDeadline<T>(promise: Promise<T>, target: ConnectionTarget, endpoint: MailEndpoint, waitingFor: string, onGiveUp?: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      onGiveUp?.();
      reject(cancelled(endpoint));
    };
    const timer = setTimeout(() => {
      target.signal?.removeEventListener('abort', onAbort);
      onGiveUp?.();
      reject(timedOut(endpoint, target.timeoutMs, waitingFor));
    }, target.timeoutMs);
    target.signal?.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        clearTimeout(timer);
        target.signal?.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        target.signal?.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/**
 * The proxy one connection uses. `proxy: environment` reads HTTPS_PROXY
 * first (a CONNECT tunnel is what HTTPS uses), then HTTP_PROXY, lower case
 * before upper as curl does; NO_PROXY exempts the mail host. undici's
 * EnvHttpProxyAgent does this matching for HTTP requests only, so the few
 * rules are repeated here for a raw TCP connection.
 */
export function resolveProxy(route: ProxyRoute, host: string, port: number, env: NodeJS.ProcessEnv): ResolvedProxy | undefined {
  if (route.fromEnvironment !== true) {
    if (route.noProxy !== undefined && bypasses(route.noProxy, host, port)) return undefined;
    return {
      name: route.name,
      url: new URL(route.url),
      ...(route.username === undefined ? {} : { username: route.username, password: route.password?.reveal() ?? '' }),
    };
  }
  const value = env.https_proxy ?? env.HTTPS_PROXY ?? env.http_proxy ?? env.HTTP_PROXY;
  if (value === undefined || value === '') return undefined;
  const noProxy = (env.no_proxy ?? env.NO_PROXY ?? '').split(/[,\s]+/).filter((entry) => entry !== '');
  if (bypasses(noProxy, host, port)) return undefined;
  const url = new URL(/^[a-z0-9+.-]+:\/\//i.test(value) ? value : `http://${value}`);
  const username = url.username === '' ? undefined : decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  url.username = '';
  url.password = '';
  return { name: route.name, url, ...(username === undefined ? {} : { username, password }) };
}

/** NO_PROXY: `*`, a host, `.domain` or `domain` (its subdomains too), optionally with `:port`. */
function bypasses(entries: readonly string[], host: string, port: number): boolean {
  const name = host.toLowerCase();
  return entries.some((raw) => {
    const entry = raw.toLowerCase();
    if (entry === '*') return true;
    const [entryHost = '', entryPort] = entry.startsWith('[') ? [entry.slice(1, entry.indexOf(']')), entry.split(']:')[1]] : entry.split(':');
    if (entryPort !== undefined && Number(entryPort) !== port) return false;
    const bare = entryHost.replace(/^\*?\./, '');
    return name === bare || name.endsWith(`.${bare}`);
  });
}
