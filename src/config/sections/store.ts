// `store`: where tokens are kept (sqlite, redis or memory) and the files with
// the keys they are encrypted with. A relative sqlite path counts from the
// config's folder, like every other path in the file.
import { dirname } from 'node:path';
import { z } from 'zod';
import type { LoadContext } from '../context.js';
import { DEFAULT_ENCRYPTION_KEY_FILE, DEFAULT_STORE_URL } from '../defaults.js';
import { filePath, text } from '../fields.js';
import { checkSecretFileMode, isSystemdCredential, noteInlineSecret } from '../file-permissions.js';
import type { KeyPlace } from '../file-permissions.js';
import { readNamedFile } from '../file-field.js';
import { readConfigFile, resolveConfigPath, SECRET_FILE, unusable } from '../files.js';
import { kindOf, valueOf } from '../reader.js';
import type { Field, MappingReader } from '../reader.js';
import { keyCredentialMissing } from '../store-key-credential.js';
import type { StoreConfig } from '../types.js';
import { withOptional } from '../optional.js';

const STORE_URL_RULE = 'must be sqlite:///path/to/tokens.sqlite, redis://host:6379/0, rediss://host:6380/0 or memory:';

/** Messages never quote the URL: a redis URL may carry its password. */
export function storeUrl(baseDir: string): z.ZodType<string> {
  return text.transform((value, ctx) => {
    if (value === 'memory:' || value === 'memory://') return 'memory:';
    if (value.startsWith('sqlite://')) {
      const path = value.slice('sqlite://'.length);
      if (path !== '') return `sqlite://${resolveConfigPath(baseDir, path)}`;
    } else if (/^rediss?:\/\//.test(value) && URL.canParse(value) && new URL(value).hostname !== '') {
      return value;
    }
    ctx.addIssue({ code: 'custom', message: STORE_URL_RULE });
    return z.NEVER;
  });
}

export const filePathList = z.array(filePath, { error: (issue) => `must be a list of file paths, not ${kindOf(issue.input)}` });

export const STORE_KEYS = ['url', 'encryptionKeyFile', 'previousEncryptionKeyFiles'];

/** A redis URL's password, when written in the file itself (`redis://:secret@host`) rather than as `${NAME}`. */
const URL_PASSWORD = /^rediss?:\/\/[^/@]*:([^/@]*)@/;

export async function readStore(ctx: LoadContext, section: Field<MappingReader>): Promise<StoreConfig> {
  const reader = valueOf(section);
  const urlField = reader?.field('url', storeUrl(ctx.baseDir));
  const url = urlField === undefined ? undefined : valueOf(urlField);
  const rawUrl = reader?.entry('url')?.value;
  if (urlField?.state === 'ok' && rawUrl?.kind === 'scalar' && typeof rawUrl.value === 'string') {
    const password = URL_PASSWORD.exec(rawUrl.value)?.[1];
    if (password !== undefined) noteInlineSecret(ctx, urlField.path, password, urlField.valueAt);
  }
  const keyField = reader?.field('encryptionKeyFile', filePath);
  const keyFile = keyField === undefined ? undefined : valueOf(keyField);
  const encryptionKeyFile = keyFile === undefined ? DEFAULT_ENCRYPTION_KEY_FILE : resolveConfigPath(ctx.baseDir, keyFile);
  // A memory store makes a key of its own and reads no file; an unusable url has been reported already.
  if ((url ?? DEFAULT_STORE_URL) !== 'memory:' && urlField?.state !== 'invalid' && keyField?.state !== 'invalid') {
    await checkCurrentKeyFile(ctx, keyField?.state === 'ok' ? keyField : { path: reader?.childPath('encryptionKeyFile') ?? 'store.encryptionKeyFile' }, encryptionKeyFile);
  }
  return withOptional<StoreConfig>(
    { url: url ?? DEFAULT_STORE_URL, encryptionKeyFile },
    { previousEncryptionKeyFiles: reader === undefined ? undefined : await readPreviousKeyFiles(ctx, reader) },
  );
}

/**
 * The current key file, checked as serve's store will read it (so that
 * `validate` finds what would make `serve` exit 78): absent is fine, serve
 * creates it; anything else must be a regular file holding a key.
 */
async function checkCurrentKeyFile(ctx: LoadContext, key: KeyPlace, file: string): Promise<void> {
  const read = await readConfigFile(file, SECRET_FILE);
  if (!read.ok) {
    // ENOTDIR: a parent is a file, so the key file does not exist either; creating it then says why it cannot.
    if (read.code === 'ENOENT' || read.code === 'ENOTDIR') {
      // Generated when absent, except among systemd's credentials: serve would refuse it (store/key-file.ts), say it now.
      if (isSystemdCredential(file, ctx.env)) ctx.sink.error(key.path, keyCredentialMissing(file, dirname(file)).describe(), key.valueAt);
      return;
    }
    ctx.sink.error(key.path, unusable(file, read), key.valueAt);
    return;
  }
  checkSecretFileMode(ctx, key, file, read.mode);
  const problem = keyFileProblem(file, read.data);
  if (problem !== undefined) ctx.sink.error(key.path, problem, key.valueAt);
}

/**
 * Old keys are only ever needed to read what is already stored, so a file
 * that is missing or damaged is reported now rather than when a record under
 * it is first read.
 */
async function readPreviousKeyFiles(ctx: LoadContext, reader: MappingReader): Promise<string[] | undefined> {
  const field = reader.field('previousEncryptionKeyFiles', filePathList);
  if (field.state !== 'ok') return undefined;
  const node = reader.entry('previousEncryptionKeyFiles')?.value;
  const files = field.value.map((file) => resolveConfigPath(ctx.baseDir, file));
  for (const [index, file] of files.entries()) {
    const key = { path: `${field.path}[${index}]`, valueAt: node?.kind === 'seq' ? node.items[index]?.at : node?.at };
    const data = await readNamedFile(ctx, key, file, SECRET_FILE);
    const problem = data === undefined ? undefined : keyFileProblem(file, data);
    if (problem !== undefined) ctx.sink.error(key.path, problem, key.valueAt);
  }
  return files;
}

function keyFileProblem(file: string, data: Buffer): string | undefined {
  const problem = encryptionKeyProblem(data);
  return problem === undefined ? undefined : `${file} is not a store encryption key (it ${problem}); ${ENCRYPTION_KEY_RULE}`;
}

export const ENCRYPTION_KEY_RULE = 'a key file holds one line of base64 encoding 32 random bytes, as `openssl rand -base64 32` prints';

/**
 * Why `data` is not a store encryption key, or undefined when it is one.
 * The store reads its key files with this same rule. Never quotes the
 * content: it is a key, or something near one.
 */
export function encryptionKeyProblem(data: Buffer): string | undefined {
  const content = data.toString('utf8').trim();
  if (content === '') return 'is empty';
  if (/[\r\n]/.test(content)) return 'holds more than one line';
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(content) || content.length % 4 !== 0) return 'is not base64';
  const key = Buffer.from(content, 'base64');
  if (key.toString('base64') !== content) return 'is not base64';
  if (key.length !== 32) return `decodes to ${key.length} bytes, not 32`;
  return undefined;
}
