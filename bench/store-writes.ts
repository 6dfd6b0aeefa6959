// 7,000 mailbox records (~1 KB encrypted, like the broker's) written at once
// to a SQLite store: one transaction per record (maxWriteBatch 1, what the
// store did before batching) against group commit. Prints elapsed time,
// transactions and the event loop's p99 delay during the writes, and ratios.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
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

const before = await run('one transaction per record', 1);
const after = await run('group commit', undefined);
for (const result of [before, after]) {
  console.log(`${result.label.padEnd(28)} ${RECORDS} puts  ${result.ms.toFixed(0).padStart(7)} ms  ${String(result.transactions).padStart(5)} transactions  event-loop p99 ${result.p99ms.toFixed(1)} ms`);
}
console.log(`ratio: ${(before.ms / after.ms).toFixed(1)}x faster, ${(before.transactions / after.transactions).toFixed(0)}x fewer transactions, p99 delay ${(before.p99ms / after.p99ms).toFixed(1)}x`);
