// The wire types are generated (npm run generate:proto) with the options the
// server and client load the proto with: a difference would make the types
// lie about the decoded messages, so the two are compared here.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { BROKER_PROTO_FILE, PROTO_LOADER_OPTIONS } from '../../src/proto/index.js';

/** This file is dist/test/unit/*.js once built. */
const PACKAGE_JSON = new URL('../../../package.json', import.meta.url);

/** longs and enums take a constructor in the loader, its name on the command line. */
const CONSTRUCTOR_NAMES = new Map<unknown, string>([
  [String, 'String'],
  [Number, 'Number'],
]);

/** The proto-loader-gen-types flag each loader option needs. */
function generatorFlag(key: string, value: unknown): string {
  if (value === true) return `--${key}`;
  const name = CONSTRUCTOR_NAMES.get(value);
  if (name !== undefined) return `--${key}=${name}`;
  return assert.fail(`PROTO_LOADER_OPTIONS.${key}: no proto-loader-gen-types flag is known for ${String(value)}`);
}

test('generate:proto passes proto-loader-gen-types the loader options of load.ts, for the broker proto', () => {
  const { scripts } = JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { scripts: Record<string, string> };
  const command = scripts['generate:proto']?.split(' && ').find((part) => part.startsWith('proto-loader-gen-types '));
  assert.ok(command !== undefined, 'package.json scripts.generate:proto runs proto-loader-gen-types');
  const words = command.split(' ');
  const { includeDirs: _includeDirs, ...messageOptions } = PROTO_LOADER_OPTIONS;
  const expected = Object.entries(messageOptions).map(([key, value]) => generatorFlag(key, value));
  const given = words.filter((word) => word.startsWith('--') && !/^--(grpcLib|importFileExtension|includeDirs|outDir)\b/.test(word));
  assert.deepEqual(given.sort(), expected.sort());
  assert.ok(words.includes('--grpcLib=@grpc/grpc-js'), 'service types for @grpc/grpc-js');
  assert.ok(words.includes('--importFileExtension=.js'), 'imports that resolve under NodeNext');
  assert.equal(words.at(-1), BROKER_PROTO_FILE);
});
