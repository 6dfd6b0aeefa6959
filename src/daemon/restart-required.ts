// Which changes of a reloaded config only a restart applies: the listeners
// (addresses, socket mode, TLS, connection limits), the store, the metrics endpoint and the
// audit log's destination are set up once at start. Everything else reloads.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { BrokerConfig, TlsConfig } from '../config/index.js';

type Settings = Pick<BrokerConfig, 'server' | 'store' | 'metrics' | 'audit'>;

const COMPARED: readonly (readonly [key: string, value: (config: Settings) => unknown])[] = [
  ['server.listen', (config) => config.server.listen.map((address) => address.url)],
  ['server.socketMode', (config) => config.server.socketMode],
  ['server.tls', (config) => tlsPaths(config.server.tls)],
  ['server.limits', (config) => config.server.limits ?? null],
  ['store.url', (config) => config.store.url],
  ['store.encryptionKeyFile', (config) => config.store.encryptionKeyFile],
  ['store.previousEncryptionKeyFiles', (config) => config.store.previousEncryptionKeyFiles ?? []],
  ['metrics.listen', (config) => config.metrics?.listen.url ?? null],
  // The registry is built once, with or without the per-mailbox series.
  ['metrics.perMailbox', (config) => config.metrics?.perMailbox ?? null],
  ['audit', (config) => config.audit ?? null],
];

/** The dotted keys whose value differs between the running settings and the reloaded ones, in a fixed order. */
export function restartRequiredKeys(running: Settings, next: Settings): string[] {
  return COMPARED.filter(([, value]) => JSON.stringify(value(running)) !== JSON.stringify(value(next))).map(([key]) => key);
}

/**
 * A digest of the TLS files' content, so a renewed certificate under the same
 * path is noticed too (the gRPC server read the files once, at start).
 * Undefined without server.tls.
 */
export async function tlsFilesDigest(tls: TlsConfig | undefined): Promise<string | undefined> {
  if (tls === undefined) return undefined;
  const hash = createHash('sha256');
  for (const file of tlsPaths(tls)) {
    if (file === null) continue;
    // An unreadable file counts as a change: the loader just read it, so this is a race with the operator.
    hash.update(await readFile(file).catch(() => Buffer.from(`unreadable:${file}`)));
    hash.update('\0');
  }
  return hash.digest('hex');
}

function tlsPaths(tls: TlsConfig | undefined): (string | null)[] {
  return tls === undefined ? [] : [tls.certFile, tls.keyFile, tls.clientCaFile ?? null];
}
