// server.clients[*].mailboxes: the glob matcher (linear in the name, whatever
// the pattern: a hostile name must not stall the event loop), the per-client
// set of readable mailboxes computed once per config, the longest name a
// request may carry, and the excerpt of client input that statuses show.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { clientText, compileGlob, countMatchSteps, MailboxAllowList, mailboxNameLimit } from '../../src/server/index.js';

describe('compileGlob', () => {
  const cases: [string, string, boolean][] = [
    ['sales-*', 'sales-imap', true],
    ['sales-*', 'sales-', true],
    ['sales-*', 'presales-imap', false],
    ['support', 'support', true],
    ['support', 'support2', false],
    ['box-?', 'box-1', true],
    ['box-?', 'box-12', false],
    ['a.b', 'aXb', false],
    ['*', 'anything.at_all', true],
    ['*', '', true],
    ['sales-*-*-imap', 'sales-eu-1-imap', true],
    ['sales-*-*-imap', 'sales---imap', true],
    ['sales-*-*-imap', 'sales--imap', false],
    ['sales-*-*-imap', 'sales-eu-1-pop3', false],
    ['*-imap', 'x-imap-imap', true],
    ['a**b', 'ab', true],
    // [...] as the config validator accepts it: a set, a range, ! for "none of".
    ['box-[12]', 'box-1', true],
    ['box-[12]', 'box-3', false],
    ['box-[a-c]x', 'box-bx', true],
    ['box-[a-c]x', 'box-dx', false],
    ['box-[!12]', 'box-3', true],
    ['box-[!12]', 'box-1', false],
    ['box-[]', 'box-[]', true],
    ['box-[1', 'box-[1', true],
    ['box-[1', 'box-1', false],
  ];
  for (const [pattern, name, expected] of cases) {
    test(`${pattern} ${expected ? 'matches' : 'does not match'} ${name}`, () => {
      assert.equal(compileGlob(pattern).matches(name), expected);
    });
  }

  test('the issue\'s hostile name against sales-*-*-imap takes steps linear in its length', () => {
    const hostile = (dashes: number): string => `sales-${'-'.repeat(dashes)}`;
    const steps = [15_000, 30_000, 60_000].map((dashes) => countMatchSteps('sales-*-*-imap', hostile(dashes)));
    assert.equal(compileGlob('sales-*-*-imap').matches(hostile(60_000)), false);
    // Twice the name, at most about twice the steps (a backtracking regex does quadratic work or worse here).
    assert.ok(steps[1]! <= 2.1 * steps[0]!, `steps ${steps.join(', ')}`);
    assert.ok(steps[2]! <= 2.1 * steps[1]!, `steps ${steps.join(', ')}`);
    // And never more than (pattern length + 1) comparisons per character.
    assert.ok(steps[2]! <= ('sales-*-*-imap'.length + 1) * (hostile(60_000).length + 1), `steps ${steps[2]}`);
  });

  test('many stars cost at most pattern length × name length, where a regex backtracks exponentially', () => {
    const pattern = '*a*a*a*a*a*a*a*a*b';
    const name = 'a'.repeat(100_000);
    assert.equal(compileGlob(pattern).matches(name), false);
    assert.ok(countMatchSteps(pattern, name) <= (pattern.length + 1) * (name.length + 1));
  });
});

describe('MailboxAllowList', () => {
  const configured = new Set(['sales-imap', 'sales-eu-1-imap', 'support', 'finance', 'box-1', 'box-3']);

  test('knows the configured mailboxes a client may read once, at load', () => {
    const list = new MailboxAllowList(['sales-*', 'support', 'box-[12]'], configured);
    assert.deepEqual([...list.readable].sort(), ['box-1', 'sales-eu-1-imap', 'sales-imap', 'support']);
  });

  test('a configured mailbox outside the patterns is refused; a name not configured (yet) is matched', () => {
    const list = new MailboxAllowList(['sales-*'], configured);
    assert.equal(list.mayRead('sales-imap'), true);
    assert.equal(list.mayRead('finance'), false);
    // Added by a reload after the list was computed, or simply unknown: the patterns decide.
    assert.equal(list.mayRead('sales-new'), true);
    assert.equal(list.mayRead('finance-2'), false);
  });
});

describe('mailboxNameLimit', () => {
  test('is 256, or the longest configured name when that is longer', () => {
    assert.equal(mailboxNameLimit(['a', 'b'.repeat(128)]), 256);
    assert.equal(mailboxNameLimit([]), 256);
    assert.equal(mailboxNameLimit(['c'.repeat(300)]), 300);
  });
});

describe('clientText', () => {
  test('leaves a short plain name as it is', () => {
    assert.equal(clientText('sales-imap'), 'sales-imap');
  });

  test('escapes control and format characters, and the backslash that would make an escape ambiguous', () => {
    assert.equal(clientText('a\nb\r\t\u0000\u001b[31m\u007f\u202e\u2028\\'), 'a\\nb\\r\\t\\u0000\\u001b[31m\\u007f\\u202e\\u2028\\\\');
  });

  test('cuts a long value to 64 characters and says how long it was', () => {
    const long = `sales-${'-'.repeat(64_000)}`;
    const shown = clientText(long);
    assert.equal(shown, `sales-${'-'.repeat(58)}… (64,006 characters)`);
  });

  test('never leaves half of a surrogate pair unescaped at the cut', () => {
    const shown = clientText(`${'x'.repeat(63)}😀tail`);
    assert.ok(shown.startsWith(`${'x'.repeat(63)}\\ud83d…`), shown);
  });
});
