// `store`: where tokens are kept (sqlite, redis or memory) and the files with
// the keys they are encrypted with. A relative sqlite path counts from the
// config's folder, like every other path in the file.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { LoadContext } from '../context.js';
import { DEFAULT_ENCRYPTION_KEY_FILE, DEFAULT_STORE_URL } from '../defaults.js';
import { filePath, text } from '../fields.js';
import { osReason, resolveConfigPath, unreadable } from '../files.js';
import { kindOf, valueOf } from '../reader.js';
import type { Field, MappingReader } from '../reader.js';
import type { StoreConfig } from '../types.js';
import { withOptional } from '../optional.js';

const STORE_URL_RULE = 'must be sqlite:///path/to/tokens.sqlite, redis://host:6379/0, rediss://host:6380/0 or memory:';

/** Messages never quote the URL: a redis URL may carry its password. */
function storeUrl(baseDir: string): z.ZodType<string> {
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

const filePathList = z.array(filePath, { error: (issue) => `must be a list of file paths, not ${kindOf(issue.input)}` });

export const STORE_KEYS = ['url', 'encryptionKeyFile', 'previousEncryptionKeyFiles'];

export function readStore(ctx: LoadContext, section: Field<MappingReader>): StoreConfig {
  const reader = valueOf(section);
  const url = reader === undefined ? undefined : valueOf(reader.field('url', storeUrl(ctx.baseDir)));
  const keyFile = reader === undefined ? undefined : valueOf(reader.field('encryptionKeyFile', filePath));
  return withOptional<StoreConfig>(
    {
      url: url ?? DEFAULT_STORE_URL,
      encryptionKeyFile: keyFile === undefined ? DEFAULT_ENCRYPTION_KEY_FILE : resolveConfigPath(ctx.baseDir, keyFile),
    },
    { previousEncryptionKeyFiles: reader === undefined ? undefined : readPreviousKeyFiles(ctx, reader) },
  );
}

/**
 * Old keys are only ever needed to read what is already stored, so a file
 * that is missing or damaged is reported now rather than when a record under
 * it is first read. The current key file is not checked here: the store
 * creates it when absent, and reports it (store_key_invalid) when damaged.
 * Read synchronously because readStore is (these files are a few bytes).
 */
function readPreviousKeyFiles(ctx: LoadContext, reader: MappingReader): string[] | undefined {
  const field = reader.field('previousEncryptionKeyFiles', filePathList);
  if (field.state !== 'ok') return undefined;
  const node = reader.entry('previousEncryptionKeyFiles')?.value;
  const files = field.value.map((file) => resolveConfigPath(ctx.baseDir, file));
  files.forEach((file, index) => {
    const problem = keyFileProblem(file);
    if (problem !== undefined) ctx.sink.error(`${field.path}[${index}]`, problem, node?.kind === 'seq' ? node.items[index]?.at : node?.at);
  });
  return files;
}

function keyFileProblem(file: string): string | undefined {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (error) {
    return unreadable(file, osReason(error));
  }
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
