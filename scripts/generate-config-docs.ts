// `npm run generate:config-docs`: writes schema/broker.schema.json and
// docs/configuration.md from the document schema (src/config/schema). Run
// it after changing a key; the drift tests fail until the files match.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { brokerJsonSchema, brokerJsonSchemaText, configurationReference, SCHEMA_FILE } from '../src/config/schema/index.js';

export const REFERENCE_FILE = 'docs/configuration.md';

/** The repository root: this file runs as dist/scripts/generate-config-docs.js. */
const root = join(import.meta.dirname, '..', '..');

for (const [file, text] of [
  [SCHEMA_FILE, brokerJsonSchemaText()],
  [REFERENCE_FILE, configurationReference(brokerJsonSchema())],
] as const) {
  const path = join(root, file);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
  process.stdout.write(`wrote ${file}\n`);
}
