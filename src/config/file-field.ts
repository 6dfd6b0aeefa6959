// A config key that names a file read at load time (a secret's `xFile`,
// caFile, tls.certFile, tls.keyFile, certificate.file, the store's key
// files): the path resolved against the config's folder and the bytes read
// through files.ts, or the problem reported on the key.
import { filePath } from './fields.js';
import { checkSecretFileMode } from './file-permissions.js';
import type { KeyPlace } from './file-permissions.js';
import { readConfigFile, resolveConfigPath, unusable } from './files.js';
import type { FileRule } from './files.js';
import type { LoadContext } from './context.js';
import type { Field, MappingReader } from './reader.js';
import type { Position } from './problems.js';

export interface ReadFile {
  /** Absolute path. */
  readonly file: string;
  readonly data: Buffer;
}

/**
 * Reads `file`, named by `key`, under `rule`; why it cannot be used (and, for
 * a secret, that others may read it) is reported on the key. Undefined when
 * it cannot be used.
 */
export async function readNamedFile(ctx: LoadContext, key: KeyPlace, file: string, rule: FileRule): Promise<Buffer | undefined> {
  const read = await readConfigFile(file, rule);
  if (!read.ok) {
    ctx.sink.error(key.path, unusable(file, read), key.valueAt);
    return undefined;
  }
  if (rule.secret) checkSecretFileMode(ctx, key, file, read.mode);
  return read.data;
}

/** The field, resolved and read; an unusable file is reported and comes back `invalid`. */
export async function readFileField(reader: MappingReader, key: string, rule: FileRule): Promise<Field<ReadFile>> {
  const field = reader.field(key, filePath);
  if (field.state !== 'ok') return field;
  const file = resolveConfigPath(reader.ctx.baseDir, field.value);
  const data = await readNamedFile(reader.ctx, field, file, rule);
  if (data === undefined) return invalidField(field);
  return { ...field, value: { file, data } };
}

/** The same field, marked invalid after its content was found wrong. */
export function invalidField(field: { readonly path: string; readonly at: Position; readonly valueAt: Position }): Field<never> {
  return { state: 'invalid', path: field.path, at: field.at, valueAt: field.valueAt };
}
