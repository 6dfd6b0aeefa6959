// The key files: the current one is read, or generated with mode 0600 on
// first start (with a warning to back it up); old ones are only read. A file
// that exists but is no key stops the store: generating a new key over it
// would make every stored token unreadable.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { StoreConfig } from '../config/index.js';
import { KeyRing, storeKey } from './key-ring.js';
import type { StoreKey } from './key-ring.js';
import { keyCredentialMissing, keyFileInvalid, keyFileNotCreated, keyFileUnreadable } from './store-errors.js';
import { ENCRYPTION_KEY_RULE, encryptionKeyProblem, isSystemdCredential } from '../config/index.js';

// One rule for key files, shared with the config loader (which checks previousEncryptionKeyFiles at load).
export { ENCRYPTION_KEY_RULE, encryptionKeyProblem };

const KEY_BYTES = 32;


export async function loadKeyRing(config: StoreConfig, logger: Logger): Promise<KeyRing> {
  const current = await readOrCreateKeyFile(config.encryptionKeyFile, logger);
  const previous: StoreKey[] = [];
  for (const file of config.previousEncryptionKeyFiles ?? []) {
    const bytes = await readKeyFile(file, 'previous', logger);
    if (bytes === undefined) throw keyFileUnreadable(file, 'ENOENT: no such file or directory', 'previous', undefined);
    previous.push(storeKey(bytes, file));
  }
  return new KeyRing(current, previous);
}

async function readOrCreateKeyFile(file: string, logger: Logger): Promise<StoreKey> {
  const existing = await readKeyFile(file, 'current', logger);
  if (existing !== undefined) return storeKey(existing, file);
  // Never generated among systemd's credentials: the folder is read-only, and emptied at every stop.
  if (isSystemdCredential(file, process.env)) throw keyCredentialMissing(file, dirname(file));
  const created = await createKeyFile(file);
  if (created === undefined) {
    // Another instance created it between our read and our create: use theirs.
    const theirs = await readKeyFile(file, 'current', logger);
    if (theirs === undefined) throw keyFileNotCreated(file, 'it vanished right after another process created it', undefined);
    return storeKey(theirs, file);
  }
  const key = storeKey(created, file);
  logger.warn(
    { keyFile: file, keyId: key.id },
    `generated a new token store encryption key in ${file}; back this file up: without it the stored tokens cannot be read. Every broker instance sharing the store must use this same key file.`,
  );
  return key;
}

/** The key bytes; undefined when the file does not exist. */
async function readKeyFile(file: string, setting: 'current' | 'previous', logger: Logger): Promise<Buffer | undefined> {
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (error) {
    // ENOTDIR: a parent is a file, so this file does not exist either; creating it then says why it cannot.
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return undefined;
    throw keyFileUnreadable(file, osReason(error), setting, error);
  }
  const problem = encryptionKeyProblem(data);
  if (problem !== undefined) throw keyFileInvalid(file, problem, ENCRYPTION_KEY_RULE, setting);
  await warnIfOthersCanRead(file, logger);
  return Buffer.from(data.toString('utf8').trim(), 'base64');
}


/**
 * Writes a fresh key with mode 0600 (parent folder 0700 when it is created),
 * synced to disk before any record is encrypted with it. Undefined when the
 * file appeared meanwhile ('wx' never overwrites).
 */
async function createKeyFile(file: string): Promise<Buffer | undefined> {
  const key = randomBytes(KEY_BYTES);
  try {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  } catch (error) {
    // mkdir -p answers EEXIST when the folder's path is taken by a file.
    throw keyFileNotCreated(file, errorCode(error) === 'EEXIST' ? `${dirname(file)} is not a folder` : osReason(error), error);
  }
  try {
    const handle = await open(file, 'wx', 0o600);
    try {
      await handle.writeFile(`${key.toString('base64')}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return undefined;
    throw keyFileNotCreated(file, osReason(error), error);
  }
  await syncFolder(dirname(file));
  return key;
}

/** Makes the new directory entry itself durable; best effort (not every file system allows it). */
async function syncFolder(folder: string): Promise<void> {
  try {
    const handle = await open(folder, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // The key file itself is synced; a lost directory entry is the file system's rarest failure.
  }
}

async function warnIfOthersCanRead(file: string, logger: Logger): Promise<void> {
  const mode = (await stat(file)).mode & 0o777;
  // A systemd credential's group bits are the ACL mask granting the broker's user (file-permissions.ts).
  const othersBits = isSystemdCredential(file, process.env) ? 0o007 : 0o077;
  if ((mode & othersBits) === 0) return;
  logger.warn({ keyFile: file, mode: mode.toString(8) }, `token store encryption key file ${file} is readable by other users (mode 0${mode.toString(8)}); restrict it: chmod 600 ${file}`);
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** `EACCES: permission denied`: Node's message without the repeated path. */
function osReason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const match = /^([A-Z0-9_]+): ([^,]+)/.exec(error.message);
  return match === null ? error.message : `${match[1]}: ${match[2]}`;
}
