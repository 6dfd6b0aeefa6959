// The document schema (src/config/schema) against the reader it describes,
// and the generated files against the schema: the key set of every mapping,
// the same verdict on valid and broken configs, and schema/broker.schema.json
// and docs/configuration.md exactly as generated now. The committed JSON
// Schema is also run the way an editor runs it (ajv, draft 2020-12, on the
// YAML as written, \${NAME} uninterpolated): zod's toJSONSchema could drop a
// constraint or add one, and the editor would then mark a good config red or
// a broken one green.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { interpolate } from '../../src/config/interpolate.js';
import {
  brokerDocument,
  brokerJsonSchema,
  brokerJsonSchemaText,
  configurationReference,
  PENDING_READER_KEYS,
  referenceEntries,
  referenceSections,
  REGENERATE_COMMAND,
  SCHEMA_FILE,
} from '../../src/config/schema/index.js';
import type { JsonSchema } from '../../src/config/schema/index.js';
import { CLIENT, FIXTURES, loadText, problemsOf, TENANT } from '../support/config-helpers.js';

/** The repository root: this file runs as dist/test/unit/config-schema-drift.test.js. */
const ROOT = join(import.meta.dirname, '..', '..', '..');
const REFERENCE_FILE = 'docs/configuration.md';
const EXAMPLE_CONFIG = 'config/broker.example.yaml';

/** What the reader does before any check: `${NAME}` replaced in every string, from `env`. */
function interpolated(value: unknown, env: NodeJS.ProcessEnv): unknown {
  if (typeof value === 'string') {
    const result = interpolate(value, env);
    if (!result.ok) throw new Error(result.messages.join('; '));
    return result.value;
  }
  if (Array.isArray(value)) return value.map((item) => interpolated(item, env));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, interpolated(item, env)]));
  return value;
}

function documentVerdict(text: string, env: NodeJS.ProcessEnv = {}): { ok: boolean; issues: string } {
  const result = brokerDocument.safeParse(interpolated(parse(text), env));
  return { ok: result.success, issues: result.success ? '' : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('\n') };
}

let editorValidator: ValidateFunction | undefined;

/** The committed schema file's verdict, as yaml-language-server gives it: on the YAML as written. */
async function editorVerdict(text: string): Promise<{ ok: boolean; issues: string }> {
  if (editorValidator === undefined) {
    const schema = JSON.parse(await readFile(join(ROOT, SCHEMA_FILE), 'utf8')) as object;
    // strict: a keyword ajv does not know, or a schema it finds ambiguous, fails here instead of being ignored.
    editorValidator = new Ajv2020({ allErrors: true, strict: true }).compile(schema);
  }
  const ok = editorValidator(parse(text) ?? {});
  return { ok, issues: ok ? '' : (editorValidator.errors ?? []).slice(0, 8).map((error) => `${error.instancePath || '/'}: ${error.message ?? ''}`).join('\n') };
}

const PROBE = 'zzProbeKey';

/**
 * Every mapping the reader checks keys on, with one unknown key each. The
 * reader answers "unknown key; expected one of: ..." with the list it
 * checks against: its *_KEYS constants, exported or not.
 */
const PROBED_MAPPINGS: readonly { readerPath: string; schemaPath: string }[] = [
  { readerPath: '', schemaPath: '' },
  { readerPath: 'server', schemaPath: 'server' },
  { readerPath: 'server.tls', schemaPath: 'server.tls' },
  { readerPath: 'server.limits', schemaPath: 'server.limits' },
  { readerPath: 'server.clients[0]', schemaPath: 'server.clients[]' },
  { readerPath: 'store', schemaPath: 'store' },
  { readerPath: 'metrics', schemaPath: 'metrics' },
  { readerPath: 'audit', schemaPath: 'audit' },
  { readerPath: 'refresh', schemaPath: 'refresh' },
  { readerPath: 'authorizationServers.probe', schemaPath: 'authorizationServers.<server>' },
  { readerPath: 'authorizationServers.probe.scopes', schemaPath: 'authorizationServers.<server>.scopes' },
  { readerPath: 'proxies.probe', schemaPath: 'proxies.<proxy>' },
  { readerPath: 'mailboxes.probe', schemaPath: 'mailboxes.<mailbox>' },
  { readerPath: 'mailboxes.probe.certificate', schemaPath: 'mailboxes.<mailbox>.certificate' },
];

const PROBE_CONFIG = `
${PROBE}: 1
server: { ${PROBE}: 1, tls: { ${PROBE}: 1 }, limits: { ${PROBE}: 1 }, clients: [{ ${PROBE}: 1 }] }
store: { url: "memory:", ${PROBE}: 1 }
metrics: { ${PROBE}: 1 }
audit: { ${PROBE}: 1 }
refresh: { ${PROBE}: 1 }
authorizationServers: { probe: { type: generic, ${PROBE}: 1, scopes: { ${PROBE}: 1 } } }
proxies: { probe: { ${PROBE}: 1 } }
mailboxes: { probe: { ${PROBE}: 1, certificate: { ${PROBE}: 1 } } }
`;

/** The key list the reader reports for each probed mapping. */
async function readerKeySets(): Promise<Map<string, string[]>> {
  const problems = problemsOf(await loadText(PROBE_CONFIG));
  const sets = new Map<string, string[]>();
  for (const problem of problems) {
    if (problem.path !== PROBE && !problem.path.endsWith(`.${PROBE}`)) continue;
    const listed = /expected one of: (.*)$/.exec(problem.message)?.[1];
    assert.ok(listed !== undefined, `unexpected message for ${problem.path}: ${problem.message}`);
    sets.set(problem.path.slice(0, -PROBE.length).replace(/\.$/, ''), listed.split(', '));
  }
  return sets;
}

/** The keys the document schema has directly under `schemaPath`. */
function schemaKeys(schemaPath: string): string[] {
  const schema = brokerJsonSchema();
  if (schemaPath === '') return referenceSections(schema).map((section) => section.name);
  const prefix = `${schemaPath}.`;
  return referenceEntries(schema)
    .map((entry) => entry.path)
    .filter((path) => path.startsWith(prefix) && !/[.[]/.test(path.slice(prefix.length)));
}

describe('config schema: the document schema has the keys the reader accepts', () => {
  test('every mapping has the same keys in the schema as in the reader (plus the keys pending on other branches)', async () => {
    const reader = await readerKeySets();
    for (const { readerPath, schemaPath } of PROBED_MAPPINGS) {
      const readerKeys = reader.get(readerPath);
      assert.ok(readerKeys !== undefined, `the reader reported no unknown key at ${readerPath || 'the top level'}: the probe no longer reaches that mapping; fix PROBE_CONFIG`);
      const pending = PENDING_READER_KEYS[schemaPath] ?? [];
      for (const key of pending) {
        assert.ok(
          !readerKeys.includes(key),
          `the reader now accepts ${schemaPath}.${key}: remove it from PENDING_READER_KEYS in src/config/schema/pending-keys.ts and describe it with the reader's own field schema`,
        );
      }
      const schema = schemaKeys(schemaPath);
      const keys = schemaPath === '' ? schema : schema.map((path) => path.slice(schemaPath.length + 1));
      assert.deepEqual(
        [...keys].sort(),
        [...readerKeys, ...pending].sort(),
        `${schemaPath || 'the top level'}: the document schema (src/config/schema) and the reader disagree on the keys; describe the reader's keys there, then run ${REGENERATE_COMMAND}`,
      );
    }
  });

  test('PENDING_READER_KEYS names only mappings the test probes', () => {
    const probed = new Set(PROBED_MAPPINGS.map((mapping) => mapping.schemaPath));
    for (const section of Object.keys(PENDING_READER_KEYS)) assert.ok(probed.has(section), `${section} is not a probed mapping`);
  });

  test('every key has a description', () => {
    for (const entry of referenceEntries(brokerJsonSchema())) assert.notEqual(entry.description, '', `${entry.path} has no description in src/config/schema`);
    for (const section of referenceSections(brokerJsonSchema())) assert.notEqual(section.description, '', `section ${section.name} has no description`);
  });
});

/** Valid configs (the reader loads them without an error) and broken ones (the reader refuses them for the reason given). */
const MAILBOX = `protocol: imap, grantType: client-credentials, tenantId: ${TENANT}, clientId: ${CLIENT}, clientSecret: not-a-real-secret, username: sales@contoso.example`;
const AGREEMENT_CASES: readonly { name: string; yaml: string; valid: boolean; env?: NodeJS.ProcessEnv }[] = [
  { name: 'one client-credentials mailbox', valid: true, yaml: `store: { url: "memory:" }\nmailboxes: { sales: { ${MAILBOX} } }` },
  {
    name: 'sections left empty',
    valid: true,
    yaml: `server:\nstore:\nrefresh:\nproxies:\nauthorizationServers:\nmailboxes: { sales: { ${MAILBOX} } }`,
  },
  {
    name: 'every section, with one address as a string, scopes as one string, numbers and flags from ${NAME}',
    valid: true,
    env: { LEAD: '600', ADMIN: 'true', TENANT },
    yaml: `
server:
  listen: tcp://127.0.0.1:50051
  socketMode: "0600"
  clients:
    - { name: ops, keySha256: ${'a'.repeat(64)}, mailboxes: ["*"], admin: "\${ADMIN}", protocols: [imap], watch: false, maxWatches: 2, callsPerSecond: "5" }
  limits: { maxRequestBytes: 2048, maxStreamsPerConnection: 10, idleConnectionSeconds: 60 }
store: { url: "memory:" }
metrics: { listen: 127.0.0.1:9464 }
audit: { stdout: true }
refresh: { leadTimeSeconds: "\${LEAD}", maxConcurrentPerServer: 4, sweepIntervalSeconds: 5, idleAfterHours: 2, keepAliveDays: 30 }
authorizationServers:
  microsoft: { cloud: usgov }
  acme: { type: generic, issuer: https://idp.acme.example, scopes: { imap: "imap offline_access" } }
proxies:
  corp: { url: http://proxy.corp.example:3128, username: svc, password: not-a-real-password, noProxy: .corp.example }
mailboxes:
  sales: { ${MAILBOX.replace(TENANT, '"${TENANT}"')}, proxy: corp }
  user: { protocol: imap, grantType: device-code, tenantId: ${TENANT}, clientId: ${CLIENT}, username: u@contoso.example, proxy: environment }
  acme-box: { protocol: imap, grantType: authorization-code, authorizationServer: acme, clientId: c, clientSecret: s, redirectUri: "http://localhost:8400/callback", redirectPlatform: web, username: u@acme.example }
  graph: { protocol: graph, grantType: ropc, tenantId: ${TENANT}, clientId: ${CLIENT}, username: u@contoso.example, password: p }
`,
  },
  { name: 'an unknown key', valid: false, yaml: `mailboxes: { sales: { ${MAILBOX}, clientSecrte: x } }` },
  { name: 'an unknown section', valid: false, yaml: `mailbox: {}` },
  { name: 'socketMode unquoted (YAML reads a number)', valid: false, yaml: 'server: { socketMode: 0660 }' },
  { name: 'a negative lead time', valid: false, yaml: 'refresh: { leadTimeSeconds: -5 }' },
  { name: 'keepAliveDays above 80', valid: false, yaml: 'refresh: { keepAliveDays: 90 }' },
  { name: 'an address that is no unix:// or tcp:// URL', valid: false, yaml: 'server: { listen: [http://127.0.0.1:1] }' },
  { name: 'ropc with imap', valid: false, yaml: `mailboxes: { m: { protocol: imap, grantType: ropc, tenantId: ${TENANT}, clientId: ${CLIENT}, username: u@contoso.example, password: p } }` },
  {
    name: 'a redirectUri under ropc',
    valid: false,
    yaml: `mailboxes: { m: { protocol: graph, grantType: ropc, tenantId: ${TENANT}, clientId: ${CLIENT}, username: u@contoso.example, password: p, redirectUri: "http://localhost:8400/callback" } }`,
  },
  { name: 'a mailbox without grantType', valid: false, yaml: `mailboxes: { m: { protocol: imap, clientId: ${CLIENT}, username: u@contoso.example } }` },
  { name: 'authorization-code without redirectUri', valid: false, yaml: `mailboxes: { m: { protocol: imap, grantType: authorization-code, tenantId: ${TENANT}, clientId: ${CLIENT}, username: u@contoso.example } }` },
  { name: 'a server without type', valid: false, yaml: 'authorizationServers: { acme: { issuer: https://idp.acme.example } }' },
  { name: 'authorityHost on a google server', valid: false, yaml: 'authorizationServers: { g: { type: google, authorityHost: https://login.microsoftonline.com } }' },
  { name: 'a proxy named environment', valid: false, yaml: 'proxies: { environment: { url: http://proxy.corp.example:3128 } }' },
  { name: 'a mailbox name with a space', valid: false, yaml: `mailboxes: { "my box": { ${MAILBOX} } }` },
  { name: 'a proxy URL without port', valid: false, yaml: 'proxies: { corp: { url: http://proxy.corp.example } }' },
  { name: 'a bare proxy address and a SOCKS5 URL without port', valid: true, yaml: 'proxies: { office: { url: proxy.corp.example }, tunnel: { url: "socks5h://[::1]" } }' },
  { name: 'a proxy URL with a user name in it', valid: false, yaml: 'proxies: { corp: { url: "http://svc:pw@proxy.corp.example:3128" } }' },
  { name: 'a proxy URL with a path', valid: false, yaml: 'proxies: { corp: { url: "http://proxy.corp.example:3128/pac" } }' },
  { name: 'a relative unix socket path', valid: false, yaml: 'server: { listen: "unix://run/broker.sock" }' },
  { name: 'a tcp address without port', valid: false, yaml: 'server: { listen: ["tcp://127.0.0.1"] }' },
  { name: 'audit without a value', valid: false, yaml: 'audit:' },
  { name: 'metrics without a value (no listen)', valid: false, yaml: 'metrics:' },
  { name: 'a client without mailboxes', valid: false, yaml: 'server: { clients: [{ name: a, key: k }] }' },
];

describe('config schema: the document schema and the reader agree on valid and broken configs', () => {
  for (const { name, yaml, valid, env } of AGREEMENT_CASES) {
    test(`${valid ? 'valid' : 'broken'}: ${name}`, async () => {
      const reader = await loadText(yaml, { env: env ?? {} });
      const readerErrors = problemsOf(reader).filter((problem) => problem.severity === 'error');
      assert.equal(reader.ok, valid, `the reader: ${readerErrors.map((problem) => `${problem.path}: ${problem.message}`).join('\n')}`);
      const document = documentVerdict(yaml, env);
      assert.equal(document.ok, valid, `the document schema ${valid ? 'refuses' : 'accepts'} it${document.issues === '' ? '' : `:\n${document.issues}`}`);
      const editor = await editorVerdict(yaml);
      assert.equal(editor.ok, valid, `${SCHEMA_FILE} (as an editor runs it) ${valid ? 'refuses' : 'accepts'} it${editor.issues === '' ? '' : `:\n${editor.issues}`}`);
    });
  }

  test('the fixture configs and the example config parse with the document schema and the schema file; many-mistakes.yaml does not', async () => {
    const fixtures = (await readdir(FIXTURES)).filter((file) => file.endsWith('.yaml')).map((file) => join(FIXTURES, file));
    assert.ok(fixtures.length >= 2, `no fixtures found in ${FIXTURES}`);
    // The example reads its secrets as systemd credentials: the folder systemd would name.
    const env = { CREDENTIALS_DIRECTORY: '/run/credentials/token-broker.service' };
    for (const file of [...fixtures, join(ROOT, EXAMPLE_CONFIG)]) {
      const text = await readFile(file, 'utf8');
      const verdict = documentVerdict(text, env);
      assert.equal(verdict.ok, !file.endsWith('many-mistakes.yaml'), `${file}:\n${verdict.issues}`);
      const editor = await editorVerdict(text);
      assert.equal(editor.ok, !file.endsWith('many-mistakes.yaml'), `${file} against ${SCHEMA_FILE}:\n${editor.issues}`);
    }
  });
});

describe('config schema: the generated files are what the code generates now', () => {
  test(`${SCHEMA_FILE} equals the JSON Schema generated from src/config/schema`, async () => {
    const committed = await readFile(join(ROOT, SCHEMA_FILE), 'utf8');
    assert.ok(committed === brokerJsonSchemaText(), `${SCHEMA_FILE} differs from the schema the code generates; run ${REGENERATE_COMMAND} and commit the result`);
  });

  test(`${REFERENCE_FILE} equals the reference generated from the schema`, async () => {
    const committed = await readFile(join(ROOT, REFERENCE_FILE), 'utf8');
    assert.ok(committed === configurationReference(brokerJsonSchema()), `${REFERENCE_FILE} differs from the reference the code generates; run ${REGENERATE_COMMAND} and commit the result`);
  });

  test('the JSON Schema is draft 2020-12 with an $id and a title, and takes ${NAME} wherever a value is constrained', () => {
    const schema = brokerJsonSchema();
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(typeof schema.$id, 'string');
    assert.equal(schema.title, 'token-broker configuration');
    const refresh = ((schema.properties as Record<string, JsonSchema>).refresh?.anyOf as JsonSchema[])[0]?.properties as Record<string, JsonSchema>;
    const lead = refresh.leadTimeSeconds?.anyOf as JsonSchema[];
    assert.deepEqual(lead[0], { type: 'integer', minimum: 0 });
    assert.deepEqual(lead.at(-1), { $ref: '#/$defs/environmentReference' });
    // `grantType: ${GRANT}` matches every mailbox variant: oneOf ("exactly one") would refuse what the reader takes.
    assert.doesNotMatch(brokerJsonSchemaText(), /"oneOf"/);
  });

  test('a discriminator from ${NAME} is read like any other value', async () => {
    const yaml = `store: { url: "memory:" }\nmailboxes: { sales: { ${MAILBOX.replace('grantType: client-credentials', 'grantType: "${GRANT}"')} } }`;
    const env = { GRANT: 'client-credentials' };
    assert.equal((await loadText(yaml, { env })).ok, true);
    assert.equal(documentVerdict(yaml, env).ok, true);
  });

  test(`the example config names the schema for yaml-language-server, and package.json ships it`, async () => {
    const [firstLine] = (await readFile(join(ROOT, EXAMPLE_CONFIG), 'utf8')).split('\n');
    assert.equal(firstLine, `# yaml-language-server: $schema=../${SCHEMA_FILE}`);
    const packageJson = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { files: string[] };
    assert.ok(packageJson.files.includes(SCHEMA_FILE.split('/')[0] ?? ''), 'package.json "files" does not ship schema/');
  });
});
