// The audit log's hash chain: what the writer appends, and what
// `verifyAuditFiles` detects (a removed, edited or reordered line; a rotated
// file continuing the chain). Real files in a temp folder.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AuditLog, GENESIS, hashLine, tokenFingerprint, verifyAuditFiles } from '../../src/audit/index.js';
import type { AuditEvent } from '../../src/audit/index.js';

const clock = { now: () => Date.UTC(2026, 11, 5, 8, 0, 0) };
const TOKEN = 'eyJ.secret-access-token.sig';

function event(index: number): AuditEvent {
  return { event: 'token.get', client: 'connector-1', mailbox: `mailbox-${index}`, outcome: 'ok', tokenSha256: tokenFingerprint(`${TOKEN}-${index}`), tokenExpiresAt: '2026-12-05T09:00:00.000Z' };
}

async function writeEvents(file: string, from: number, count: number): Promise<void> {
  const log = await AuditLog.open({ file }, clock);
  for (let index = from; index < from + count; index++) log.record(event(index));
  await log.close();
}

async function lines(file: string): Promise<string[]> {
  return (await readFile(file, 'utf8')).split('\n').filter((line) => line !== '');
}

describe('audit log', () => {
  let directory: string;
  let counter = 0;
  const fresh = (): string => path.join(directory, `audit-${++counter}.jsonl`);

  before(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'tb-audit-'));
  });
  after(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  test('each line carries seq, time, the event and the hash of the line before; the file is 0600; no token in it', async () => {
    const file = fresh();
    await writeEvents(file, 1, 5);
    const written = await lines(file);
    assert.equal(written.length, 5);
    let prev = GENESIS;
    for (const [index, text] of written.entries()) {
      const line = JSON.parse(text) as { seq: number; time: string; mailbox: string; prev: string; tokenSha256: string };
      assert.equal(line.seq, index + 1);
      assert.equal(line.time, '2026-12-05T08:00:00.000Z');
      assert.equal(line.mailbox, `mailbox-${index + 1}`);
      assert.equal(line.prev, prev);
      assert.equal(line.tokenSha256, tokenFingerprint(`${TOKEN}-${index + 1}`));
      prev = hashLine(text);
    }
    assert.ok(!(await readFile(file, 'utf8')).includes(TOKEN), 'a token in the audit log');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const result = await verifyAuditFiles([file]);
    assert.deepEqual({ ok: result.ok, lines: result.lines, firstSeq: result.firstSeq, lastSeq: result.lastSeq, lastHash: result.lastHash }, { ok: true, lines: 5, firstSeq: 1, lastSeq: 5, lastHash: prev });
  });

  test('a removed line is found at the line after the gap', async () => {
    const file = fresh();
    await writeEvents(file, 1, 5);
    const written = await lines(file);
    await writeFile(file, `${[...written.slice(0, 2), ...written.slice(3)].join('\n')}\n`);
    const result = await verifyAuditFiles([file]);
    assert.equal(result.ok, false);
    assert.match(result.problem ?? '', /:3: prev does not match the hash of .*:2: a line between them was removed/);
  });

  test('an edited line is found: its successor no longer chains to it', async () => {
    const file = fresh();
    await writeEvents(file, 1, 5);
    const written = await lines(file);
    written[2] = written[2]!.replace('"mailbox-3"', '"mailbox-x"');
    await writeFile(file, `${written.join('\n')}\n`);
    const result = await verifyAuditFiles([file]);
    assert.equal(result.ok, false);
    assert.match(result.problem ?? '', /:4: prev does not match the hash of .*:3/);
  });

  test('swapped lines, a non-JSON line and an empty line are each found', async () => {
    const file = fresh();
    await writeEvents(file, 1, 4);
    const written = await lines(file);
    await writeFile(file, `${[written[0], written[2], written[1], written[3]].join('\n')}\n`);
    assert.match((await verifyAuditFiles([file])).problem ?? '', /:2: prev does not match/);
    await writeFile(file, `${[written[0], 'garbage', written[1]].join('\n')}\n`);
    assert.match((await verifyAuditFiles([file])).problem ?? '', /:2: not a JSON line/);
    await writeFile(file, `${[written[0], '', written[1]].join('\n')}\n`);
    assert.match((await verifyAuditFiles([file])).problem ?? '', /:2: an empty line/);
  });

  test('reopening an existing file continues its chain', async () => {
    const file = fresh();
    await writeEvents(file, 1, 3);
    await writeEvents(file, 4, 3);
    const result = await verifyAuditFiles([file]);
    assert.equal(result.ok, true, result.problem);
    assert.equal(result.lastSeq, 6);
  });

  test('after logrotate moves the file, reopen() starts a new file that continues the chain', async () => {
    const file = fresh();
    const rotated = `${file}.1`;
    const log = await AuditLog.open({ file }, clock);
    log.record(event(1));
    log.record(event(2));
    await new Promise<void>((resolve) => setImmediate(resolve));
    await rename(file, rotated);
    log.reopen();
    log.record(event(3));
    await log.close();
    assert.equal((await lines(rotated)).length + (await lines(file)).length, 3);
    const both = await verifyAuditFiles([rotated, file]);
    assert.equal(both.ok, true, both.problem);
    assert.equal(both.lines, 3);
    const newerAlone = await verifyAuditFiles([file]);
    assert.equal(newerAlone.ok, true);
    assert.equal(newerAlone.continuesFrom, hashLine((await lines(rotated)).at(-1)!));
    const wrongOrder = await verifyAuditFiles([file, rotated]);
    assert.equal(wrongOrder.ok, false);
  });
});
