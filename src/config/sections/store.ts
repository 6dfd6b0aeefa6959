// `store`: where tokens are kept (sqlite, redis or memory) and the file with
// the key they are encrypted with. A relative sqlite path counts from the
// config's folder, like every other path in the file.
import { z } from 'zod';
import type { LoadContext } from '../context.js';
import { DEFAULT_ENCRYPTION_KEY_FILE, DEFAULT_STORE_URL } from '../defaults.js';
import { filePath, text } from '../fields.js';
import { resolveConfigPath } from '../files.js';
import { valueOf } from '../reader.js';
import type { Field, MappingReader } from '../reader.js';
import type { StoreConfig } from '../types.js';

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

export const STORE_KEYS = ['url', 'encryptionKeyFile'];

export function readStore(ctx: LoadContext, section: Field<MappingReader>): StoreConfig {
  const reader = valueOf(section);
  const url = reader === undefined ? undefined : valueOf(reader.field('url', storeUrl(ctx.baseDir)));
  const keyFile = reader === undefined ? undefined : valueOf(reader.field('encryptionKeyFile', filePath));
  return {
    url: url ?? DEFAULT_STORE_URL,
    encryptionKeyFile: keyFile === undefined ? DEFAULT_ENCRYPTION_KEY_FILE : resolveConfigPath(ctx.baseDir, keyFile),
  };
}
