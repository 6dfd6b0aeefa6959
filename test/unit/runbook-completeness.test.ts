// docs/runbook.md has one entry per code an operator can meet (issue 15,
// point 6): every BrokerErrorCode, every OAuth `error` the broker explains,
// every AADSTS number of the Entra table, and every gRPC status the server
// sends without a broker code. Each list is read from the code, so a code
// added without an entry, or an entry for a code that no longer exists,
// fails here and not in an operator's night.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { BROKER_ERROR_CODES, BrokerError } from '../../src/errors/index.js';
import { toStatus } from '../../src/server/index.js';
import { ENTRA_ANSWERS } from '../../src/broker/grants/entra-answers.js';
import { classifyOAuthError, EXPLAINED_OAUTH_ERRORS } from '../../src/broker/grants/oauth-errors.js';

const RUNBOOK = new URL('../../../docs/runbook.md', import.meta.url);
const SERVER_SOURCES = new URL('../../../src/server/', import.meta.url);

/** The headings of the runbook's parts, as the test finds them. */
const PARTS = {
  broker: 'Broker error codes',
  oauth: 'OAuth error codes',
  aadsts: 'Entra AADSTS numbers',
  grpc: 'gRPC statuses without a broker code',
} as const;

/** What every entry must say: what the code means, what to do, where to look. */
const ENTRY_LABELS = ['**Means:**', '**Do:**', '**Where:**'] as const;

interface Entry {
  readonly code: string;
  readonly body: string;
}

/** The `## title` part of the runbook, up to the next `## `. */
function part(markdown: string, title: string): string {
  const sections = markdown.split(/^## /m);
  const found = sections.find((section) => section.split('\n', 1)[0]?.trim() === title);
  assert.ok(found !== undefined, `docs/runbook.md has no "## ${title}" section`);
  return found;
}

/** The `### \`code\`` entries of a part, each with its text up to the next entry. */
function entries(section: string): Entry[] {
  return section
    .split(/^### /m)
    .slice(1)
    .map((chunk) => {
      const heading = chunk.split('\n', 1)[0] ?? '';
      const code = /^`([^`]+)`/.exec(heading)?.[1];
      assert.ok(code !== undefined, `an entry heading is not a code in backticks: "### ${heading}"`);
      return { code, body: chunk };
    });
}

/** The rows of the AADSTS table: the number and the broker code it maps to. */
function aadstsRows(section: string): { aadsts: string; brokerCode: string | undefined; line: string }[] {
  return section
    .split('\n')
    .filter((line) => /^\|\s*`AADSTS\d+`/.test(line))
    .map((line) => {
      const cells = line.split('|').map((cell) => cell.trim());
      return { aadsts: /AADSTS(\d+)/.exec(cells[1] ?? '')?.[1] ?? '', brokerCode: /`([a-z_]+)`/.exec(cells[3] ?? '')?.[1], line };
    });
}

function sameSet(found: readonly string[], expected: readonly string[], what: string): void {
  const missing = expected.filter((code) => !found.includes(code));
  const unknown = found.filter((code) => !expected.includes(code));
  assert.deepEqual({ missing, unknown }, { missing: [], unknown: [] }, `${what}: entries missing for codes, or entries for codes that do not exist`);
  assert.equal(new Set(found).size, found.length, `${what}: a code has two entries`);
}

function assertComplete(entry: Entry, part: string): void {
  for (const label of ENTRY_LABELS) assert.ok(entry.body.includes(label), `${part}: the entry for ${entry.code} lacks ${label}`);
}

/** The gRPC status name of a numeric status. */
function statusName(code: number | undefined): string {
  return GrpcStatus[code ?? GrpcStatus.UNKNOWN] ?? String(code);
}

/**
 * The statuses the gRPC face sends itself, without a BrokerError and so
 * without token-broker-error-code: every `GrpcStatus.X` in src/server but
 * to-status.ts (where broker codes become statuses).
 */
function statusesSentWithoutBrokerCode(): string[] {
  const names = new Set<string>();
  for (const file of readdirSync(SERVER_SOURCES)) {
    if (!file.endsWith('.ts') || file === 'to-status.ts') continue;
    const source = readFileSync(new URL(file, SERVER_SOURCES), 'utf8');
    for (const match of source.matchAll(/GrpcStatus\.([A-Z_]+)/g)) names.add(match[1] ?? '');
  }
  // OK is no failure: nothing to explain.
  names.delete('OK');
  // invalidArgument() (to-status.ts) answers malformed requests without a broker code.
  names.add('INVALID_ARGUMENT');
  return [...names].sort();
}

describe('docs/runbook.md', () => {
  const runbook = readFileSync(RUNBOOK, 'utf8');

  test('has one entry per BrokerErrorCode, naming the gRPC status it is sent with', () => {
    const found = entries(part(runbook, PARTS.broker));
    sameSet(
      found.map((entry) => entry.code),
      BROKER_ERROR_CODES,
      PARTS.broker,
    );
    for (const entry of found) {
      assertComplete(entry, PARTS.broker);
      const sent = statusName(toStatus(new BrokerError('m', { code: entry.code as (typeof BROKER_ERROR_CODES)[number] })).code);
      assert.ok(entry.body.includes(`\`${sent}\``), `${entry.code} is sent as ${sent}: its entry must name it`);
    }
  });

  test('has one entry per OAuth error the broker explains, naming the broker code it becomes', () => {
    const found = entries(part(runbook, PARTS.oauth));
    sameSet(
      found.map((entry) => entry.code),
      EXPLAINED_OAUTH_ERRORS,
      PARTS.oauth,
    );
    for (const entry of found) {
      assertComplete(entry, PARTS.oauth);
      const becomes = classifyOAuthError({ error: entry.code, httpStatus: 400 }, { mailbox: 'm', authorizationServer: 's', grantType: 'authorization-code' }).code;
      assert.ok(entry.body.includes(`\`${becomes}\``), `OAuth ${entry.code} becomes ${becomes}: its entry must name it`);
    }
  });

  test('explains every AADSTS number the broker recognises, with the broker code it becomes', () => {
    const rows = aadstsRows(part(runbook, PARTS.aadsts));
    sameSet(
      rows.map((row) => row.aadsts),
      ENTRA_ANSWERS.map((answer) => answer.aadsts),
      PARTS.aadsts,
    );
    for (const answer of ENTRA_ANSWERS) {
      const row = rows.find((candidate) => candidate.aadsts === answer.aadsts);
      assert.equal(row?.brokerCode, answer.code, `AADSTS${answer.aadsts} becomes ${answer.code}: ${row?.line ?? ''}`);
    }
  });

  test('has an entry per gRPC status the server sends without a broker code, and only real status names', () => {
    const found = entries(part(runbook, PARTS.grpc));
    const names = found.map((entry) => entry.code);
    const sent = statusesSentWithoutBrokerCode();
    assert.deepEqual(
      sent.filter((name) => !names.includes(name)),
      [],
      'statuses src/server sends without a broker code but docs/runbook.md does not explain',
    );
    assert.deepEqual(
      names.filter((name) => typeof (GrpcStatus as unknown as Record<string, unknown>)[name] !== 'number'),
      [],
      'entries that are no gRPC status name',
    );
    for (const entry of found) assertComplete(entry, PARTS.grpc);
  });
});
