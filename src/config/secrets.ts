// Secret fields: every secret `x` may be given inline (`x`, usually as
// `${ENV}`) or as `xFile`, a file read at load time. Either way it becomes a
// Secret whose origin names the key, so nothing downstream can print it.
import { filePath, secretText } from './fields.js';
import { readNamedFile } from './file-field.js';
import { noteInlineSecret } from './file-permissions.js';
import { resolveConfigPath, SECRET_FILE } from './files.js';
import type { Field, MappingReader } from './reader.js';
import { Secret } from './secret.js';

/** Key names a mapping must accept for the secret `key`. */
export function secretKeys(key: string): [string, string] {
  return [key, `${key}File`];
}

export async function readSecret(reader: MappingReader, key: string): Promise<Field<Secret>> {
  const fileKey = `${key}File`;
  const inline = reader.entry(key);
  const file = reader.entry(fileKey);
  if (inline !== undefined && file !== undefined) {
    reader.ctx.sink.error(reader.childPath(fileKey), `given together with ${key}; keep only one of them`, file.keyAt);
    return { state: 'invalid', path: reader.childPath(key), at: inline.keyAt, valueAt: inline.value.at };
  }
  if (file === undefined) {
    const field = reader.field(key, secretText);
    if (field.state !== 'ok') return field;
    if (inline?.value.kind === 'scalar' && typeof inline.value.value === 'string') noteInlineSecret(reader.ctx, field.path, inline.value.value, field.valueAt);
    return { ...field, value: new Secret(field.value, field.path) };
  }
  const field = reader.field(fileKey, filePath);
  if (field.state !== 'ok') return field;
  const path = resolveConfigPath(reader.ctx.baseDir, field.value);
  const data = await readNamedFile(reader.ctx, field, path, SECRET_FILE);
  const invalid = { state: 'invalid', path: field.path, at: field.at, valueAt: field.valueAt } as const;
  if (data === undefined) return invalid;
  // One trailing newline is what `echo secret > file` and editors add; more would be deliberate.
  const value = data.toString('utf8').replace(/\r?\n$/, '');
  if (value === '') {
    reader.ctx.sink.error(field.path, `${path} is empty; write the secret into it`, field.valueAt);
    return invalid;
  }
  return { ...field, value: new Secret(value, `${field.path} (${path})`) };
}
