// 7,000 mailbox records (~1 KB encrypted, like the broker's) written at once
// to SQLite, three ways: as the store did before (keyv over @keyv/sqlite, one
// set and transaction per record, rollback journal with synchronous=FULL),
// one transaction per record in WAL mode (maxWriteBatch 1), and group commit
// in WAL mode (today's store). Prints elapsed time, transactions and the
// event loop's p99 delay during the writes, and the ratios.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import KeyvSqlite from '@keyv/sqlite';
import { Keyv } from 'keyv';
import type { DeserializedData } from 'keyv';
import { pino } from 'pino';
import { openTokenStore } from '../src/store/index.js';
import type { MailboxRecord } from '../src/store/index.js';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 7_000);

function record(index: number): MailboxRecord {
  const now = Date.now();
  return {
    fingerprint: randomBytes(32).toString('hex'),
    // Entra's access tokens are JWTs of ~1.5 KB, refresh tokens opaque ~0.4 KB: sized so the envelope is ~1 KB and more.
    token: { accessToken: `eyJ${randomBytes(400).toString('base64url')}.${index}`, tokenType: 'Bearer', expiresAt: now + 3_600_000, obtainedAt: now, scopes: ['https://outlook.office.com/IMAP.AccessAsUser.All', 'offline_access'] },
    refreshToken: `0.A${randomBytes(200).toString('base64url')}`,
    refreshTokenUsedAt: now,
    lastRefreshAt: now,
  };
}

interface Result {
  readonly label: string;
  readonly ms: number;
  readonly transactions: number;
  readonly p99ms: number;
}

async function run(label: string, maxWriteBatch: number | undefined): Promise<Result> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-store-writes-'));
  try {
    const keyFile = join(dir, 'store.key');
    await writeFile(keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    let transactions = 0;
    const store = await openTokenStore(
      { url: `sqlite://${join(dir, 'tokens.sqlite')}`, encryptionKeyFile: keyFile },
      { logger: pino({ level: 'silent' }), operationTimeoutMs: 600_000, ...(maxWriteBatch === undefined ? {} : { maxWriteBatch }), onBatch: () => transactions++ },
    );
    const records = Array.from({ length: RECORDS }, (_, index) => record(index));
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const started = performance.now();
    await Promise.all(records.map((value, index) => store.putMailbox(`mailbox-${index}`, value)));
    const ms = performance.now() - started;
    delay.disable();
    await store.close();
    return { label, ms, transactions, p99ms: delay.percentile(99) / 1e6 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The store before batching: 7,000 concurrent keyv sets, each its own
 * transaction under the default rollback journal (synchronous=FULL) with
 * secure_delete. Values are sealed-envelope sized but not encrypted, so this
 * row leaves out the encryption the others pay.
 */
async function legacy(): Promise<Result> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-store-writes-'));
  try {
    const adapter = new KeyvSqlite({ uri: `sqlite://${join(dir, 'tokens.sqlite')}`, table: 'keyv', busyTimeout: 5_000 });
    await adapter.query('PRAGMA secure_delete = ON');
    const keyv = new Keyv<string>({ store: adapter, useKeyPrefix: false, serialize: (data) => String(data.value), deserialize: <Value>(text: string): DeserializedData<Value> => ({ value: text as unknown as Value }) });
    const values = Array.from({ length: RECORDS }, (_, index) => JSON.stringify({ v: 1, kid: randomBytes(8).toString('hex'), iv: randomBytes(12).toString('base64url'), ct: Buffer.from(JSON.stringify(record(index))).toString('base64url'), tag: randomBytes(16).toString('base64url') }));
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const started = performance.now();
    await Promise.all(values.map((value, index) => keyv.set(`mailbox:mailbox-${index}`, value)));
    const ms = performance.now() - started;
    delay.disable();
    await adapter.disconnect();
    return { label: 'before: journal, FULL, 1/tx', ms, transactions: RECORDS, p99ms: delay.percentile(99) / 1e6 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const before = await legacy();
const walSingle = await run('WAL, NORMAL, 1/tx', 1);
const after = await run('after: WAL, group commit', undefined);
for (const result of [before, walSingle, after]) {
  console.log(`${result.label.padEnd(28)} ${RECORDS} puts  ${result.ms.toFixed(0).padStart(7)} ms  ${String(result.transactions).padStart(5)} transactions  event-loop p99 ${result.p99ms.toFixed(1)} ms`);
}
console.log(`ratio before/after: ${(before.ms / after.ms).toFixed(1)}x faster, ${(before.transactions / after.transactions).toFixed(0)}x fewer transactions, event-loop p99 ${(before.p99ms / after.p99ms).toFixed(1)}x`);
console.log(`ratio WAL 1/tx / after: ${(walSingle.ms / after.ms).toFixed(1)}x faster (what batching alone gives)`);
