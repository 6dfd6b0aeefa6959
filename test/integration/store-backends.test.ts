// The token store against real backends: a SQLite file in a mkdtemp folder
// and a private redis-server. The same contract runs on each (round trip,
// reopen, nothing readable at rest, tampering, wrong key, moved records, key
// rotation, pending expiry), then what only one of them can show.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createClient } from '@keyv/redis';
import KeyvSqlite from '@keyv/sqlite';
import { openTokenStore } from '../../src/store/index.js';
import type { MailboxRecord, OpenTokenStoreOptions, PendingAuthorizationRecord, TokenStore } from '../../src/store/index.js';
import { keyIdOf } from '../../src/store/key-ring.js';
import { ManualClock } from '../../src/time/index.js';
import type { BrokerError } from '../../src/errors/index.js';
import { eventually, rejection } from '../support/assertions.js';
import { tempDir } from '../support/config-helpers.js';
import { captureLogs } from '../support/log-capture.js';
import { TestSecrets } from '../support/test-secrets.js';
import { redisServerBinary, startRedis } from '../support/redis.js';
import type { RedisServer } from '../support/redis.js';
import { freePort } from '../support/ports.js';

// ---------------------------------------------------------------- helpers

/** Everything every store in this file logs, checked for secrets at the end. */
const captured = captureLogs();
const logger = captured.logger;

/** Every secret handed to a store in this file. */
const testSecrets = new TestSecrets();
const secrets = testSecrets.values;
const secret = (prefix: string): string => testSecrets.make(prefix);

/**
 * The forms a leaked secret could take: in clear, hex, and base64/base64url
 * at each of the three alignments it may start at inside a longer encoded
 * text (the last characters depend on what follows, so they are left out).
 */
function leakForms(value: string): string[] {
  const forms = new Set([value, Buffer.from(value).toString('hex')]);
  for (let shift = 0; shift < 3; shift++) {
    const bytes = Buffer.from(value.slice(shift));
    forms.add(bytes.toString('base64').slice(0, -4));
    forms.add(bytes.toString('base64url').slice(0, -4));
  }
  return [...forms];
}

function assertNoSecrets(haystack: Buffer | string, label: string): void {
  const text = Buffer.isBuffer(haystack) ? haystack.toString('latin1') : haystack;
  for (const value of secrets) {
    for (const form of leakForms(value)) assert.equal(text.includes(form), false, `${label} contains a form of a secret (${value.slice(0, 3)}...)`);
  }
}

async function writeKey(dir: string, name: string): Promise<{ file: string; id: string }> {
  const key = randomBytes(32);
  const file = join(dir, name);
  await writeFile(file, `${key.toString('base64')}\n`, { mode: 0o600 });
  return { file, id: keyIdOf(key) };
}

function mailboxRecord(label = 'a'): MailboxRecord {
  const now = Date.UTC(2026, 0, 1);
  return {
    fingerprint: `fingerprint-${label}`,
    token: { accessToken: secret(`AT${label}`), tokenType: 'Bearer', expiresAt: now + 3_600_000, obtainedAt: now, scopes: ['https://outlook.office365.com/.default'] },
    refreshToken: secret(`RT${label}`),
    refreshTokenUsedAt: now,
    lastRefreshAt: now,
    error: { code: 'server_unreachable', message: 'the token endpoint did not answer', permanent: false, transientFailures: 2, lastAttemptAt: now - 1000 },
  };
}

function pendingRecord(expiresAt: number): PendingAuthorizationRecord {
  return { state: secret('STATE'), codeVerifier: secret('VERIFIER'), redirectUri: 'http://localhost:8400/callback', expiresAt };
}

/** The one-character change a tamperer (or a bad disk) makes: inside the ciphertext. */
function flipOneCharacter(sealed: string): string {
  const index = sealed.indexOf('"ct":"') + '"ct":"'.length + 5;
  const replacement = sealed[index] === 'A' ? 'B' : 'A';
  return sealed.slice(0, index) + replacement + sealed.slice(index + 1);
}


// ---------------------------------------------------------------- backends

/** One place a store keeps records, with a way around the store to read and change them. */
interface Location {
  readonly url: string;
  readonly description: string;
  /** The store's key, e.g. `mailbox:sales`; undefined when absent. */
  rawGet(key: string): Promise<string | undefined>;
  rawSet(key: string, value: string): Promise<void>;
  /** Every byte kept at rest. */
  rawBytes(): Promise<Buffer>;
  /** What a "delete it (...)" remediation names. */
  locate(key: string): string;
}

interface Backend {
  readonly name: string;
  readonly skip: string | false;
  /** Survives closing the store (not memory:). */
  readonly persistent: boolean;
  /** Has a Location.raw* (not memory:). */
  readonly raw: boolean;
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
  /** An empty place for one test. */
  fresh(): Promise<Location>;
}

const noRaw = (): never => assert.fail('memory: has no raw access');

const memoryBackend: Backend = {
  name: 'memory',
  skip: false,
  persistent: false,
  raw: false,
  setUp: () => Promise.resolve(),
  tearDown: () => Promise.resolve(),
  fresh: () => Promise.resolve({ url: 'memory:', description: 'memory:', rawGet: noRaw, rawSet: noRaw, rawBytes: noRaw, locate: noRaw }),
};

const sqliteBackend: Backend = {
  name: 'sqlite',
  skip: false,
  persistent: true,
  raw: true,
  setUp: () => Promise.resolve(),
  tearDown: () => Promise.resolve(),
  async fresh() {
    const path = join(await tempDir('store-sqlite-'), 'state', 'tokens.sqlite');
    // Through the adapter itself, without keyv or the broker: what is in the table, as is.
    const withTable = async <T>(use: (table: KeyvSqlite) => Promise<T>): Promise<T> => {
      const table = new KeyvSqlite({ uri: `sqlite://${path}`, table: 'keyv' });
      try {
        return await use(table);
      } finally {
        await table.disconnect();
      }
    };
    return {
      url: `sqlite://${path}`,
      description: `sqlite://${path}`,
      rawGet: (key) => withTable((table) => table.get<string>(key)),
      rawSet: (key, value) => withTable(async (table) => void (await table.set(key, value))),
      async rawBytes() {
        const folder = join(path, '..');
        const files = await readdir(folder);
        return Buffer.concat(await Promise.all(files.map((file) => readFile(join(folder, file)))));
      },
      locate: (key) => `row with key '${key}' in table keyv of ${path}`,
    };
  },
};

let redis: RedisServer | undefined;
let redisClient: ReturnType<typeof createClient> | undefined;

function liveRedis(): { server: RedisServer; client: ReturnType<typeof createClient> } {
  assert.ok(redis !== undefined && redisClient !== undefined, 'redis is not started');
  return { server: redis, client: redisClient };
}

async function redisCommand<T>(...args: string[]): Promise<T> {
  return liveRedis().client.sendCommand<T>(args);
}

const redisBackend: Backend = {
  name: 'redis',
  skip: redisServerBinary.skip,
  persistent: true,
  raw: true,
  async setUp() {
    redis = await startRedis();
    redisClient = createClient({ url: redis.url });
    redisClient.on('error', () => undefined);
    await redisClient.connect();
  },
  async tearDown() {
    if (redisClient?.isOpen) redisClient.destroy();
    await redis?.stop();
  },
  async fresh() {
    const { server } = liveRedis();
    await redisCommand('FLUSHDB');
    return {
      url: server.url,
      description: server.url,
      rawGet: async (key) => (await redisCommand<string | null>('GET', `token-broker:${key}`)) ?? undefined,
      rawSet: async (key, value) => void (await redisCommand('SET', `token-broker:${key}`, value)),
      async rawBytes() {
        const keys = await redisCommand<string[]>('KEYS', '*');
        const values = await Promise.all(keys.map((key) => redisCommand<string | null>('GET', key)));
        return Buffer.from(keys.map((key, index) => `${key}=${values[index] ?? ''}`).join('\n'));
      },
      locate: (key) => `redis key token-broker:${key}`,
    };
  },
};

// ---------------------------------------------------------------- the contract

for (const backend of [sqliteBackend, redisBackend, memoryBackend]) {
  describe(`token store on ${backend.name}`, { skip: backend.skip }, () => {
    before(() => backend.setUp());
    after(() => backend.tearDown());

    let dir: string;
    let location: Location;
    let keyA: { file: string; id: string };
    let keyB: { file: string; id: string };
    const open = (encryptionKeyFile: string, extra: Partial<OpenTokenStoreOptions> & { previous?: string[] } = {}): Promise<TokenStore> =>
      openTokenStore(
        { url: location.url, encryptionKeyFile, ...(extra.previous === undefined ? {} : { previousEncryptionKeyFiles: extra.previous }) },
        { logger, ...(extra.clock === undefined ? {} : { clock: extra.clock }) },
      );

    async function prepare(): Promise<void> {
      dir = await tempDir(`store-${backend.name}-`);
      location = await backend.fresh();
      keyA = await writeKey(dir, 'a.key');
      keyB = await writeKey(dir, 'b.key');
    }

    test('round trip: a full mailbox record and a pending authorization come back equal; absent is undefined', async () => {
      await prepare();
      const clock = new ManualClock(Date.now());
      const store = await open(keyA.file, { clock });
      try {
        assert.equal(store.description, location.description);
        assert.equal(await store.getMailbox('sales'), undefined);
        assert.equal(await store.getPendingAuthorization('sales'), undefined);
        const record = mailboxRecord();
        const pending = pendingRecord(clock.now() + 600_000);
        await store.putMailbox('sales', record);
        await store.putPendingAuthorization('sales', pending);
        assert.deepEqual(await store.getMailbox('sales'), record);
        assert.deepEqual(await store.getPendingAuthorization('sales'), pending);
        assert.equal(await store.getMailbox('support'), undefined, 'one mailbox does not see another');
        const minimal = { fingerprint: 'only-a-fingerprint' };
        await store.putMailbox('sales', minimal);
        assert.deepEqual(await store.getMailbox('sales'), minimal, 'a put replaces the whole record');
        await store.deleteMailbox('sales');
        await store.deletePendingAuthorization('sales');
        assert.equal(await store.getMailbox('sales'), undefined);
        assert.equal(await store.getPendingAuthorization('sales'), undefined);
        await store.deleteMailbox('never-written');
        // What could not be read back is refused before anything is written.
        await store.putMailbox('sales', minimal);
        const token = mailboxRecord().token;
        assert.ok(token !== undefined);
        const invalid: MailboxRecord[] = [{ fingerprint: '' }, { ...record, token: { ...token, expiresAt: Number.NaN } }];
        for (const bad of invalid) {
          const error = await rejection(store.putMailbox('sales', bad));
          assert.equal(error.code, 'internal');
          assert.equal(error.message, `the record of mailbox sales was not written to token store ${location.description}: it is not a valid record.`);
        }
        assert.deepEqual(await store.getMailbox('sales'), minimal);
      } finally {
        await store.close();
      }
    });

    test('pending authorization: absent once the injected clock passes expiresAt, and deleted', async () => {
      await prepare();
      const clock = new ManualClock(Date.now());
      const store = await open(keyA.file, { clock });
      try {
        const pending = pendingRecord(clock.now() + 600_000);
        await store.putPendingAuthorization('sales', pending);
        clock.advance(599_999);
        assert.deepEqual(await store.getPendingAuthorization('sales'), pending);
        clock.advance(1);
        assert.equal(await store.getPendingAuthorization('sales'), undefined);
        if (backend.raw) assert.equal(await location.rawGet('pending:sales'), undefined, 'the expired record is deleted, not just hidden');
        // One already expired when written is not stored, and replaces the one before it.
        await store.putPendingAuthorization('sales', pendingRecord(clock.now() + 600_000));
        await store.putPendingAuthorization('sales', pendingRecord(clock.now() - 1));
        assert.equal(await store.getPendingAuthorization('sales'), undefined);
        if (backend.raw) assert.equal(await location.rawGet('pending:sales'), undefined);
      } finally {
        await store.close();
      }
    });

    test('close, then a new store instance reads what the first wrote', { skip: !backend.persistent && 'memory: keeps nothing after close' }, async () => {
      await prepare();
      const clock = new ManualClock(Date.now());
      const record = mailboxRecord();
      const pending = pendingRecord(clock.now() + 600_000);
      const first = await open(keyA.file, { clock });
      await first.putMailbox('sales', record);
      await first.putPendingAuthorization('sales', pending);
      await first.close();
      await rejection(first.getMailbox('sales')).then((error) => assert.equal(error.code, 'store_unavailable', 'a closed store refuses, it does not answer "absent"'));
      const second = await open(keyA.file, { clock });
      try {
        assert.deepEqual(await second.getMailbox('sales'), record);
        assert.deepEqual(await second.getPendingAuthorization('sales'), pending);
      } finally {
        await second.close();
      }
    });

    test('probe: resolves on a working store and leaves nothing behind; once closed, store_unavailable, heard only for real operations', async () => {
      await prepare();
      const store = await open(keyA.file);
      const heard: BrokerError[] = [];
      const unsubscribe = store.onUnavailable((error) => heard.push(error));
      await store.probe();
      if (backend.raw) assert.equal(await location.rawGet('meta:write-check'), undefined, 'the health check leaves nothing behind');
      await store.close();
      const error = await rejection(store.probe());
      assert.equal(error.code, 'store_unavailable');
      assert.equal(error.permanent, false);
      assert.equal(error.message, `token store ${location.description} is unavailable: cannot complete a health check (the store has been closed).`);
      assert.deepEqual(heard, [], 'a failed probe is not news to onUnavailable listeners');
      const failed = await rejection(store.getMailbox('sales'));
      assert.deepEqual(heard, [failed], 'a failed read is');
      unsubscribe();
      await rejection(store.putMailbox('sales', { fingerprint: 'x' }));
      assert.equal(heard.length, 1, 'not after unsubscribing');
    });

    test('at rest: no access token, refresh token, state or PKCE verifier, in clear, hex, base64 or base64url', { skip: !backend.raw && 'memory: has nothing at rest' }, async () => {
      await prepare();
      const store = await open(keyA.file);
      await store.putMailbox('sales', mailboxRecord());
      await store.putMailbox('support', mailboxRecord('b'));
      await store.putPendingAuthorization('sales', pendingRecord(Date.now() + 600_000));
      await store.close();
      const bytes = await location.rawBytes();
      // Looking at the right bytes: the records are there, under key A, and nothing else is readable.
      const text = bytes.toString('latin1');
      for (const key of ['mailbox:sales', 'mailbox:support', 'pending:sales']) assert.ok(text.includes(key), `${key} is stored`);
      assert.ok(text.includes(`"kid":"${keyA.id}"`));
      assert.equal(text.includes('fingerprint-a'), false, 'the whole record is encrypted, not only the tokens');
      assert.equal(text.includes('meta:'), false, 'the write check leaves nothing behind');
      assertNoSecrets(bytes, `${backend.name} at rest`);
      const key = Buffer.from((await readFile(keyA.file, 'utf8')).trim(), 'base64');
      assert.equal(text.includes(key.toString('base64')), false, 'nor the key');
    });

    test('one changed byte in a stored record: store_record_invalid naming store and mailbox, never "absent"', { skip: !backend.raw && 'memory: has no raw access' }, async () => {
      await prepare();
      const store = await open(keyA.file);
      try {
        await store.putMailbox('sales', mailboxRecord());
        await store.putPendingAuthorization('sales', pendingRecord(Date.now() + 600_000));
        await location.rawSet('mailbox:sales', flipOneCharacter((await location.rawGet('mailbox:sales')) ?? ''));
        await location.rawSet('pending:sales', flipOneCharacter((await location.rawGet('pending:sales')) ?? ''));
        const error = await rejection(store.getMailbox('sales'));
        assert.equal(error.code, 'store_record_invalid');
        assert.equal(error.permanent, true);
        assert.equal(error.mailbox, 'sales');
        assert.equal(
          error.describe(),
          `the record of mailbox sales in token store ${location.description} cannot be decrypted: it was altered, damaged, or copied from another record. ` +
            `Delete it (${location.locate('mailbox:sales')}) so the broker obtains new tokens; a mailbox with an interactive grant then needs token-broker authorize sales.`,
        );
        const pendingError = await rejection(store.getPendingAuthorization('sales'));
        assert.equal(
          pendingError.describe(),
          `the pending authorization of mailbox sales in token store ${location.description} cannot be decrypted: it was altered, damaged, or copied from another record. ` +
            'Start the authorization again (token-broker authorize sales); that replaces it.',
        );
        // Writing anew is how it is replaced.
        await store.putMailbox('sales', { fingerprint: 'fresh' });
        assert.deepEqual(await store.getMailbox('sales'), { fingerprint: 'fresh' });
        await location.rawSet('mailbox:sales', 'not a record at all');
        assert.match((await rejection(store.getMailbox('sales'))).message, /is damaged: it is not an encrypted record as the broker writes them\.$/);
      } finally {
        await store.close();
      }
    });

    test('a shared line record: round trip under line:<id>, read with mailboxes in one getRecords pass, deleted; moved from or to a mailbox it is refused', async () => {
      await prepare();
      const store = await open(keyA.file);
      const line = `app:${'0f'.repeat(16)}`;
      try {
        assert.equal(await store.getLine(line), undefined);
        const record = mailboxRecord('app');
        const sales = mailboxRecord();
        await store.putLine(line, record);
        await store.putMailbox('sales', sales);
        assert.deepEqual(await store.getLine(line), record);
        assert.equal(await store.getMailbox(line), undefined, 'a line is not a mailbox');
        const found = await store.getRecords({ mailboxes: ['sales', 'nobody'], lines: [line, 'app:absent'] });
        assert.deepEqual([...found.mailboxes.keys()], ['sales']);
        assert.deepEqual(found.lines.get(line), record);
        assert.equal(found.lines.size, 1);
        if (backend.raw) {
          assert.ok((await location.rawGet(`line:${line}`)) !== undefined, 'kept under line:<id>');
          await location.rawSet('mailbox:support', (await location.rawGet(`line:${line}`)) ?? '');
          await location.rawSet(`line:app:${'1e'.repeat(16)}`, (await location.rawGet('mailbox:sales')) ?? '');
          assert.equal((await rejection(store.getMailbox('support'))).code, 'store_record_invalid');
          const moved = await rejection(store.getLine(`app:${'1e'.repeat(16)}`));
          assert.equal(moved.code, 'store_record_invalid');
          assert.equal(moved.mailbox, undefined, 'a line record names no mailbox');
          assert.match(moved.message, /^the shared record of token line app:1e1e\S+ in token store .* cannot be decrypted: it was altered, damaged, or copied from another record\.$/);
          assert.match(moved.remediation ?? '', /^Delete it \(.*\) so the broker obtains a new token for the mailboxes that share it/);
          const both = await store.getRecords({ lines: [line, `app:${'1e'.repeat(16)}`] });
          assert.equal((both.lines.get(`app:${'1e'.repeat(16)}`) as BrokerError | undefined)?.code, 'store_record_invalid', 'getRecords reports it, not "no record"');
        }
        await store.deleteLine(line);
        assert.equal(await store.getLine(line), undefined);
        assert.deepEqual(await store.getMailbox('sales'), sales, 'deleting a line leaves the mailboxes alone');
      } finally {
        await store.close();
      }
    });

    test('a record copied to another mailbox, or from a mailbox to a pending authorization, is refused', { skip: !backend.raw && 'memory: has no raw access' }, async () => {
      await prepare();
      const store = await open(keyA.file);
      try {
        await store.putMailbox('sales', mailboxRecord());
        const sealed = (await location.rawGet('mailbox:sales')) ?? '';
        await location.rawSet('mailbox:support', sealed);
        await location.rawSet('pending:sales', sealed);
        const moved = await rejection(store.getMailbox('support'));
        assert.equal(moved.code, 'store_record_invalid');
        assert.equal(moved.mailbox, 'support');
        assert.match(moved.message, /^the record of mailbox support in token store .* cannot be decrypted: it was altered, damaged, or copied from another record\.$/);
        assert.equal((await rejection(store.getPendingAuthorization('sales'))).code, 'store_record_invalid');
        assert.equal((await store.getMailbox('sales'))?.fingerprint, 'fingerprint-a', 'the original is untouched');
      } finally {
        await store.close();
      }
    });

    test('the wrong key: store_key_invalid naming store, mailbox and the key id found', { skip: !backend.persistent && 'memory: keeps nothing after close' }, async () => {
      await prepare();
      const writer = await open(keyA.file);
      await writer.putMailbox('sales', mailboxRecord());
      await writer.close();
      const reader = await open(keyB.file);
      try {
        const error = await rejection(reader.getMailbox('sales'));
        assert.equal(error.code, 'store_key_invalid');
        assert.equal(error.permanent, true);
        assert.equal(error.mailbox, 'sales');
        assert.equal(
          error.describe(),
          `the record of mailbox sales in token store ${location.description} is encrypted with key id ${keyA.id}, which is none of the configured keys: ${keyB.id} (current, ${keyB.file}). ` +
            `Give the key file whose key id is ${keyA.id} as store.encryptionKeyFile, or add it to store.previousEncryptionKeyFiles (a key file's id: base64 -d FILE | sha256sum | cut -c1-16).`,
        );
        // The command the message gives finds the id of a key file.
        assert.equal(execFileSync('sh', ['-c', 'base64 -d "$1" | sha256sum | cut -c1-16', 'sh', keyA.file], { encoding: 'utf8' }).trim(), keyA.id);
      } finally {
        await reader.close();
      }
    });

    test('key rotation: A written, B current with A previous reads it, the next write is under B, then B alone reads it', { skip: !backend.persistent && 'memory: keeps nothing after close' }, async () => {
      await prepare();
      const clock = new ManualClock(Date.now());
      const underA = await open(keyA.file, { clock });
      await underA.putMailbox('sales', mailboxRecord());
      await underA.putMailbox('untouched', mailboxRecord('u'));
      await underA.close();
      assert.match((await location.rawGet('mailbox:sales')) ?? '', new RegExp(`"kid":"${keyA.id}"`));

      const rotating = await open(keyB.file, { clock, previous: [keyA.file] });
      const read = await rotating.getMailbox('sales');
      assert.equal(read?.fingerprint, 'fingerprint-a');
      assert.match((await location.rawGet('mailbox:sales')) ?? '', new RegExp(`"kid":"${keyA.id}"`), 'reading alone rewrites nothing');
      assert.ok(read !== undefined);
      await rotating.putMailbox('sales', { ...read, lastRefreshAt: clock.now() });
      assert.match((await location.rawGet('mailbox:sales')) ?? '', new RegExp(`"kid":"${keyB.id}"`), 'the write re-encrypted it under B');
      await rotating.close();

      const onlyB = await open(keyB.file, { clock });
      try {
        assert.deepEqual(await onlyB.getMailbox('sales'), { ...read, lastRefreshAt: clock.now() });
        // A record nobody wrote since still needs A: retire A only after every record was rewritten.
        const stale = await rejection(onlyB.getMailbox('untouched'));
        assert.equal(stale.code, 'store_key_invalid');
        assert.ok(stale.message.includes(keyA.id));
      } finally {
        await onlyB.close();
      }
    });
  });
}

// ---------------------------------------------------------------- sqlite only

describe('token store on sqlite: the file', () => {
  test('creates the folder with mode 0700 and the file with 0600; narrows a wider mode with a warning', async () => {
    const dir = await tempDir('store-sqlite-');
    const key = await writeKey(dir, 'store.key');
    const path = join(dir, 'var', 'lib', 'token-broker', 'tokens.sqlite');
    const store = await openTokenStore({ url: `sqlite://${path}`, encryptionKeyFile: key.file }, { logger });
    await store.putMailbox('sales', mailboxRecord());
    await store.close();
    assert.equal((await stat(join(dir, 'var', 'lib', 'token-broker'))).mode & 0o777, 0o700);
    assert.equal((await stat(join(dir, 'var'))).mode & 0o777, 0o700);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.deepEqual(await readdir(join(dir, 'var', 'lib', 'token-broker')), ['tokens.sqlite'], 'no journal left behind: every write committed');

    await chmod(path, 0o644);
    const before = captured.text().length;
    const reopened = await openTokenStore({ url: `sqlite://${path}`, encryptionKeyFile: key.file }, { logger });
    assert.equal((await reopened.getMailbox('sales'))?.fingerprint, 'fingerprint-a');
    await reopened.close();
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.ok(captured.text().slice(before).includes(`token store file ${path} was readable by other users (mode 0644); narrowed it to 0600`));
  });

  test('a path that cannot be created: store_unavailable naming the store, at open', async () => {
    const dir = await tempDir('store-sqlite-');
    const key = await writeKey(dir, 'store.key');
    await writeFile(join(dir, 'a-file'), 'x');
    const path = join(dir, 'a-file', 'tokens.sqlite');
    const error = await rejection(openTokenStore({ url: `sqlite://${path}`, encryptionKeyFile: key.file }, { logger }));
    assert.equal(error.code, 'store_unavailable');
    assert.equal(error.permanent, false);
    assert.equal(
      error.describe(),
      `token store sqlite://${path} is unavailable: cannot open it (${join(dir, 'a-file')} is not a folder). Check that the file and its folder exist and that the broker's user may write both.`,
    );
  });

  test('a write SQLite cannot commit: store_unavailable (transient), and writes work again once it can', async () => {
    const dir = await tempDir('store-sqlite-');
    const key = await writeKey(dir, 'store.key');
    const path = join(dir, 'tokens.sqlite');
    const store = await openTokenStore({ url: `sqlite://${path}`, encryptionKeyFile: key.file }, { logger });
    try {
      await store.putMailbox('sales', { fingerprint: 'before' });
      // The file moved away from the path the store names: no write may commit there, whoever runs the test (root included).
      // (In WAL mode SQLite itself would write on to the moved file; the store refuses, as the rollback journal did.)
      await rename(path, `${path}.away`);
      const error = await rejection(store.putMailbox('sales', { fingerprint: 'during' }));
      assert.equal(error.code, 'store_unavailable');
      assert.equal(error.permanent, false);
      assert.equal(error.mailbox, 'sales');
      assert.match(error.message, new RegExp(`^token store sqlite://${path} is unavailable: cannot write the record of mailbox sales \\(SQLITE_[A-Z]+: .+\\)\\.$`));
      // The health check writes too, so it meets what the next rotated refresh token would.
      const probeError = await rejection(store.probe());
      assert.equal(probeError.code, 'store_unavailable');
      assert.match(
        probeError.describe(),
        new RegExp(
          `^token store sqlite://${path} is unavailable: cannot complete a health check \\(SQLITE_[A-Z]+: .+\\)\\. Check that the file and its folder exist and that the broker's user may write both\\.$`,
        ),
      );
      await rename(`${path}.away`, path);
      await store.probe();
      assert.deepEqual(await store.getMailbox('sales'), { fingerprint: 'before' }, 'the failed write changed nothing');
      await store.putMailbox('sales', { fingerprint: 'after' });
      assert.deepEqual(await store.getMailbox('sales'), { fingerprint: 'after' });
    } finally {
      await store.close();
    }
  });
});

// ---------------------------------------------------------------- redis only

describe('token store on redis: sharing, expiry and outages', { skip: redisServerBinary.skip }, () => {
  let dir: string;
  let key: { file: string; id: string };
  before(async () => {
    await redisBackend.setUp();
    dir = await tempDir('store-redis-');
    key = await writeKey(dir, 'store.key');
  });
  after(() => redisBackend.tearDown());
  const open = (options: Partial<OpenTokenStoreOptions> = {}): Promise<TokenStore> =>
    openTokenStore({ url: liveRedis().server.url, encryptionKeyFile: key.file }, { logger, ...options });

  test('keys live under token-broker:, one namespace per kind; a pending authorization carries a redis TTL', async () => {
    await redisCommand('FLUSHDB');
    const clock = new ManualClock(Date.now());
    const store = await open({ clock });
    try {
      await store.putMailbox('sales', mailboxRecord());
      await store.putPendingAuthorization('sales', pendingRecord(clock.now() + 600_000));
      assert.deepEqual((await redisCommand<string[]>('KEYS', '*')).sort(), ['token-broker:mailbox:sales', 'token-broker:pending:sales']);
      assert.equal(await redisCommand<number>('PTTL', 'token-broker:mailbox:sales'), -1, 'a mailbox record never expires');
      const ttl = await redisCommand<number>('PTTL', 'token-broker:pending:sales');
      assert.ok(ttl > 590_000 && ttl <= 600_000, `pending TTL ${ttl} ms`);
    } finally {
      await store.close();
    }
  });

  test('probe is a PING: it writes no key and announces nothing', async () => {
    await redisCommand('FLUSHDB');
    const [one, two] = await Promise.all([open(), open()]);
    try {
      const heard: (string | undefined)[] = [];
      two.onForeignWrite((mailbox) => heard.push(mailbox));
      await one.probe();
      await one.probe();
      assert.deepEqual(await redisCommand<string[]>('KEYS', '*'), []);
      // A write after the probes is heard: had a probe announced anything, it would be heard first.
      await one.putMailbox('sales', { fingerprint: 'x' });
      await eventually(() => Promise.resolve(assert.deepEqual(heard, ['sales'])));
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });

  test('a pending authorization disappears from redis by itself when its TTL runs out', async () => {
    await redisCommand('FLUSHDB');
    const store = await open();
    try {
      await store.putPendingAuthorization('sales', pendingRecord(Date.now() + 300));
      assert.equal(await redisCommand<number>('EXISTS', 'token-broker:pending:sales'), 1);
      await eventually(async () => assert.equal(await redisCommand<number>('EXISTS', 'token-broker:pending:sales'), 0));
      assert.equal(await store.getPendingAuthorization('sales'), undefined);
    } finally {
      await store.close();
    }
  });

  test('an authorization started on one instance is completed on another', async () => {
    await redisCommand('FLUSHDB');
    const [one, two] = await Promise.all([open(), open()]);
    try {
      const pending = pendingRecord(Date.now() + 600_000);
      await one.putPendingAuthorization('sales', pending);
      assert.deepEqual(await two.getPendingAuthorization('sales'), pending);
      await two.deletePendingAuthorization('sales');
      assert.equal(await one.getPendingAuthorization('sales'), undefined);
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });

  test('two instances writing at once: every write acknowledged and whole; on one mailbox the last write wins', async () => {
    await redisCommand('FLUSHDB');
    const [one, two] = await Promise.all([open(), open()]);
    const written = new Map<string, MailboxRecord>();
    const writes: Promise<void>[] = [];
    for (let index = 0; index < 25; index++) {
      for (const [name, store] of [['one', one], ['two', two]] as const) {
        const record = { fingerprint: `${name}-${index}`, refreshToken: secret(`RT${name}`) };
        written.set(record.fingerprint, record);
        writes.push(store.putMailbox(`${name}-${index}`, record), store.putMailbox('shared', record));
      }
    }
    await Promise.all(writes);
    await Promise.all([one.close(), two.close()]);
    const reader = await open();
    try {
      for (let index = 0; index < 25; index++) {
        for (const name of ['one', 'two']) assert.deepEqual(await reader.getMailbox(`${name}-${index}`), written.get(`${name}-${index}`));
      }
      const shared = await reader.getMailbox('shared');
      assert.deepEqual(shared, written.get(shared?.fingerprint ?? ''), 'the shared record is one of the writes, whole');
      const [first, second] = await Promise.all([open(), open()]);
      await first.putMailbox('sequential', { fingerprint: 'first' });
      await second.putMailbox('sequential', { fingerprint: 'second' });
      await Promise.all([first.close(), second.close()]);
      assert.deepEqual(await reader.getMailbox('sequential'), { fingerprint: 'second' });
    } finally {
      await reader.close();
    }
  });

  test('redis down: store_unavailable at once, naming the store; redis back: the same store works again', async () => {
    const { server } = liveRedis();
    // An operation timeout longer than the test's: a store that waited for a reconnect instead of failing at once would hang the test, whatever the machine's load.
    const store = await open({ operationTimeoutMs: 3_600_000 });
    try {
      await store.putMailbox('sales', { fingerprint: 'kept' });
      await server.kill();
      const error = await rejection(store.getMailbox('sales'));
      assert.equal(error.code, 'store_unavailable');
      assert.equal(error.permanent, false);
      assert.equal(error.mailbox, 'sales');
      assert.match(
        error.describe(),
        new RegExp(
          `^token store ${server.url} is unavailable: cannot read the record of mailbox sales \\(.+\\)\\. Check that redis is running and reachable from this host, and the credentials in store\\.url\\.$`,
        ),
      );
      assert.equal((await rejection(store.putMailbox('sales', { fingerprint: 'lost' }))).code, 'store_unavailable');
      // The health check fails at once too: redis is still down until the test starts it again below.
      const probeError = await rejection(store.probe());
      assert.match(
        probeError.describe(),
        new RegExp(
          `^token store ${server.url} is unavailable: cannot complete a health check \\(.+\\)\\. Check that redis is running and reachable from this host, and the credentials in store\\.url\\.$`,
        ),
      );
      await server.start();
      await eventually(() => store.probe());
      await eventually(() => store.putMailbox('sales', { fingerprint: 'after' }));
      assert.deepEqual(await store.getMailbox('sales'), { fingerprint: 'after' });
      assert.ok(captured.text().includes(`token store ${server.url}: connection lost`));
      assert.ok(captured.text().includes(`token store ${server.url}: connected again`));
    } finally {
      await store.close();
      await redisClient?.connect().catch(() => undefined);
    }
  });

  test('redis hung (accepts, never answers): store_unavailable after the operation timeout', async () => {
    await eventually(() => redisCommand('PING'));
    const { server } = liveRedis();
    const store = await open({ operationTimeoutMs: 300 });
    try {
      await store.putMailbox('sales', { fingerprint: 'kept' });
      server.pause();
      const error = await rejection(store.getMailbox('sales'));
      assert.equal(error.code, 'store_unavailable');
      assert.equal(error.message, `token store ${server.url} is unavailable: cannot read the record of mailbox sales (no answer within 300 ms).`);
      const probeError = await rejection(store.probe());
      assert.equal(probeError.message, `token store ${server.url} is unavailable: cannot complete a health check (no answer within 300 ms).`);
    } finally {
      server.resume();
      await store.close();
    }
    const again = await open();
    assert.deepEqual(await again.getMailbox('sales'), { fingerprint: 'kept' });
    await again.close();
  });

  test('nothing listening: store_unavailable at open, with the reason', async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}/0`;
    const error = await rejection(openTokenStore({ url, encryptionKeyFile: key.file }, { logger }));
    assert.equal(error.code, 'store_unavailable');
    assert.equal(
      error.describe(),
      `token store ${url} is unavailable: cannot open it (connect ECONNREFUSED 127.0.0.1:${port}). Check that redis is running and reachable from this host, and the credentials in store.url.`,
    );
  });

  test('a password in store.url: used, but never in the description, a message or a log line', async () => {
    const password = secret('REDISPW');
    const guarded = await startRedis({ password });
    try {
      const store = await openTokenStore({ url: guarded.urlWithPassword, encryptionKeyFile: key.file }, { logger });
      assert.equal(store.description, guarded.url);
      await store.putMailbox('sales', { fingerprint: 'guarded' });
      assert.deepEqual(await store.getMailbox('sales'), { fingerprint: 'guarded' });
      await store.close();
      const wrong = guarded.urlWithPassword.replace(encodeURIComponent(password), 'wrong-password');
      const error = await rejection(openTokenStore({ url: wrong, encryptionKeyFile: key.file }, { logger }));
      assert.equal(error.code, 'store_unavailable');
      assert.match(error.message, new RegExp(`^token store ${guarded.url} is unavailable: cannot open it \\((WRONGPASS|ERR).*\\)\\.$`));
      assert.equal(error.describe().includes('wrong-password'), false);
      const missing = await rejection(openTokenStore({ url: guarded.url, encryptionKeyFile: key.file }, { logger }));
      assert.match(missing.message, /\(NOAUTH Authentication required\.\)/);
    } finally {
      await guarded.stop();
    }
  });
});

// ---------------------------------------------------------------- logs

describe('token store logs', () => {
  test('no store logged a token, refresh token, verifier, state or password; the warnings that matter are there', () => {
    assert.ok(captured.text().includes('token store'), 'the stores did log');
    assertNoSecrets(captured.text(), 'the log');
  });
});
