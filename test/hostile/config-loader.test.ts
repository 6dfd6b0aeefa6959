// Hostile input for the config loader, property-based (fast-check): whatever
// the text, loading gives a config or a list of clear problems. It never
// throws, never quotes an inline secret, and never answers with a message too
// long to read. A hang would end in the runner's timeout; the runs are kept
// small enough that a healthy loader finishes each property in well under a
// second of CPU on a busy machine.
//
// The seed is fixed so that CI is deterministic; FC_SEED=<n> and FC_RUNS=<n>
// explore further (a failure prints its seed and the shrunk counter-example).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { ConfigLoadResult } from '../../src/config/index.js';
import { loadText, tempDir } from '../support/config-helpers.js';

const SEED = process.env.FC_SEED === undefined ? 20261205 : Number(process.env.FC_SEED);
const RUNS = (fallback: number): number => (process.env.FC_RUNS === undefined ? fallback : Number(process.env.FC_RUNS));

const SECRETS = ['pw-Sd83kQ1zP0', 'cs-Yq7Lr2nW4x', 'gs-Hb5Mt9cV6e', 'px-Kd2Wq8Zr1u'];

/** A config using most sections, with an inline secret in every place one may stand. */
const BASE = `server:
  listen: [unix:///tmp/token-broker-hostile.sock]
store:
  url: "memory:"
refresh:
  leadTimeSeconds: 300
authorizationServers:
  corp-idp:
    type: generic
    issuer: https://idp.example.test
proxies:
  office:
    url: http://proxy.example.test:3128
    username: proxyuser
    password: "${SECRETS[3]}"
mailboxes:
  sales-imap:
    protocol: imap
    grantType: client-credentials
    tenantId: 00000000-0000-0000-0000-000000000000
    clientId: 11111111-1111-1111-1111-111111111111
    clientSecret: "${SECRETS[1]}"
    username: sales@contoso.example
    proxy: office
  alice-graph:
    protocol: graph
    grantType: ropc
    tenantId: 00000000-0000-0000-0000-000000000000
    clientId: 22222222-2222-2222-2222-222222222222
    username: alice@contoso.example
    password: "${SECRETS[0]}"
  bob-generic:
    protocol: imap
    authorizationServer: corp-idp
    grantType: client-credentials
    clientId: broker
    clientSecret: '${SECRETS[2]}'
    scopes: [mail.read]
    username: bob@example.test
`;

/** Characters that change what YAML means, plus some that are only noise. */
const YAML_CHARACTERS = [':', '-', '?', '[', ']', '{', '}', ',', '&', '*', '!', '|', '>', '"', "'", '#', '%', '@', '`', '\n', '\t', ' ', '  ', '\\', 'a', '0', '\u0000', '\u0085', '\ufeff', '<<'];

interface Edit {
  readonly at: number;
  readonly remove: number;
  readonly insert: string;
}

const edit: fc.Arbitrary<Edit> = fc.record({
  at: fc.nat({ max: BASE.length }),
  remove: fc.nat({ max: 12 }),
  insert: fc.array(fc.constantFrom(...YAML_CHARACTERS), { maxLength: 6 }).map((parts) => parts.join('')),
});

function applyEdits(text: string, edits: readonly Edit[]): string {
  let result = text;
  for (const { at, remove, insert } of edits) {
    const position = Math.min(at, result.length);
    result = result.slice(0, position) + insert + result.slice(position + remove);
  }
  return result;
}

/** What every answer of the loader must satisfy, whatever the text. */
function assertWellFormed(result: ConfigLoadResult, text: string): void {
  const problems = result.ok ? result.warnings : result.problems;
  if (!result.ok) assert.ok(problems.length > 0, 'a failed load must say why');
  for (const problem of problems) {
    assert.equal(typeof problem.message, 'string');
    assert.ok(problem.message.length > 0, 'an empty problem message');
    assert.ok(problem.message.length <= 1_000, `a problem message of ${problem.message.length} characters: ${problem.message.slice(0, 200)}...`);
    for (const secret of SECRETS) {
      // A secret the text no longer holds whole cannot leak; one still in it must not be quoted back.
      if (text.includes(secret)) assert.ok(!problem.message.includes(secret) && !problem.path.includes(secret), `a problem quotes the secret ${secret}: ${problem.path}: ${problem.message}`);
    }
  }
}

async function loadSafely(text: string, dir?: string): Promise<ConfigLoadResult> {
  try {
    return await loadText(text, dir === undefined ? {} : { dir });
  } catch (error) {
    assert.fail(`the loader threw instead of reporting a problem: ${String(error)}\n--- text ---\n${text.slice(0, 2_000)}`);
  }
}

describe('hostile config text', () => {
  test('the base text loads: the properties start from a valid config', async () => {
    const result = await loadText(BASE);
    assert.ok(result.ok, result.ok ? '' : result.problems.map((problem) => `${problem.path}: ${problem.message}`).join('\n'));
  });

  test('random edits of a valid config: a config or clear problems, never a throw or a quoted secret', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 4 }), async (edits) => {
        const text = applyEdits(BASE, edits);
        assertWellFormed(await loadSafely(text), text);
      }),
      { seed: SEED, numRuns: RUNS(400) },
    );
  });

  test('a syntax error anywhere near an inline secret never quotes it', async () => {
    // Each secret line with its value's quoting broken in the ways people break it.
    const breakings = [(line: string) => line.replace(/"$/, ''), (line: string) => line.replace(/: /, ':'), (line: string) => `${line} "`, (line: string) => `\t${line}`, (line: string) => `${line}]`, (line: string) => line.replace(/"/, '{')];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...SECRETS), fc.constantFrom(...breakings), async (secret, breakLine) => {
        const text = BASE.split('\n').map((line) => (line.includes(secret) ? breakLine(line) : line)).join('\n');
        assertWellFormed(await loadSafely(text), text);
      }),
      { seed: SEED, numRuns: RUNS(60) },
    );
  });

  test('anchors and aliases in any arrangement, self-references included: a config or problems, never a throw', async () => {
    // A small tree of mappings and sequences whose nodes may carry an anchor or be an alias to any anchor (earlier, later or its own).
    const anchors = ['a', 'b', 'c'];
    const leaf = fc.oneof(fc.constantFrom('x', '1', 'true', '""'), fc.constantFrom(...anchors).map((name) => `*${name}`));
    const node = fc.letrec<{ node: string }>((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaf,
        fc.tuple(fc.option(fc.constantFrom(...anchors)), fc.array(tie('node'), { maxLength: 4 })).map(([anchor, items]) => `${anchor === null ? '' : `&${anchor} `}[${items.join(', ')}]`),
        fc.tuple(fc.option(fc.constantFrom(...anchors)), fc.array(fc.tuple(fc.constantFrom('k1', 'k2', 'k3', '<<'), tie('node')), { maxLength: 4 })).map(
          ([anchor, entries]) => `${anchor === null ? '' : `&${anchor} `}{${entries.map(([key, value]) => `${key}: ${value}`).join(', ')}}`,
        ),
      ),
    })).node;
    await fc.assert(
      fc.asyncProperty(node, fc.constantFrom('mailboxes', 'refresh', 'proxies', 'server'), async (value, section) => {
        const text = `${section}: ${value}\n`;
        assertWellFormed(await loadSafely(text), text);
      }),
      { seed: SEED, numRuns: RUNS(300) },
    );
  });

  test('alias bombs (n levels of n aliases each) are refused or bounded, never expanded without limit', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 12 }), fc.integer({ min: 2, max: 12 }), async (levels, width) => {
        const lines = [`l0: &l0 [${Array.from({ length: width }, () => '"lol"').join(', ')}]`];
        for (let level = 1; level < levels; level++) lines.push(`l${level}: &l${level} [${Array.from({ length: width }, () => `*l${level - 1}`).join(', ')}]`);
        const text = `refresh:\n  ${lines.join('\n  ')}\nmailboxes: *l${levels - 1}\n`;
        assertWellFormed(await loadSafely(text), text);
      }),
      { seed: SEED, numRuns: RUNS(40) },
    );
  });

  test('deep nesting, flow and block, is a problem, not a stack overflow', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 120_000 }), fc.constantFrom('flow-seq', 'flow-map', 'block-seq'), async (depth, kind) => {
        const value =
          kind === 'flow-seq' ? `${'['.repeat(depth)}${']'.repeat(depth)}` : kind === 'flow-map' ? `${'{a: '.repeat(depth)}1${'}'.repeat(depth)}` : Array.from({ length: Math.min(depth, 3_000) }, (_, level) => `${' '.repeat(level)}-`).join('\n');
        const text = `mailboxes:\n  m1:\n    scopes: ${kind === 'block-seq' ? `\n${value}` : value}\n`;
        assertWellFormed(await loadSafely(text), text);
      }),
      { seed: SEED, numRuns: RUNS(25) },
    );
  });

  test('huge values in any field are answered with problems that stay short', async () => {
    const keys = ['username', 'clientId', 'tenantId', 'sharedMailbox', 'redirectUri', 'protocol', 'grantType', 'unknownKey'];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...keys), fc.integer({ min: 1_000, max: 2_000_000 }), fc.constantFrom('x', 'é', '\\u0001', ' '), async (key, length, unit) => {
        const text = `${BASE}    ${key}: "${unit.repeat(Math.ceil(length / unit.length))}"\n`;
        assertWellFormed(await loadSafely(text), text);
      }),
      { seed: SEED, numRuns: RUNS(20) },
    );
  });

  test('every file key pointing at what is no secret file (a folder, a FIFO, endless devices, /proc) gives problems, never a hang or a throw', async () => {
    const dir = await tempDir('hostile-files-');
    const fifo = path.join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const folder = path.join(dir, 'folder');
    await mkdir(folder);
    const targets = [fifo, folder, '/dev/zero', '/dev/urandom', '/dev/null', '/proc/self/status', '/proc/self/mem', '/proc/kcore', path.join(dir, 'absent')];
    // Each key with the line it replaces in BASE (or the mailbox it is added to).
    const keys: { readonly key: string; readonly text: (target: string) => string }[] = [
      { key: 'passwordFile', text: (target) => BASE.replace(`    password: "${SECRETS[0]}"`, `    passwordFile: ${target}`) },
      { key: 'clientSecretFile', text: (target) => BASE.replace(`    clientSecret: "${SECRETS[1]}"`, `    clientSecretFile: ${target}`) },
      { key: 'proxy passwordFile', text: (target) => BASE.replace(`    password: "${SECRETS[3]}"`, `    passwordFile: ${target}`) },
      { key: 'caFile', text: (target) => BASE.replace('    issuer: https://idp.example.test', `    issuer: https://idp.example.test\n    caFile: ${target}`) },
      { key: 'encryptionKeyFile', text: (target) => BASE.replace('  url: "memory:"', `  url: sqlite://tokens.sqlite\n  encryptionKeyFile: ${target}`) },
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...keys), fc.constantFrom(...targets), async ({ key, text: withTarget }, target) => {
        const text = withTarget(target);
        assert.notEqual(text, BASE, `${key}: the replacement did not apply`);
        const result = await loadSafely(text, dir);
        assertWellFormed(result, text);
        // A missing store key is created by serve; a /proc file is a regular file whose text may pass as a secret (or not):
        // either answer is fine, as long as it is an answer. Everything else is refused.
        const mayPass = target.startsWith('/proc/') || (key === 'encryptionKeyFile' && target.endsWith('absent'));
        if (!mayPass) assert.equal(result.ok, false, `${key}: ${target} was accepted`);
      }),
      { seed: SEED, numRuns: RUNS(45) },
    );
  });
});
