// Binds the configured listen addresses: unix sockets (stale files replaced,
// a live broker's socket never stolen, permissions set) and TCP, with TLS
// when configured.
import { readFileSync } from 'node:fs';
import { chmod, stat, unlink } from 'node:fs/promises';
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
  const socketPath = address.path;
  const directory = path.dirname(socketPath);
  const directoryStat = await stat(directory).catch(() => undefined);
  if (directoryStat === undefined || !directoryStat.isDirectory()) {
    throw listenError(
      `cannot listen on ${address.url}: the directory ${directory} does not exist.`,
      `Create it (systemd: RuntimeDirectory=token-broker) or change server.listen.`,
    );
  }
  if (await stat(socketPath).catch(() => undefined)) {
    if (await isSocketAlive(socketPath)) {
      throw listenError(
        `cannot listen on ${address.url}: another process (probably a running token-broker) is serving that socket.`,
        'Stop the other instance, or give this one another server.listen address.',
      );
    }
    // Left behind by a broker that died without cleaning up.
    await unlink(socketPath);
  }
  await bind(server, `unix://${socketPath}`, ServerCredentials.createInsecure(), address.url);
  await chmod(socketPath, socketMode);
  return { url: address.url };
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

function isSocketAlive(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(socketPath);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function listenError(message: string, remediation: string, cause?: unknown): BrokerError {
  return new BrokerError(message, { code: 'config_invalid', permanent: true, remediation, cause });
}
