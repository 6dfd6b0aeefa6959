// Files named in the config (secrets, certificates, CA bundles): relative
// paths count from the config file's folder, and a failed read becomes a
// reason an operator can act on, never the file's content.
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';

export type FileRead = { readonly ok: true; readonly data: Buffer } | { readonly ok: false; readonly reason: string };

export function resolveConfigPath(baseDir: string, path: string): string {
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

export async function readConfigFile(path: string): Promise<FileRead> {
  try {
    return { ok: true, data: await readFile(path) };
  } catch (error) {
    return { ok: false, reason: osReason(error) };
  }
}

/** `ENOENT: no such file or directory`: Node's message without the repeated path. */
export function osReason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const match = /^([A-Z0-9_]+): ([^,]+)/.exec(error.message);
  return match === null ? error.message : `${match[1]}: ${match[2]}`;
}

/** The standard message for an unreadable file. */
export function unreadable(path: string, reason: string): string {
  return `cannot read ${path} (${reason}); check the path and that the broker's user may read it`;
}
