// A shared application token is stored once per line (`line:app:<digest>`),
// not once per mailbox: one write per refresh, restore from it, migration
// from the per-mailbox records of a previous version, the retry of a refused
// write, reload purging it, and other instances following it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TokenBroker } from '../../src/broker/index.js';
import { tokenLineId } from '../../src/broker/line-identity.js';
import type { MailboxConfig, RefreshConfig } from '../../src/config/index.js';
import { BrokerError } from '../../src/errors/index.js';
import { HttpTransport } from '../../src/http/index.js';
import { silentLogger } from '../../src/logging/index.js';
import { credentialFingerprint, openTokenStore } from '../../src/store/index.js';
import type { CommittedBatch, LineRecord, MailboxRecord, RecordsWanted, TokenStore } from '../../src/store/index.js';
import { ManualClock } from '../../src/time/index.js';
import { eventually } from '../support/assertions.js';
import { testMailbox } from '../support/mailbox.js';
import { ScriptedGrant } from '../support/scripted-grant.js';
import { SharedMemoryStores } from '../support/shared-memory-store.js';

const HOUR = 3_600_000;
const REFRESH: RefreshConfig = { leadTimeSeconds: 300, maxConcurrentPerServer: 16, sweepIntervalSeconds: 10, idleAfterHours: 24, keepAliveDays: 7 };
const APP = '00000000-0000-0000-0000-00000000aaaa';
const OTHER_APP = '00000000-0000-0000-0000-00000000bbbb';

const appMailbox = (name: string, clientId = APP): MailboxConfig => testMailbox({ name, clientId, username: `${name}@contoso.example` });
const members = (count: number, clientId = APP): MailboxConfig[] => Array.from({ length: count }, (_, index) => appMailbox(`m${String(index).padStart(2, '0')}`, clientId));

/** Lets promise callbacks run (the scripted grant settles synchronously, the store needs a few turns). */
async function settle(): Promise<void> {
  for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
}

/** A memory store that counts the records each committed batch wrote and deleted. */
async function countingStore(): Promise<{ store: TokenStore; batches: CommittedBatch[] }> {
  const batches: CommittedBatch[] = [];
  const store = await openTokenStore({ url: 'memory:', encryptionKeyFile: '/nonexistent/unused.key' }, { logger: silentLogger(), onBatch: (batch) => batches.push(batch) });
  return { store, batches };
}

/** `store` with some of its methods replaced, as the broker sees it. */
function withOverrides(store: TokenStore, overrides: Partial<TokenStore>): TokenStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      const override = (overrides as Record<string | symbol, unknown>)[property];
      if (override !== undefined) return override;
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

async function startBroker(mailboxes: MailboxConfig[], store: TokenStore, clock: ManualClock) {
  const grants = new Map<string, ScriptedGrant>();
  const broker = new TokenBroker({
    mailboxes,
    refresh: REFRESH,
    clock,
    logger: silentLogger(),
    dependencies: { transport: new HttpTransport(), clock, logger: silentLogger() },
    store,
    grantFactory: (mailbox) => {
      const grant = new ScriptedGrant(mailbox.grantType === 'authorization-code');
      grants.set(mailbox.name, grant);
      return grant;
    },
  });
  await broker.restore();
  const grant = (name: string): ScriptedGrant => {
    const found = grants.get(name);
    assert.ok(found, `no grant was made for ${name}`);
    return found;
  };
  return { broker, grants, grant };
}

const written = (batches: readonly CommittedBatch[]): number => batches.reduce((sum, batch) => sum + batch.writes, 0);

describe('one record per shared line', () => {
  test('a refresh of an application line of 35 mailboxes writes one record, under line:<id>; a user grant keeps its mailbox record', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const { store, batches } = await countingStore();
    const app = members(35);
    const user = testMailbox({ name: 'user', grantType: 'authorization-code', clientId: OTHER_APP, username: 'user@contoso.example' });
    const { broker, grant } = await startBroker([...app, user], store, clock);
    const warm = Promise.all(app.map((config) => broker.getToken(config.name)));
    await settle();
    grant('m00').succeed('app-1', clock.now() + HOUR);
    await warm;
    assert.equal(written(batches), 1, 'one record for 35 mailboxes');

    clock.advance(HOUR - 250_000);
    assert.equal(broker.sweep(), 1, 'one line is due');
    await settle();
    grant('m00').succeed('app-2', clock.now() + HOUR);
    await eventually(() => assert.equal(broker.cachedToken('m34', 60)?.accessToken, 'app-2'));
    assert.equal(written(batches), 2, 'one more record for the refresh');

    const id = tokenLineId(app[0] as MailboxConfig);
    const record = await store.getLine(id);
    assert.equal(record?.token?.accessToken, 'app-2');
    assert.equal(record.fingerprint, credentialFingerprint({ ...(app[0] as MailboxConfig), username: '' }), 'the application’s fingerprint, without a user');
    assert.equal((await store.getMailboxes(app.map((config) => config.name))).size, 0, 'no per-mailbox copy');

    const authorized = broker.getToken('user');
    await settle();
    grant('user').succeed('user-1', clock.now() + HOUR, 'rt-1');
    await authorized;
    assert.equal((await store.getMailbox('user'))?.refreshToken, 'rt-1', 'a user grant keeps its mailbox record');
    assert.equal(await store.getLine('user'), undefined);
  });

  test('a restart restores every member from the line record in one read pass, without a request; status says the same for each', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const { store } = await countingStore();
    const app = members(5);
    const user = testMailbox({ name: 'user', grantType: 'authorization-code', clientId: OTHER_APP, username: 'user@contoso.example' });
    const first = await startBroker([...app, user], store, clock);
    const warm = first.broker.getToken('m00');
    await settle();
    first.grant('m00').succeed('app-1', clock.now() + HOUR);
    await warm;
    const refreshedAt = first.broker.status('m03').lastRefreshAt;
    assert.equal(refreshedAt, clock.now());

    const reads: RecordsWanted[] = [];
    const counted = withOverrides(store, {
      getRecords: (wanted) => {
        reads.push(wanted);
        return store.getRecords(wanted);
      },
    });
    clock.advance(60_000);
    const second = await startBroker([...app, user], counted, clock);
    assert.deepEqual(reads, [{ mailboxes: ['user'], lines: [tokenLineId(app[0] as MailboxConfig)] }], 'one pass: the line record and the user’s mailbox record');
    for (const config of app) {
      assert.equal(second.broker.cachedToken(config.name, 60)?.accessToken, 'app-1');
      assert.equal(second.broker.cachedToken(config.name, 60)?.username, config.username, 'each with its own user');
      const status = second.broker.status(config.name);
      assert.equal(status.state, 'READY');
      assert.equal(status.lastRefreshAt, refreshedAt);
    }
    assert.equal(second.grant('m00').calls, 0);
  });

  test('the error state is written once for the line and every member reports it after a restart', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const { store, batches } = await countingStore();
    const app = members(4);
    const first = await startBroker(app, store, clock);
    const failing = first.broker.getToken('m02');
    await settle();
    first.grant('m00').fail(new BrokerError('mailbox m00: the client secret expired.', { code: 'invalid_client', permanent: true, mailbox: 'm00', remediation: 'Create a new secret.' }));
    await assert.rejects(failing);
    await eventually(() => assert.equal(written(batches), 1, 'one error record for the line'));
    assert.equal((await store.getLine(tokenLineId(app[0] as MailboxConfig)))?.error?.code, 'invalid_client');

    const second = await startBroker(app, store, clock);
    for (const config of app.slice(1)) {
      const status = second.broker.status(config.name);
      assert.equal(status.state, 'FAILING');
      assert.equal(status.lastError?.describe(), `mailbox ${config.name} shares the application token of mailbox m00: mailbox m00: the client secret expired. Create a new secret.`);
    }
    assert.equal(second.broker.status('m00').lastError?.describe(), 'mailbox m00: the client secret expired. Create a new secret.');
  });
});

describe('migration from per-mailbox records', () => {
  /** What the previous version left: one record per member, each with its own fingerprint. */
  async function oldLayout(store: TokenStore, configs: readonly MailboxConfig[], clock: ManualClock): Promise<void> {
    for (const [index, config] of configs.entries()) {
      const obtainedAt = clock.now() - 600_000 + index * 1_000;
      const record: MailboxRecord = {
        fingerprint: credentialFingerprint(config),
        token: { accessToken: `old-${index}`, tokenType: 'Bearer', expiresAt: obtainedAt + HOUR, obtainedAt, scopes: ['s'] },
        lastRefreshAt: obtainedAt,
      };
      await store.putMailbox(config.name, record);
    }
  }

  test('a line without a record takes the newest member record; the members’ records go after the first line write succeeds, not before', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const { store } = await countingStore();
    const app = members(3);
    await oldLayout(store, app, clock);
    let down = true;
    const refused: LineRecord[] = [];
    const flaky = withOverrides(store, {
      putLine: (line, record) => {
        if (!down) return store.putLine(line, record);
        refused.push(record);
        return Promise.reject(new BrokerError(`token store memory: is unavailable: cannot write the shared record of token line ${line} (test).`, { code: 'store_unavailable' }));
      },
    });
    const { broker, grant } = await startBroker(app, flaky, clock);
    for (const config of app) assert.equal(broker.cachedToken(config.name, 60)?.accessToken, 'old-2', `${config.name} gets the newest, without a request`);
    assert.equal(grant('m00').calls, 0);
    assert.equal(broker.status('m01').lastRefreshAt, clock.now() - 600_000 + 2_000);

    clock.advance(HOUR - 600_000 - 250_000);
    broker.sweep();
    await settle();
    grant('m00').succeed('app-new', clock.now() + HOUR);
    await eventually(() => assert.equal(broker.cachedToken('m02', 60)?.accessToken, 'app-new', 'served although the store refused it'));
    assert.equal(refused.length, 1);
    assert.equal((await store.getMailboxes(app.map((config) => config.name))).size, 3, 'the old records stay while the line record is not in the store');

    down = false;
    broker.sweep();
    await eventually(async () => assert.equal((await store.getLine(tokenLineId(app[0] as MailboxConfig)))?.token?.accessToken, 'app-new', 'written again at the sweep'));
    await eventually(async () => assert.equal((await store.getMailboxes(app.map((config) => config.name))).size, 0, 'the old records are deleted'));
  });

  test('a member record of other credentials is discarded as before; a restart before any line write migrates again', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const { store } = await countingStore();
    const app = members(3);
    await oldLayout(store, app, clock);
    // m02 held the newest token, but of another secret.
    const stale = await store.getMailbox('m02');
    assert.ok(stale);
    await store.putMailbox('m02', { ...stale, fingerprint: 'another-secret' });

    const first = await startBroker(app, store, clock);
    assert.equal(first.broker.cachedToken('m00', 60)?.accessToken, 'old-1', 'the newest of the records of these credentials');
    assert.equal(first.broker.cachedToken('m02', 60)?.accessToken, 'old-1');
    await eventually(async () => assert.equal(await store.getMailbox('m02'), undefined, 'discarded'));

    const second = await startBroker(app, store, clock);
    assert.equal(second.broker.cachedToken('m02', 60)?.accessToken, 'old-1', 'still restorable: nothing was deleted before a line write');
    assert.equal(second.grant('m00').calls, 0);
  });
});

describe('migration across a reload', () => {
  test('a mailbox whose settings change before the first line write still has its old record deleted, by its new line', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const { store } = await countingStore();
    const solo = appMailbox('solo');
    const obtainedAt = clock.now() - 600_000;
    await store.putMailbox('solo', {
      fingerprint: credentialFingerprint(solo),
      token: { accessToken: 'old', tokenType: 'Bearer', expiresAt: obtainedAt + HOUR, obtainedAt, scopes: ['s'] },
    });
    const { broker, grants } = await startBroker([solo], store, clock);
    assert.equal(broker.cachedToken('solo', 60)?.accessToken, 'old');
    const summary = await broker.reload({ mailboxes: [{ ...solo, protocol: 'pop3' }], refresh: REFRESH });
    assert.deepEqual(summary, { added: [], removed: [], changed: ['solo'], reacquiring: [] });
    assert.equal(broker.cachedToken('solo', 60)?.accessToken, 'old', 'the token carries over');
    assert.ok(await store.getMailbox('solo'), 'not deleted before a line record is written');

    clock.advance(HOUR - 600_000 - 250_000);
    broker.sweep();
    await settle();
    grants.get('solo')?.succeed('new', clock.now() + HOUR);
    await eventually(async () => assert.equal((await store.getLine(tokenLineId(solo)))?.token?.accessToken, 'new'));
    await eventually(async () => assert.equal(await store.getMailbox('solo'), undefined, 'the old record is deleted'));
  });
});

describe('reload and shared line records', () => {
  test('removing one member keeps the line record; removing the last deletes it; a mailbox moved to another application carries none of the old token', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const { store } = await countingStore();
    const a = appMailbox('a');
    const b = appMailbox('b');
    const other = appMailbox('other', OTHER_APP);
    const { broker, grant } = await startBroker([a, b, other], store, clock);
    broker.sweep();
    await settle();
    grant('a').succeed('app-1', clock.now() + HOUR);
    grant('other').succeed('other-1', clock.now() + HOUR);
    await settle();
    const line = tokenLineId(a);
    assert.ok(await store.getLine(line));

    await broker.reload({ mailboxes: [a, other], refresh: REFRESH });
    assert.equal((await store.getLine(line))?.token?.accessToken, 'app-1', 'a is still on the line');

    // a moves to the other application: its line has no member left.
    const moved = appMailbox('a', OTHER_APP);
    const summary = await broker.reload({ mailboxes: [moved, other], refresh: REFRESH });
    assert.deepEqual(summary.reacquiring, ['a']);
    assert.equal(broker.cachedToken('a', 60)?.accessToken, 'other-1', 'the token of its new application, not app-1');
    assert.equal(await store.getLine(line), undefined, 'the emptied line’s record is purged');
    assert.equal((await store.getLine(tokenLineId(other)))?.token?.accessToken, 'other-1');

    await broker.reload({ mailboxes: [moved], refresh: REFRESH });
    assert.ok(await store.getLine(tokenLineId(other)), 'the other line still has a member');
    await broker.reload({ mailboxes: [], refresh: REFRESH });
    assert.equal(await store.getLine(tokenLineId(other)), undefined);
  });
});

describe('several instances and a shared line', () => {
  test('one instance refreshes under the line’s lock and writes one record; the other hears the line id and serves it to every member', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const shared = new SharedMemoryStores((await countingStore()).store);
    const app = members(3);
    const heard: string[] = [];
    const first = await startBroker(app, shared.view(), clock);
    const second = await startBroker(app, shared.view(), clock);
    shared.afterAnnounce = (name) => heard.push(name);
    const warm = first.broker.getToken('m01');
    await settle();
    first.grant('m00').succeed('app-1', clock.now() + HOUR);
    await warm;
    await settle();
    const id = tokenLineId(app[0] as MailboxConfig);
    assert.deepEqual(heard, [id], 'one notice, naming the line');
    assert.deepEqual(shared.lockLog, [id]);
    for (const config of app) assert.equal(second.broker.cachedToken(config.name, 60)?.accessToken, 'app-1', `${config.name} on the second instance`);
    assert.equal(second.grant('m00').calls, 0);

    // Both see it due: one request, the other instance takes it up from the line record under the lock.
    clock.advance(HOUR - 250_000);
    first.broker.sweep();
    second.broker.sweep();
    await settle();
    assert.equal(first.grant('m00').pending + second.grant('m00').pending, 1);
    (first.grant('m00').pending > 0 ? first : second).grant('m00').succeed('app-2', clock.now() + HOUR);
    await settle();
    for (const config of app) {
      assert.equal(first.broker.cachedToken(config.name, 60)?.accessToken, 'app-2');
      assert.equal(second.broker.cachedToken(config.name, 60)?.accessToken, 'app-2');
    }
  });
});
