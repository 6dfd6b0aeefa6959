// The reload's YAML parse in a worker thread (config/yaml-off-thread.ts): the
// same tree and the same problems, positions included, as parsing in place,
// while the calling thread keeps turning.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OFF_THREAD_MIN_LENGTH, parseYamlSourceOffThread } from '../../src/config/yaml-off-thread.js';
import { ProblemSink } from '../../src/config/problems.js';
import { loadConfigFromText } from '../../src/config/index.js';
import { NOW, tempDir } from '../support/config-helpers.js';

/** A valid config of `count` client-credentials mailboxes; `tail` is appended under mailboxes. */
function bigConfig(count: number, tail = ''): string {
  const lines = ['store: { url: "memory:" }', 'mailboxes:'];
  for (let index = 0; index < count; index += 1) {
    const id = String(index).padStart(5, '0');
    lines.push(
      `  cc-${id}:`,
      '    protocol: imap',
      '    grantType: client-credentials',
      '    tenantId: 1246dfa1-ffad-44e9-97cc-58dc26c1c488',
      `    clientId: 7a4e29b6-9908-4ca2-bd10-a0c07a4${id}`,
      `    clientSecret: secret-${id}`,
      `    username: cc-${id}@contoso.example`,
    );
  }
  return `${lines.join('\n')}\n${tail}`;
}

const BIG = bigConfig(2_000);

describe('parsing a big config in a worker thread', () => {
  it('gives the tree and the problems that parsing in place gives', async () => {
    assert.ok(BIG.length >= OFF_THREAD_MIN_LENGTH, 'the test file must be big enough for the worker');
    const inPlace = new ProblemSink();
    const worker = new ProblemSink();
    const expected = await parseYamlSourceOffThread(BIG, inPlace, { offThread: false });
    const actual = await parseYamlSourceOffThread(BIG, worker, { offThread: true });
    assert.notEqual(expected, undefined);
    assert.deepEqual(actual, expected);
    assert.deepEqual(worker.sorted(), inPlace.sorted());
  });

  it('reports a syntax error with its line and column from the worker', async () => {
    const text = `${BIG}  broken: [unclosed\n`;
    const sink = new ProblemSink();
    const root = await parseYamlSourceOffThread(text, sink, { offThread: true });
    assert.equal(root, undefined);
    const problems = sink.sorted();
    assert.ok(problems.length > 0);
    assert.match(problems[0]?.message ?? '', /^YAML syntax error/);
    assert.ok((problems[0]?.line ?? 0) > 14_000, `the error is at the end of the file, not at line ${String(problems[0]?.line)}`);
  });

  it('lets the calling thread turn while the worker parses', async () => {
    const order: string[] = [];
    const parsing = parseYamlSourceOffThread(BIG, new ProblemSink(), { offThread: true }).then(() => order.push('parsed'));
    // A worker needs several turns of this thread just to start; parsing in place would finish before any turn.
    setImmediate(() => order.push('turned'));
    await parsing;
    assert.deepEqual(order, ['turned', 'parsed']);
    const inPlace: string[] = [];
    const parsedInPlace = parseYamlSourceOffThread(BIG, new ProblemSink(), { offThread: false }).then(() => inPlace.push('parsed'));
    setImmediate(() => inPlace.push('turned'));
    await parsedInPlace;
    assert.deepEqual(inPlace, ['parsed'], 'in place, the parse is done before the thread turns');
  });

  it('loads a config with a duplicate mailbox the same way off the thread (what a reload does)', async () => {
    const dir = await tempDir();
    const text = bigConfig(2_000, bigConfig(1).split('\n').slice(2).join('\n'));
    const options = { file: `${dir}/broker.yaml`, env: {}, now: () => NOW };
    const inPlace = await loadConfigFromText(text, options);
    const offThread = await loadConfigFromText(text, { ...options, offThread: true });
    assert.equal(inPlace.ok, false);
    assert.deepEqual(offThread, inPlace);
    assert.ok(!offThread.ok && offThread.problems.some((problem) => problem.path === 'mailboxes.cc-00000' && /duplicate key/.test(problem.message)));
  });
});
