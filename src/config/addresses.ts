// Network addresses in the config: listen URLs, host:port pairs, and which
// hosts count as loopback (where plain TCP and plain HTTP are acceptable).
import { isIP } from 'node:net';
import { posix } from 'node:path';
import type { ListenAddress } from './types.js';

export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (bare.toLowerCase() === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1' || bare === '0:0:0:0:0:0:0:1';
  return false;
}

/**
 * Where the broker listens for the browser coming back to `redirectUri`
 * itself, or undefined when it cannot: an http URL on a loopback host
 * (isLoopbackHost) with an explicit port. `localhost` binds 127.0.0.1 only,
 * never every interface (and not ::1, which a name lookup may prefer: Entra
 * sends the browser to the URI as registered); a literal address binds that
 * address. The one answer for the daemon's listener and for
 * `token-broker authorize`, which waits for that listener.
 */
export function loopbackRedirectAddress(redirectUri: string): { readonly host: string; readonly port: number } | undefined {
  if (!URL.canParse(redirectUri)) return undefined;
  const url = new URL(redirectUri);
  if (url.protocol !== 'http:' || url.port === '' || !isLoopbackHost(url.hostname)) return undefined;
  const bare = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return { host: bare.toLowerCase() === 'localhost' ? '127.0.0.1' : bare, port: Number(url.port) };
}

/** host:port with an IPv6 host in brackets, as parseHostPort reads it before checking the numbers. */
const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/**
 * The shape parseListenAddress takes, for the JSON Schema (editors): which
 * port numbers and folders are refused is the reader's to say.
 */
export const LISTEN_ADDRESS_PATTERN = `^(?:unix:///.*|tcp://${HOST_PORT.source.slice(1, -1)})$`;

/** `host:port` with an IPv6 host in brackets; undefined when malformed. */
export function parseHostPort(text: string): { host: string; port: number } | undefined {
  const match = HOST_PORT.exec(text);
  if (match === null) return undefined;
  const [, rawHost = '', rawPort = ''] = match;
  const port = Number(rawPort);
  if (port > 65535) return undefined;
  const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost;
  if (rawHost.startsWith('[') && isIP(host) !== 6) return undefined;
  return { host, port };
}

/** Folders the kernel fills: binding there fails, or worse, lands somewhere no one looks. */
const KERNEL_FOLDERS = ['/proc', '/sys', '/dev'];

/** The kernel folder `path` is in, once `..` and `//` are settled; undefined for any other path. */
function kernelFolderOf(path: string): string | undefined {
  const normal = posix.normalize(path);
  return KERNEL_FOLDERS.find((folder) => normal === folder || normal.startsWith(`${folder}/`));
}

/** `unix:///abs/path` or `tcp://host:port`; a string saying what is wrong otherwise. */
export function parseListenAddress(text: string): ListenAddress | string {
  if (text.startsWith('unix://')) {
    const path = text.slice('unix://'.length);
    if (!path.startsWith('/')) return 'a unix socket path must be absolute, e.g. unix:///run/token-broker/broker.sock';
    const kernelFolder = kernelFolderOf(path);
    if (kernelFolder !== undefined) {
      return `a unix socket cannot live under ${kernelFolder} (a file system of the kernel, not a place for the broker's files); use a path such as unix:///run/token-broker/broker.sock`;
    }
    return { kind: 'unix', path, url: text };
  }
  if (text.startsWith('tcp://')) {
    const hostPort = parseHostPort(text.slice('tcp://'.length));
    if (hostPort === undefined) return 'must be tcp://host:port with a port of 0-65535, e.g. tcp://127.0.0.1:50051 or tcp://[::1]:50051';
    return { kind: 'tcp', host: hostPort.host, port: hostPort.port, url: text };
  }
  return 'must be unix:///absolute/path or tcp://host:port';
}
