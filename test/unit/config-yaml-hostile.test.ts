// YAML broken next to a secret: every such file ends in problems with a
// position, never in a message that quotes the file's text. Through
// loadConfigFromText, as validate, serve and a reload load a file.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import type { ConfigProblem } from '../../src/config/index.js';
import { loadText, problemsOf } from '../support/config-helpers.js';

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
