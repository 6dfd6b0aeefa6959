// Batched writes on a real SQLite file (WAL) and a real redis-server:
// concurrent puts commit in few transactions, the latest per key wins, each caller resolves only once its
// write is readable by another connection; a failed batch fails each caller;
// getMailboxes reads many records at once and reports an unreadable one.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createClient } from '@keyv/redis';
import KeyvSqlite from '@keyv/sqlite';
import { BrokerError } from '../../src/errors/index.js';
import { openTokenStore } from '../../src/store/index.js';
import type { CommittedBatch, OpenTokenStoreOptions, TokenStore } from '../../src/store/index.js';
import { rejection } from '../support/assertions.js';
import { tempDir } from '../support/config-helpers.js';
import { captureLogs } from '../support/log-capture.js';
import { redisServerBinary, startRedis } from '../support/redis.js';

const { logger } = captureLogs();

async function sqliteStore(options: Partial<OpenTokenStoreOptions> = {}): Promise<{ path: string; open: (more?: Partial<OpenTokenStoreOptions>) => Promise<TokenStore>; store: TokenStore }> {
  const dir = await tempDir('store-batching-');
  const keyFile = join(dir, 'store.key');
  await writeFile(keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  const path = join(dir, 'tokens.sqlite');
  const open = (more: Partial<OpenTokenStoreOptions> = {}): Promise<TokenStore> => openTokenStore({ url: `sqlite://${path}`, encryptionKeyFile: keyFile }, { logger, ...options, ...more });
  return { path, open, store: await open() };
}

test('sqlite: 400 concurrent puts on 100 mailboxes commit in a few transactions, the latest per mailbox wins, each durable when it resolves', async () => {
  const batches: CommittedBatch[] = [];
  const { open, store } = await sqliteStore({ onBatch: (batch) => batches.push(batch) });
  const reader = await open();
  try {
    const seen: Promise<void>[] = [];
    const puts = Array.from({ length: 400 }, (_, index) => {
      const mailbox = `mailbox-${index % 100}`;
      const version = Math.floor(index / 100);
      return store.putMailbox(mailbox, { fingerprint: `v${version}` }).then(() => {
        // Read through another connection the moment this caller hears "saved": its write or a later one is there.
        seen.push(
          reader.getMailbox(mailbox).then((record) => {
            assert.ok(record !== undefined, `${mailbox} is readable once its put resolved`);
            assert.ok(Number(record.fingerprint.slice(1)) >= version, `${mailbox}: v${version} or later`);
          }),
        );
      });
    });
    await Promise.all(puts);
    await Promise.all(seen);
    assert.ok(batches.length <= 3, `${batches.length} transactions for 400 puts`);
    assert.equal(batches.reduce((sum, batch) => sum + batch.callers, 0), 400);
    const stored = await reader.getMailboxes(Array.from({ length: 100 }, (_, index) => `mailbox-${index}`));
    assert.equal(stored.size, 100);
    for (const record of stored.values()) assert.deepEqual(record, { fingerprint: 'v3' });
  } finally {
    await Promise.all([store.close(), reader.close()]);
  }
});

test('sqlite: a batch that cannot commit fails every caller with store_unavailable, and nothing of it is saved', async () => {
  const { path, open, store } = await sqliteStore();
  const heard: BrokerError[] = [];
  store.onUnavailable((error) => heard.push(error));
  try {
    await rename(path, `${path}.away`);
    const outcomes = await Promise.allSettled(Array.from({ length: 20 }, (_, index) => store.putMailbox(`mailbox-${index}`, { fingerprint: 'lost' })));
    for (const [index, outcome] of outcomes.entries()) {
      assert.equal(outcome.status, 'rejected', `put ${index} must not resolve as saved`);
      const error = outcome.reason as BrokerError;
      assert.equal(error.code, 'store_unavailable');
      assert.equal(error.mailbox, `mailbox-${index}`);
      assert.match(error.message, new RegExp(`cannot write the record of mailbox mailbox-${index} \\(SQLITE_READONLY: .+ was moved or deleted`));
    }
    assert.equal(heard.length, 1, 'one failed batch is one failure for the health check');
    await rename(`${path}.away`, path);
    const reader = await open();
    assert.equal((await reader.getMailboxes(Array.from({ length: 20 }, (_, index) => `mailbox-${index}`))).size, 0);
    await reader.close();
  } finally {
    await store.close();
  }
});

test('sqlite: getMailboxes over 2,500 names returns every record, an unreadable one as its error, and no entry for a missing one', async () => {
  const { path, store } = await sqliteStore();
  try {
    const names = Array.from({ length: 2_500 }, (_, index) => `mailbox-${index}`);
    await Promise.all(names.slice(0, 2_400).map((name) => store.putMailbox(name, { fingerprint: `of-${name}` })));
    const raw = new KeyvSqlite({ uri: `sqlite://${path}`, table: 'keyv' });
    await raw.set('mailbox:mailbox-7', '{"not":"an envelope"}');
    await raw.disconnect();
    const records = await store.getMailboxes(names);
    assert.equal(records.size, 2_400);
    const unreadable = records.get('mailbox-7');
    assert.ok(unreadable instanceof BrokerError);
    assert.equal(unreadable.code, 'store_record_invalid');
    assert.equal(unreadable.mailbox, 'mailbox-7');
    assert.deepEqual(records.get('mailbox-2399'), { fingerprint: 'of-mailbox-2399' });
    assert.equal(records.has('mailbox-2400'), false, 'no record: absent');
    assert.equal((await rejection(store.getMailbox('mailbox-7'))).code, 'store_record_invalid', 'getMailbox says the same');
  } finally {
    await store.close();
  }
});

test('sqlite: WAL mode; the -wal and -shm files have the database file mode 0600', async () => {
  const { path, store } = await sqliteStore();
  try {
    await store.putMailbox('sales', { fingerprint: 'x' });
    for (const file of [path, `${path}-wal`, `${path}-shm`]) assert.equal((await stat(file)).mode & 0o777, 0o600, file);
    const raw = new KeyvSqlite({ uri: `sqlite://${path}`, table: 'keyv' });
    assert.deepEqual(await raw.query('PRAGMA journal_mode'), [{ journal_mode: 'wal' }]);
    await raw.disconnect();
  } finally {
    await store.close();
  }
});

test('redis: concurrent puts commit in a few MULTIs, the latest per mailbox wins; getMailboxes is one MGET per 1,000', { skip: redisServerBinary.skip }, async () => {
  const redis = await startRedis();
  const dir = await tempDir('store-batching-redis-');
  const keyFile = join(dir, 'store.key');
  await writeFile(keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  const batches: CommittedBatch[] = [];
  const store = await openTokenStore({ url: redis.url, encryptionKeyFile: keyFile }, { logger, onBatch: (batch) => batches.push(batch) });
  const raw = createClient({ url: redis.url });
  await raw.connect();
  try {
    await Promise.all(Array.from({ length: 300 }, (_, index) => store.putMailbox(`mailbox-${index % 100}`, { fingerprint: `v${Math.floor(index / 100)}` })));
    assert.ok(batches.length <= 3, `${batches.length} MULTIs for 300 puts`);
    assert.equal(batches.reduce((sum, batch) => sum + batch.writes, 0), 100, 'coalesced: one write per mailbox');
    assert.equal((await raw.keys('token-broker:mailbox:*')).length, 100);
    await raw.set('token-broker:mailbox:mailbox-5', 'damaged');
    const records = await store.getMailboxes(['mailbox-4', 'mailbox-5', 'nobody']);
    assert.deepEqual(records.get('mailbox-4'), { fingerprint: 'v2' });
    assert.equal((records.get('mailbox-5') as BrokerError | undefined)?.code, 'store_record_invalid');
    assert.equal(records.has('nobody'), false);
    await store.deleteMailbox('mailbox-4');
    assert.equal(await raw.get('token-broker:mailbox:mailbox-4'), null);
  } finally {
    await raw.quit();
    await store.close();
    await redis.stop();
  }
});
