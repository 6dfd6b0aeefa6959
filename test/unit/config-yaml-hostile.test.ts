// YAML written to hurt the loader, or broken next to a secret: every such
// file ends in problems with a position, never in a thrown error, a stall or
// a message that quotes the file's text. Through loadConfigFromText, as
// validate, serve and a reload load a file, and once through the worker
// thread that parses a big file for a reload.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { Scalar } from 'yaml';
import { loadConfigFromText } from '../../src/config/index.js';
import type { ConfigLoadResult, ConfigProblem } from '../../src/config/index.js';
import { OFF_THREAD_MIN_LENGTH } from '../../src/config/yaml-off-thread.js';
import { configOf, loadText, NOW, problemsOf, tempDir } from '../support/config-helpers.js';

const SECRET = `pw-${randomUUID()}`;
/** A part of the secret no message could hold by chance, to catch a quote of part of it. */
const SECRET_CORE = SECRET.slice(3, 16);

/** A valid ROPC mailbox without its password: each case adds a broken line with an inline secret. */
const ROPC_MAILBOX = `mailboxes:
  sales:
    protocol: graph
    grantType: ropc-deprecated
    tenantId: 00000000-0000-0000-0000-000000000000
    clientId: 11111111-1111-1111-1111-111111111111
    username: sales@contoso.example
`;

/** The same, every line indented by two more spaces: a file pasted with an indent. */
const INDENTED_MAILBOX = ROPC_MAILBOX.replace(/^/gm, '  ');

const VALID_MAILBOX = `  sales:
    protocol: imap
    grantType: client-credentials
    tenantId: 00000000-0000-0000-0000-000000000000
    clientId: 11111111-1111-1111-1111-111111111111
    clientSecret: s3cret
    username: sales@contoso.example
`;

/** The limit on nesting the loader states in its message. */
const MAX_NESTING = 64;

function assertQuotesNoSource(problems: readonly ConfigProblem[]): void {
  for (const problem of problems) {
    assert.ok(!problem.message.includes(SECRET_CORE), `the message quotes the secret: ${problem.message}`);
    assert.ok(!problem.path.includes(SECRET_CORE), `the path quotes the secret: ${problem.path}`);
    assert.doesNotMatch(problem.message, /\n/, `a message is one line, without an excerpt of the file: ${problem.message}`);
  }
}

describe('config yaml: a syntax error next to an inline secret does not quote it', () => {
  // line:column of the problem that names the broken spot; positions are kept, the text is not.
  const cases: { name: string; text: string; at: [number, number] }[] = [
    { name: 'an unclosed double quote', text: `${ROPC_MAILBOX}    password: "${SECRET}\n`, at: [9, 1] },
    { name: 'an unclosed single quote', text: `${ROPC_MAILBOX}    password: '${SECRET}\n`, at: [9, 1] },
    { name: 'text after the closing quote', text: `${ROPC_MAILBOX}    password: "${SECRET}" and more\n`, at: [8, 57] },
    { name: 'bad indentation: a key not aligned with its siblings', text: `${ROPC_MAILBOX}    password: "${SECRET}"\n   sharedMailbox: x\n`, at: [9, 1] },
    { name: 'bad indentation: a line less indented than the first key', text: `${INDENTED_MAILBOX}  password: x\n password: "${SECRET}"\n`, at: [9, 2] },
    { name: 'bad indentation: a line less indented, with a block scalar', text: `${INDENTED_MAILBOX}      password: |\n        ${SECRET}\n ${SECRET}: "${SECRET}"\n`, at: [10, 2] },
    { name: 'a tab as indentation', text: `${ROPC_MAILBOX}\tpassword: "${SECRET}"\n`, at: [8, 1] },
    { name: 'a duplicate key', text: `${ROPC_MAILBOX}    password: "${SECRET}"\n    password: "${SECRET}x"\n`, at: [9, 5] },
    { name: 'flow: two values in one place', text: `mailboxes: { sales: { password: "${SECRET}" "${SECRET}" } }\n`, at: [1, 75] },
    { name: 'flow: an unclosed mapping', text: `mailboxes: { sales: { password: "${SECRET}" }\n`, at: [2, 1] },
    { name: 'flow: a list closed with }', text: `mailboxes:\n  sales:\n    scopes: [ "${SECRET}" }\n`, at: [3, 57] },
    { name: 'flow: a missing comma', text: `mailboxes: { sales: { password: ${SECRET} username: x } }\n`, at: [1, 33] },
    { name: 'a password that starts with |', text: `${ROPC_MAILBOX}    password: |${SECRET}\n`, at: [8, 16] },
    { name: 'a password that starts with @', text: `${ROPC_MAILBOX}    password: @${SECRET}\n`, at: [8, 15] },
    { name: 'a password that starts with !, read as a tag', text: `${ROPC_MAILBOX}    password: !${SECRET}\n`, at: [8, 15] },
    { name: 'a password that starts with *, read as an alias', text: `${ROPC_MAILBOX}    password: *${SECRET}\n`, at: [8, 15] },
    { name: 'a bad escape in a double-quoted password', text: `${ROPC_MAILBOX}    password: "${SECRET}\\q${SECRET}"\n`, at: [8, 55] },
    { name: 'a directive', text: `%YAML ${SECRET}\n---\n${ROPC_MAILBOX}`, at: [1, 7] },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const result = await loadText(c.text);
      assert.equal(result.ok, false);
      const problems = problemsOf(result);
      assertQuotesNoSource(problems);
      assert.ok(
        problems.some((problem) => problem.line === c.at[0] && problem.column === c.at[1]),
        `a problem at ${c.at.join(':')}: ${JSON.stringify(problems)}`,
      );
    });
  }

  test('a file broken on every line lists its first 20 syntax errors and counts the rest', async () => {
    const result = await loadText(`mailboxes:\n${`\tpassword: "${SECRET}"\n`.repeat(100)}`);
    const problems = problemsOf(result);
    assertQuotesNoSource(problems);
    assert.equal(problems.length, 21);
    assert.deepEqual(problems[20], { severity: 'error', path: '', message: 'YAML syntax error: and 80 more from here on, not listed; fix the ones above first', line: 22, column: 1 });
  });

  test('a syntax error says what is wrong and what to do, in words of its own', async () => {
    const result = await loadText(`${INDENTED_MAILBOX}  password: x\n password: "${SECRET}"\n`);
    const syntax = problemsOf(result).filter((problem) => problem.message.startsWith('YAML syntax error: '));
    assert.ok(syntax.length > 0, JSON.stringify(problemsOf(result)));
    for (const problem of syntax) {
      assert.equal(problem.path, '');
      assert.ok(problem.line !== undefined && problem.column !== undefined);
      assert.doesNotMatch(problem.message, /token|"/, `no parser token names and nothing quoted: ${problem.message}`);
    }
  });
});

/** Nine anchors, each a list of nine aliases of the one before: 9^9 values once expanded. */
function billionLaughs(): string {
  const lines = ['lol0: &lol0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
  for (let level = 1; level < 9; level += 1) lines.push(`lol${level}: &lol${level} [${Array.from({ length: 9 }, () => `*lol${level - 1}`).join(', ')}]`);
  return `${lines.join('\n')}\nmailboxes:\n  sales:\n    scopes: *lol8\n`;
}

/** `count` anchored scopes, each followed by an alias of itself: a valid config with `count` distinct aliases. */
function manyAliases(count: number): string {
  const items: string[] = [];
  for (let index = 0; index < count; index += 1) items.push(`      - &s${index} scope-${index}`, `      - *s${index}`);
  return `mailboxes:\n${VALID_MAILBOX}    scopes:\n${items.join('\n')}\n`;
}

/**
 * How often a yaml node without an anchor is asked for its anchor during
 * `run`: the work of alias resolution (finding the anchor an alias names),
 * counted rather than timed. Nodes that have an anchor hold it as an own
 * property and are not counted; the count is about all the others.
 */
async function anchorLookups(run: () => Promise<unknown>): Promise<number> {
  // Scalar, YAMLMap and YAMLSeq share this prototype (the yaml package's NodeBase).
  const base = Object.getPrototypeOf(Scalar.prototype) as object;
  assert.equal(Object.getOwnPropertyDescriptor(base, 'anchor'), undefined, 'the yaml package keeps no anchor on its node prototype');
  let lookups = 0;
  Object.defineProperty(base, 'anchor', {
    configurable: true,
    get() {
      lookups += 1;
      return undefined;
    },
    set(this: object, value: unknown) {
      Object.defineProperty(this, 'anchor', { value, writable: true, enumerable: true, configurable: true });
    },
  });
  try {
    await run();
  } finally {
    Reflect.deleteProperty(base, 'anchor');
  }
  return lookups;
}

describe('config yaml: aliases that would never end, or explode', () => {
  test('an alias inside the mapping its anchor marks is a problem at the alias, not a crash', async () => {
    const result = await loadText('mailboxes: &a\n  m1: *a\n');
    assert.deepEqual(problemsOf(result), [
      {
        severity: 'error',
        path: 'mailboxes.m1',
        message: 'this alias (*) is inside the value its anchor (&) marks, so it would expand without end; point it at another anchor, or write the value out',
        line: 2,
        column: 7,
      },
    ]);
  });

  test('an alias inside the list its anchor marks, a level further down', async () => {
    const result = await loadText(`mailboxes:\n${VALID_MAILBOX}    scopes: &s\n      - a\n      - [b, *s]\n`);
    assert.deepEqual(
      problemsOf(result).map((problem) => [problem.path, problem.line, problem.column]),
      [['mailboxes.sales.scopes[1][1]', 11, 13]],
    );
  });

  test('an alias of an anchor that is not defined before it is a problem (its name is not quoted)', async () => {
    const result = await loadText(`mailboxes:\n${VALID_MAILBOX}    sharedMailbox: *shared\nshared: &shared x\n`);
    assert.deepEqual(
      problemsOf(result).filter((problem) => problem.path === 'mailboxes.sales.sharedMailbox'),
      [
        {
          severity: 'error',
          path: 'mailboxes.sales.sharedMailbox',
          message: 'this alias (*) names no anchor (&) defined above it; define the anchor first, or put the value in quotes if it is text that starts with *',
          line: 9,
          column: 20,
        },
      ],
    );
  });

  test('one mailbox merged into 1,000 others loads (more uses of one anchor than the yaml package\'s maxAliasCount of 100)', async () => {
    const others = Array.from({ length: 1_000 }, (_, index) => `  m${index}:\n    <<: *defaults\n    username: m${index}@contoso.example\n`);
    const config = configOf(await loadText(`mailboxes:\n${VALID_MAILBOX.replace('sales:', 'sales: &defaults')}${others.join('')}`));
    assert.equal(config.mailboxes.size, 1_001);
    assert.equal(config.mailboxes.get('m999')?.clientId, '11111111-1111-1111-1111-111111111111');
    assert.equal(config.mailboxes.get('m999')?.username, 'm999@contoso.example');
  });

  test('billion laughs (9 levels of 9 aliases) is refused at the alias that goes over the limit, with the limit', async () => {
    const result = await loadText(billionLaughs());
    assert.equal(result.ok, false);
    const problems = problemsOf(result);
    assert.equal(problems.length, 1, JSON.stringify(problems));
    assert.match(
      problems[0]?.message ?? '',
      /^aliases \(\*\) expand this file to more than 10000 values \(the limit: 10 times the \d+ values written in it, and never less than 10000\); /,
    );
    assert.ok((problems[0]?.line ?? 0) >= 4, `at an alias in the upper levels: ${JSON.stringify(problems[0])}`);
  });

  test('a chain of aliases that nests values deeper than the limit is refused', async () => {
    const lines = ['c0: &c0 [x]'];
    for (let link = 1; link <= 100; link += 1) lines.push(`c${link}: &c${link} [*c${link - 1}]`);
    const result = await loadText(`${lines.join('\n')}\nmailboxes:\n${VALID_MAILBOX}`);
    const problems = problemsOf(result);
    assert.equal(problems.length, 1, JSON.stringify(problems));
    assert.equal(problems[0]?.message, `aliases (*) nest values here more than ${MAX_NESTING} levels deep; a config needs only a few levels: write the values out`);
    assert.equal(problems[0]?.path, `c${MAX_NESTING - 1}[0]`);
  });

  test('16,000 distinct aliases load, and resolving them is linear work (counted, not timed)', async () => {
    let config: ConfigLoadResult | undefined;
    const small = await anchorLookups(async () => configOf(await loadText(manyAliases(1_000))));
    const big = await anchorLookups(async () => (config = await loadText(manyAliases(16_000))));
    assert.ok(config !== undefined);
    assert.equal(configOf(config).mailboxes.get('sales')?.scopes.length, 32_000);
    assert.equal(configOf(config).mailboxes.get('sales')?.scopes[31_999], 'scope-15999');
    assert.ok(small > 0, 'the count sees the lookups');
    // 16 times the aliases: linear work is about 16 times the lookups, quadratic about 256 times.
    assert.ok(big < small * 32, `16,000 aliases took ${big} anchor lookups, 1,000 took ${small}: ${(big / small).toFixed(1)} times`);
  });
});

describe('config yaml: nesting deeper than any config needs', () => {
  const depth = 100_000;
  const cases: { name: string; text: string; at: [number, number] }[] = [
    { name: 'lists, closed', text: `mailboxes: ${'['.repeat(depth)}${']'.repeat(depth)}\n`, at: [1, 'mailboxes: '.length + MAX_NESTING] },
    { name: 'lists, never closed', text: `mailboxes: ${'['.repeat(depth)}\n`, at: [1, 'mailboxes: '.length + MAX_NESTING] },
    { name: 'mappings, closed', text: `mailboxes: ${'{a: '.repeat(depth)}x${'}'.repeat(depth)}\n`, at: [1, 'mailboxes: '.length + 4 * (MAX_NESTING - 1) + 1] },
    {
      name: 'block mappings, by indentation',
      text: Array.from({ length: 200 }, (_, level) => `${' '.repeat(level)}k${level}:`).join('\n'),
      at: [MAX_NESTING + 1, MAX_NESTING + 1],
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const result = await loadText(c.text);
      assert.deepEqual(problemsOf(result), [
        {
          severity: 'error',
          path: '',
          message: `YAML nested more than ${MAX_NESTING} levels deep; a config needs only a few levels: look for an unclosed [ or { or runaway indentation`,
          line: c.at[0],
          column: c.at[1],
        },
      ]);
    });
  }
});

describe('config yaml: hostile files parsed in the worker thread (a reload of a big file)', () => {
  /** Over OFF_THREAD_MIN_LENGTH, so that the reload parses the text in a worker. */
  const padding = `# ${'padding '.repeat(Math.ceil(OFF_THREAD_MIN_LENGTH / 8))}\n`;
  let file: string;
  before(async () => {
    file = `${await tempDir()}/broker.yaml`;
  });

  const cases: { name: string; text: string }[] = [
    { name: 'a self-referencing alias', text: 'mailboxes: &a\n  m1: *a\n' },
    { name: 'billion laughs', text: billionLaughs() },
    { name: 'nesting 100,000 levels deep', text: `mailboxes: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n` },
    { name: 'a syntax error next to a secret', text: `${INDENTED_MAILBOX}  password: x\n password: "${SECRET}"\n` },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const text = `${padding}${c.text}`;
      assert.ok(text.length >= OFF_THREAD_MIN_LENGTH);
      const options = { file, env: {}, now: () => NOW };
      const offThread = await loadConfigFromText(text, { ...options, offThread: true });
      const inPlace = await loadConfigFromText(text, options);
      assert.equal(offThread.ok, false);
      assert.ok(problemsOf(offThread).length > 0);
      assertQuotesNoSource(problemsOf(offThread));
      assert.deepEqual(offThread, inPlace);
    });
  }
});
