// Files named in the config (secrets, certificates, CA bundles) and the config
// file itself: the one place the config module reads a file. Relative paths
// count from the config file's folder, and a file that cannot be used becomes
// a reason an operator can act on, never the file's content.
//
// Only regular files are read, and only so much of them: a FIFO would block
// the read (validate, or a reload, for good) and /dev/zero or /dev/urandom
// would never end. So the file is opened with O_NONBLOCK (a FIFO cannot block
// the open), the open handle is fstat-ed (what is checked is what was opened,
// not a path that may have changed since), at most `maxBytes + 1` bytes are
// read, and the whole read gives up after READ_TIMEOUT_MS (a hung network
// mount). fs.readFile does none of this, hence the hand-written read.
import { constants } from 'node:fs';
import type { Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';

/** What a file named in the config holds: its size cap, and whether others may read it. */
export interface FileRule {
  readonly maxBytes: number;
  /** For messages: `the limit for ${limitName}`. */
  readonly limitName: string;
  /** Holds a secret: readable by the broker's user alone (a warning otherwise, an error under --strict). */
  readonly secret: boolean;
}

const KIB = 1024;
const MIB = 1024 * KIB;

/** Passwords, client secrets and keys, private keys with their certificate (PEM or PFX), store keys: a few KiB at most. */
export const SECRET_FILE: FileRule = { maxBytes: 64 * KIB, limitName: 'a secret file', secret: true };
/** CA bundles and certificate chains: public, and larger (the whole Mozilla bundle is about 220 KiB). */
export const CERTIFICATE_FILE: FileRule = { maxBytes: 1 * MIB, limitName: 'a certificate file', secret: false };
/** The YAML: a 10,000-mailbox fleet is about 3 MiB. */
export const CONFIG_FILE: FileRule = { maxBytes: 32 * MIB, limitName: 'a config file', secret: false };

/** A local file is read in microseconds; this long means the file system does not answer. */
export const READ_TIMEOUT_MS = 10_000;

/**
 * The bytes and the permission bits of the file read; or the OS's refusal
 * (ENOENT, EACCES, ...: `reason` is Node's message without the path); or the
 * rule's (not a regular file, too large, too slow: `problem` is the whole
 * message, starting with the path).
 */
export type FileRead =
  | { readonly ok: true; readonly data: Buffer; readonly mode: number }
  | { readonly ok: false; readonly code: string | undefined; readonly reason: string }
  | { readonly ok: false; readonly code: undefined; readonly problem: string };

export function resolveConfigPath(baseDir: string, path: string): string {
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

// O_NOCTTY: should the path be a terminal, opening it must not make it the broker's controlling terminal.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | (constants.O_NOCTTY ?? 0);

/** Reads `file` under `rule`; never throws, never blocks on a FIFO, never reads more than `rule.maxBytes + 1` bytes. */
export async function readConfigFile(file: string, rule: FileRule, timeoutMs = READ_TIMEOUT_MS): Promise<FileRead> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<FileRead>((resolveTimeout) => {
    timer = setTimeout(
      () => resolveTimeout({ ok: false, code: undefined, problem: `reading ${file} took longer than ${timeoutMs / 1000} s; check the file system it is on (an unresponsive network mount?)` }),
      timeoutMs,
    );
  });
  try {
    // A read that loses the race still ends on its own and closes its handle (readBounded's finally).
    return await Promise.race([readBounded(file, rule), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

async function readBounded(file: string, rule: FileRule): Promise<FileRead> {
  let handle;
  try {
    handle = await open(file, OPEN_FLAGS);
  } catch (error) {
    // A unix socket cannot be opened at all (ENXIO): say what it is rather than "no such device".
    if (errorCode(error) === 'ENXIO') {
      const kind = await stat(file).then(nonRegularKind, () => undefined);
      if (kind !== undefined) return refused(file, kind);
    }
    return osFailure(error);
  }
  try {
    const stats = await handle.stat();
    const kind = nonRegularKind(stats);
    if (kind !== undefined) return refused(file, kind);
    if (stats.size > rule.maxBytes) return tooLarge(file, rule);
    // stats.size is a hint only: a file may grow meanwhile, and /proc files say 0; the cap is what was read.
    const limit = rule.maxBytes + 1;
    let buffer = Buffer.allocUnsafe(Math.min(limit, Math.max(stats.size + 1, 1024)));
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        if (length >= limit) return tooLarge(file, rule);
        const grown = Buffer.allocUnsafe(Math.min(limit, buffer.length * 2));
        buffer.copy(grown, 0, 0, length);
        buffer = grown;
      }
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > rule.maxBytes) return tooLarge(file, rule);
    return { ok: true, data: buffer.subarray(0, length), mode: stats.mode & 0o7777 };
  } catch (error) {
    return osFailure(error);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** What the file is when it is not a regular file: `a named pipe (FIFO)`; undefined for a regular file. */
function nonRegularKind(stats: Stats): string | undefined {
  if (stats.isFile()) return undefined;
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a named pipe (FIFO)';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}

function refused(file: string, kind: string): FileRead {
  return { ok: false, code: undefined, problem: `${file} is ${kind}, not a regular file; give the path of a regular file` };
}

function tooLarge(file: string, rule: FileRule): FileRead {
  return { ok: false, code: undefined, problem: `${file} is larger than ${formatSize(rule.maxBytes)}, the limit for ${rule.limitName}; check that it is the right file` };
}

function osFailure(error: unknown): FileRead {
  return { ok: false, code: errorCode(error), reason: osReason(error) };
}

function formatSize(bytes: number): string {
  return bytes >= MIB ? `${bytes / MIB} MiB` : `${bytes / KIB} KiB`;
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** `ENOENT: no such file or directory`: Node's message without the repeated path. */
function osReason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const match = /^([A-Z0-9_]+): ([^,]+)/.exec(error.message);
  return match === null ? error.message : `${match[1]}: ${match[2]}`;
}

/** The message for a file that could not be used: the rule's own, or the standard one for an OS refusal. */
export function unusable(file: string, read: Exclude<FileRead, { ok: true }>): string {
  return 'problem' in read ? read.problem : unreadable(file, read.reason);
}

/** The standard message for an unreadable file. */
function unreadable(path: string, reason: string): string {
  return `cannot read ${path} (${reason}); check the path and that the broker's user may read it`;
}
