// Binds the configured listen addresses: unix sockets (stale files replaced,
// a live broker's socket never stolen, permissions set) and TCP, with TLS
// when configured.
import { readFileSync } from 'node:fs';
import { chmod, lstat, stat, unlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ServerCredentials } from '@grpc/grpc-js';
import type { Server } from '@grpc/grpc-js';
import type { ListenAddress, ServerConfig } from '../config/index.js';
import { BrokerError } from '../errors/index.js';

export interface BoundAddress {
  readonly url: string;
  /** For tcp: the port actually bound (the config may say 0). */
  readonly port?: number;
}

export async function bindAll(server: Server, config: ServerConfig): Promise<BoundAddress[]> {
  const bound: BoundAddress[] = [];
  for (const address of config.listen) {
    bound.push(address.kind === 'unix' ? await bindUnix(server, address, config.socketMode) : await bindTcp(server, address, config));
  }
  return bound;
}

async function bindUnix(server: Server, address: Extract<ListenAddress, { kind: 'unix' }>, socketMode: number): Promise<BoundAddress> {
  await clearUnixSocketPath(address, 'server.listen');
  await bind(server, `unix://${address.path}`, ServerCredentials.createInsecure(), address.url);
  await chmod(address.path, socketMode);
  return { url: address.url };
}

/**
 * Makes `address` free to bind: its directory must exist, a stale socket
 * left by a broker that died is removed, and anything else there (a live
 * broker's socket, a file that is not a socket) stops the start with a
 * BrokerError naming `setting` (server.listen, metrics.listen).
 */
export async function clearUnixSocketPath(address: Extract<ListenAddress, { kind: 'unix' }>, setting: string): Promise<void> {
  const socketPath = address.path;
  const directory = path.dirname(socketPath);
  const directoryStat = await stat(directory).catch(() => undefined);
  if (directoryStat === undefined || !directoryStat.isDirectory()) {
    throw listenError(
      `cannot listen on ${address.url}: the directory ${directory} ${directoryStat === undefined ? 'does not exist' : 'is not a directory'}.`,
      `Create it (systemd: RuntimeDirectory=token-broker) or change ${setting}.`,
    );
  }
  const existing = await lstat(socketPath).catch(() => undefined);
  if (existing !== undefined) {
    if (!existing.isSocket()) {
      // Never delete what is not ours: a typo in server.listen could name any file.
      throw listenError(
        `cannot listen on ${address.url}: ${socketPath} exists and is not a socket (${describeKind(existing)}).`,
        `Move or delete that file yourself if it is not needed, or give ${setting} another path.`,
      );
    }
    const probe = await probeSocket(socketPath);
    if (probe.state === 'alive') {
      throw listenError(
        `cannot listen on ${address.url}: another process (probably a running token-broker) is serving that socket.`,
        `Stop the other instance, or give this one another ${setting} address.`,
      );
    }
    if (probe.state === 'unknown') {
      throw listenError(
        `cannot listen on ${address.url}: the socket file exists and probing it failed (${probe.error}).`,
        'Check that the broker\'s user may use that socket, or delete it if no broker is running.',
      );
    }
    // Left behind by a broker that died without cleaning up: nothing accepts connections on it.
    await unlink(socketPath).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw listenError(`cannot replace the stale socket ${socketPath}: ${error.message}.`, 'Delete it, or let the broker\'s user write to its directory.', error);
    });
  }
}

async function bindTcp(server: Server, address: Extract<ListenAddress, { kind: 'tcp' }>, config: ServerConfig): Promise<BoundAddress> {
  const credentials = config.tls === undefined ? ServerCredentials.createInsecure() : tlsCredentials(config);
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  const port = await bind(server, `${host}:${address.port}`, credentials, address.url);
  return { url: `tcp://${host}:${port}`, port };
}

function tlsCredentials(config: ServerConfig): ServerCredentials {
  const tls = config.tls;
  if (tls === undefined) throw new Error('tlsCredentials without server.tls');
  const read = (file: string, key: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (cause) {
      throw listenError(`cannot read server.tls.${key} ${file}: ${(cause as Error).message}.`, 'Check the path and permissions.');
    }
  };
  const clientCa = tls.clientCaFile === undefined ? null : read(tls.clientCaFile, 'clientCaFile');
  return ServerCredentials.createSsl(
    clientCa,
    [{ cert_chain: read(tls.certFile, 'certFile'), private_key: read(tls.keyFile, 'keyFile') }],
    clientCa !== null,
  );
}

function bind(server: Server, target: string, credentials: ServerCredentials, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(target, credentials, (error, port) => {
      if (error === null) resolve(port);
      else reject(listenError(`cannot listen on ${url}: ${error.message}.`, 'Check that the address is free and allowed (server.listen).', error));
    });
  });
}

type SocketProbe = { readonly state: 'alive' | 'stale' } | { readonly state: 'unknown'; readonly error: string };

/** `alive` when something accepts connections, `stale` when nothing listens. */
function probeSocket(socketPath: string): Promise<SocketProbe> {
  return new Promise((resolve) => {
    const socket = net.connect(socketPath);
    socket.once('connect', () => {
      socket.destroy();
      resolve({ state: 'alive' });
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      socket.destroy();
      // ENOENT: removed since the lstat, by whoever owned it.
      resolve(error.code === 'ECONNREFUSED' || error.code === 'ENOENT' ? { state: 'stale' } : { state: 'unknown', error: error.code ?? error.message });
    });
  });
}

function describeKind(info: Stats): string {
  if (info.isDirectory()) return 'a directory';
  if (info.isSymbolicLink()) return 'a symbolic link';
  if (info.isFile()) return 'a regular file';
  return 'a device or FIFO';
}

/** A listener that cannot be set up: the config must change (or the address be freed). */
export function listenError(message: string, remediation: string, cause?: unknown): BrokerError {
  return new BrokerError(message, { code: 'config_invalid', permanent: true, remediation, cause });
}
