// `caFile`: extra trust anchors for an authorization server (a TLS-inspecting
// proxy, an internal IdP). Read at load time; every block must parse.
import { X509Certificate } from 'node:crypto';
import { invalidField, readFileField } from './file-field.js';
import { CERTIFICATE_FILE } from './files.js';
import { pemCertificateBlocks } from './pem.js';
import type { Field, MappingReader } from './reader.js';

export interface CaBundle {
  readonly file: string;
  readonly certificates: readonly string[];
}

export async function readCaFile(reader: MappingReader, key: string): Promise<Field<CaBundle>> {
  const field = await readFileField(reader, key, CERTIFICATE_FILE);
  if (field.state !== 'ok') return field;
  const invalid = invalidField(field);
  const { file, data } = field.value;
  const certificates = pemCertificateBlocks(data.toString('latin1'));
  if (certificates.length === 0) {
    reader.ctx.sink.error(field.path, `${file} contains no PEM certificate; give a file with one or more -----BEGIN CERTIFICATE----- blocks`, field.valueAt);
    return invalid;
  }
  const broken = certificates.findIndex((pem) => !parses(pem));
  if (broken !== -1) {
    reader.ctx.sink.error(field.path, `certificate ${broken + 1} in ${file} cannot be parsed; fix or remove it`, field.valueAt);
    return invalid;
  }
  return { ...field, value: { file, certificates } };
}

function parses(pem: string): boolean {
  try {
    new X509Certificate(pem);
    return true;
  } catch {
    return false;
  }
}
