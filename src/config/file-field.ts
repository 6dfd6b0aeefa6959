// A config key that names a file read at load time (caFile, tls.certFile,
// tls.keyFile): the path resolved against the config's folder and the bytes
// read, or the problem reported on the key.
import { filePath } from './fields.js';
import { readConfigFile, resolveConfigPath, unreadable } from './files.js';
import type { Field, MappingReader } from './reader.js';
import type { Position } from './problems.js';

export interface ReadFile {
  /** Absolute path. */
  readonly file: string;
  readonly data: Buffer;
}

/** The field, resolved and read; an unreadable file is reported and comes back `invalid`. */
export async function readFileField(reader: MappingReader, key: string): Promise<Field<ReadFile>> {
  const field = reader.field(key, filePath);
  if (field.state !== 'ok') return field;
  const file = resolveConfigPath(reader.ctx.baseDir, field.value);
  const read = await readConfigFile(file);
  if (!read.ok) {
    reader.ctx.sink.error(field.path, unreadable(file, read.reason), field.valueAt);
    return invalidField(field);
  }
  return { ...field, value: { file, data: read.data } };
}

/** The same field, marked invalid after its content was found wrong. */
export function invalidField(field: { readonly path: string; readonly at: Position; readonly valueAt: Position }): Field<never> {
  return { state: 'invalid', path: field.path, at: field.at, valueAt: field.valueAt };
}
