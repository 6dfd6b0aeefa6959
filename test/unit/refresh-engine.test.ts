// The refresh engine with scripted grants and a manual clock: shared
// application tokens, idle mailboxes and keep-alive, reload, and several
// instances sharing one store.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenBroker } from '../../src/broker/index.js';
import type { IssuedToken } from '../../src/broker/index.js';
import { tokenLineId } from '../../src/broker/line-identity.js';
import type { MailboxConfig, RefreshConfig } from '../../src/config/index.js';
import { Secret } from '../../src/config/index.js';
import { BrokerError } from '../../src/errors/index.js';
import { HttpTransport } from '../../src/http/index.js';
import { silentLogger } from '../../src/logging/index.js';
import type { TokenStore } from '../../src/store/index.js';
import { ManualClock } from '../../src/time/index.js';
import { memoryStore, testMailbox } from '../support/mailbox.js';
import { ScriptedGrant } from '../support/scripted-grant.js';
import { SharedMemoryStores } from '../support/shared-memory-store.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const REFRESH: RefreshConfig = { leadTimeSeconds: 300, maxConcurrentPerServer: 16, sweepIntervalSeconds: 10, idleAfterHours: 24, keepAliveDays: 7 };

/** Lets promise callbacks run (the scripted grant settles synchronously, the store needs a few turns). */
async function settle(): Promise<void> {
  for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
}

interface Harness {
  readonly clock: ManualClock;
  readonly broker: TokenBroker;
  readonly store: TokenStore;
  /** Grants by the name of the mailbox they were made for (a shared line makes one, for its first mailbox). */
  readonly grants: Map<string, ScriptedGrant>;
  readonly grant: (name: string) => ScriptedGrant;
}

interface HarnessOptions {
  readonly refresh?: Partial<RefreshConfig>;
  readonly store?: TokenStore;
  readonly clock?: ManualClock;
  readonly retryDelayMs?: (failure: BrokerError, consecutiveFailures: number) => number;
  readonly random?: () => number;
}

async function harness(mailboxes: MailboxConfig[], options: HarnessOptions = {}): Promise<Harness> {
  const clock = options.clock ?? new ManualClock(Date.UTC(2026, 0, 1));
  const store = options.store ?? (await memoryStore());
  const grants = new Map<string, ScriptedGrant>();
  const broker = new TokenBroker({
    mailboxes,
    refresh: { ...REFRESH, ...options.refresh },
    clock,
    logger: silentLogger(),
    dependencies: { transport: new HttpTransport(), clock, logger: silentLogger() },
    store,
    ...(options.retryDelayMs === undefined ? {} : { retryDelayMs: options.retryDelayMs }),
    ...(options.random === undefined ? {} : { random: options.random }),
    grantFactory: (mailbox) => {
      const grant = new ScriptedGrant(mailbox.grantType === 'authorization-code');
      grants.set(mailbox.name, grant);
      return grant;
    },
  });
  await broker.restore();
  return {
    clock,
    broker,
    store,
    grants,
    grant: (name) => {
      const found = grants.get(name);
      assert.ok(found, `no grant was made for ${name}`);
      return found;
    },
  };
}

const appMailbox = (name: string, clientId = '00000000-0000-0000-0000-00000000aaaa'): MailboxConfig =>
  testMailbox({ name, clientId, username: `${name}@contoso.example` });

describe('shared application tokens', () => {
  test('100 client-credentials mailboxes of one application cause one token request, each with its own SASL user', async () => {
    const names = Array.from({ length: 100 }, (_, index) => `box-${String(index).padStart(3, '0')}`);
    const { clock, broker, grants, grant } = await harness(names.map((name) => appMailbox(name)));
    assert.equal(grants.size, 1, 'one grant for the application');
    const calls = names.map((name) => broker.getToken(name));
    assert.equal(grant('box-000').calls, 1);
    grant('box-000').succeed('app-token', clock.now() + HOUR);
    const tokens = await Promise.all(calls);
    assert.equal(grant('box-000').calls, 1);
    for (const [index, token] of tokens.entries()) {
      assert.equal(token.accessToken, 'app-token');
      assert.equal(token.mailbox, names[index]);
      assert.equal(Buffer.from(token.saslXoauth2, 'base64').toString(), `user=${names[index]}@contoso.example\x01auth=Bearer app-token\x01\x01`);
    }
  });

  test('the shared token is refreshed once for all, and every mailbox watcher gets it', async () => {
    const { clock, broker, grant } = await harness([appMailbox('a'), appMailbox('b'), appMailbox('c')]);
    assert.equal(broker.sweep(), 1, 'one line to warm');
    grant('a').succeed('t1', clock.now() + HOUR);
    await settle();
    const seen = new Map<string, string[]>();
    for (const name of ['a', 'b', 'c']) broker.watch(name, (token) => seen.set(name, [...(seen.get(name) ?? []), token.accessToken]));
    clock.advance(HOUR - 200_000);
    assert.equal(broker.sweep(), 1);
    assert.equal(broker.sweep(), 0, 'in flight');
    grant('a').succeed('t2', clock.now() + HOUR);
    await settle();
    assert.equal(grant('a').calls, 2);
    assert.deepEqual(Object.fromEntries(seen), { a: ['t2'], b: ['t2'], c: ['t2'] });
  });

  test('other applications, tenants, scopes or grant types do not share', async () => {
    const { grants } = await harness([
      appMailbox('a'),
      appMailbox('b', '00000000-0000-0000-0000-00000000bbbb'),
      testMailbox({ name: 'c', clientId: '00000000-0000-0000-0000-00000000aaaa', tenantId: '00000000-0000-0000-0000-00000000cccc' }),
      testMailbox({ name: 'd', clientId: '00000000-0000-0000-0000-00000000aaaa', scopes: ['https://graph.microsoft.com/.default'] }),
      testMailbox({ name: 'e', clientId: '00000000-0000-0000-0000-00000000aaaa', grantType: 'ropc', password: new Secret('pw', 'test') }),
      testMailbox({ name: 'f', clientId: '00000000-0000-0000-0000-00000000aaaa', grantType: 'ropc', password: new Secret('pw', 'test') }),
    ]);
    assert.deepEqual([...grants.keys()].sort(), ['a', 'b', 'c', 'd', 'e', 'f']);
  });

  test('a failure of the shared line is every member\'s failure, and one retry serves all', async () => {
    const { clock, broker, grant } = await harness([appMailbox('a'), appMailbox('b')]);
    const calls = [broker.getToken('a'), broker.getToken('b')];
    grant('a').fail(new BrokerError('mailbox a: the server is down.', { code: 'server_unreachable', mailbox: 'a', remediation: 'Check the network.' }));
    await assert.rejects(calls[0] as Promise<IssuedToken>, (error: BrokerError) => error.message === 'mailbox a: the server is down.');
    await assert.rejects(
      calls[1] as Promise<IssuedToken>,
      (error: BrokerError) =>
        error.message === 'mailbox b shares the application token of mailbox a: mailbox a: the server is down.' && error.mailbox === 'b' && error.code === 'server_unreachable',
      'the other member is told whose settings made the request',
    );
    assert.match(broker.status('b').lastError?.describe() ?? '', /^mailbox b shares the application token of mailbox a: .* Check the network\.$/);
    assert.equal(broker.status('a').state, 'FAILING');
    assert.equal(broker.status('b').state, 'FAILING');
    clock.advance(10_000);
    const retry = [broker.getToken('b'), broker.getToken('a')];
    assert.equal(grant('a').calls, 2);
    grant('a').succeed('t', clock.now() + HOUR);
    assert.deepEqual((await Promise.all(retry)).map((token) => token.accessToken), ['t', 't']);
    assert.equal(broker.status('a').state, 'READY');
  });
});

describe('idle mailboxes and keep-alive', () => {
  test('a mailbox nobody asks for stops being refreshed ahead of expiry, and one in use keeps being refreshed', async () => {
    const { clock, broker, grant } = await harness([appMailbox('used', '00000000-0000-0000-0000-000000000001'), appMailbox('idle', '00000000-0000-0000-0000-000000000002')], {
      refresh: { idleAfterHours: 2 },
    });
    broker.sweep();
    grant('used').succeed('u1', clock.now() + HOUR);
    grant('idle').succeed('i1', clock.now() + HOUR);
    await settle();
    for (let hour = 1; hour <= 4; hour++) {
      clock.advance(HOUR - 300_000);
      broker.cachedToken('used', 60);
      await settle();
      broker.sweep();
      await settle();
      for (const name of ['used', 'idle']) if (grant(name).pending > 0) grant(name).succeed(`${name}${hour + 1}`, clock.now() + HOUR);
      await settle();
      clock.advance(300_000);
    }
    assert.equal(grant('used').calls, 5, 'refreshed every hour');
    assert.equal(grant('idle').calls, 3, 'refreshed while the start counted as use (2 h), then left alone');
    assert.equal(broker.status('idle').state, 'IDLE', 'its token has expired');
    const onDemand = broker.getToken('idle');
    assert.equal(grant('idle').calls, 4, 'a caller gets a token on demand');
    grant('idle').succeed('i-demand', clock.now() + HOUR);
    assert.equal((await onDemand).accessToken, 'i-demand');
  });

  test('a watched mailbox is in use however long nobody calls GetToken', async () => {
    const { clock, broker, grant } = await harness([appMailbox('watched')], { refresh: { idleAfterHours: 1 } });
    broker.sweep();
    grant('watched').succeed('w1', clock.now() + HOUR);
    await settle();
    broker.watch('watched', () => undefined);
    clock.advance(3 * HOUR);
    assert.equal(broker.sweep(), 1);
  });

  test('keep-alive: an idle mailbox\'s refresh token is redeemed every keepAliveDays, and status shows when', async () => {
    const { clock, broker, grant } = await harness([testMailbox({ name: 'user', grantType: 'authorization-code', username: 'user@contoso.example' })], {
      refresh: { idleAfterHours: 1, keepAliveDays: 7 },
    });
    const start = clock.now();
    const first = broker.getToken('user');
    grant('user').succeed('a1', clock.now() + HOUR, 'rt-1');
    await first;
    assert.equal(broker.status('user').refreshTokenUsedAt, start);
    let keptAliveAt: number | undefined;
    for (let hour = 1; hour <= 24 * 15; hour++) {
      clock.advance(HOUR);
      broker.sweep();
      if (grant('user').pending > 0) {
        keptAliveAt ??= clock.now();
        grant('user').succeed(`a-${hour}`, clock.now() + HOUR, `rt-${hour}`);
        await settle();
      }
    }
    // In use for the first hour (lead time), then idle: redeemed on day 7 and day 14.
    assert.equal(grant('user').calls, 3);
    assert.equal(keptAliveAt, start + 7 * DAY);
    assert.deepEqual(grant('user').refreshTokensUsed, [undefined, 'rt-1', `rt-${7 * 24}`]);
    assert.equal(broker.status('user').refreshTokenUsedAt, start + 14 * DAY);
  });

  test('mailboxes without a refresh token need no keep-alive', async () => {
    const { clock, broker, grant } = await harness([appMailbox('app')], { refresh: { idleAfterHours: 1, keepAliveDays: 1 } });
    broker.sweep();
    grant('app').succeed('t', clock.now() + HOUR);
    await settle();
    clock.advance(3 * DAY);
    assert.equal(broker.sweep(), 0);
    assert.equal(broker.status('app').refreshTokenUsedAt, undefined);
  });
});

describe('reload', () => {
  const ropc = (password: string, overrides: Partial<MailboxConfig> = {}): MailboxConfig =>
    testMailbox({ name: 'ropc', grantType: 'ropc', clientId: '00000000-0000-0000-0000-00000000eeee', password: new Secret(password, 'test'), ...overrides });

  test('an added mailbox starts at once; a removed one ends its watchers, is purged from the store and is unknown', async () => {
    const gone = appMailbox('gone', '00000000-0000-0000-0000-000000000002');
    const { clock, broker, grant, store } = await harness([appMailbox('keep', '00000000-0000-0000-0000-000000000001'), gone]);
    broker.sweep();
    grant('keep').succeed('k1', clock.now() + HOUR);
    grant('gone').succeed('g1', clock.now() + HOUR);
    await settle();
    // The only mailbox of its application: the line's record is the one that holds its token.
    assert.ok(await store.getLine(tokenLineId(gone)));
    const ended: BrokerError[] = [];
    broker.watch('gone', { next: () => undefined, end: (reason) => ended.push(reason) });
    const summary = await broker.reload({ mailboxes: [appMailbox('keep', '00000000-0000-0000-0000-000000000001'), appMailbox('new', '00000000-0000-0000-0000-000000000003')], refresh: REFRESH });
    assert.deepEqual(summary, { added: ['new'], removed: ['gone'], changed: [], reacquiring: [] });
    assert.equal(ended.length, 1);
    assert.equal(ended[0]?.code, 'unknown_mailbox');
    assert.equal(await store.getLine(tokenLineId(gone)), undefined, 'purged');
    await assert.rejects(broker.getToken('gone'), (error: BrokerError) => error.code === 'unknown_mailbox');
    assert.equal(grant('new').calls, 1, 'the new mailbox is warmed at once');
    assert.equal(grant('keep').calls, 1, 'the unchanged one is left alone');
    assert.equal(broker.cachedToken('keep', 60)?.accessToken, 'k1');
  });

  test('a change of settings that are not credentials keeps the token and applies at once', async () => {
    const { clock, broker, grant, grants } = await harness([ropc('pw-1')]);
    const first = broker.getToken('ropc');
    grant('ropc').succeed('r1', clock.now() + HOUR);
    await first;
    const seen: IssuedToken[] = [];
    broker.watch('ropc', (token) => seen.push(token));
    const summary = await broker.reload({ mailboxes: [ropc('pw-1', { sharedMailbox: 'team@contoso.example' })], refresh: REFRESH });
    assert.deepEqual(summary, { added: [], removed: [], changed: ['ropc'], reacquiring: [] });
    const token = broker.cachedToken('ropc', 60);
    assert.equal(token?.accessToken, 'r1', 'no new token');
    assert.equal(token.username, 'team@contoso.example', 'the new SASL user');
    assert.equal(grants.get('ropc')?.calls, 0, 'the new grant (new settings) was not asked');
    clock.advance(HOUR - 200_000);
    broker.sweep();
    grant('ropc').succeed('r2', clock.now() + HOUR);
    await settle();
    assert.deepEqual(seen.map((item) => item.accessToken), ['r2'], 'the watcher moved to the new settings');
  });

  test('a new ROPC password is used at once: the old token is dropped and a new one acquired', async () => {
    const { clock, broker, grant, store } = await harness([ropc('old-password')]);
    const first = broker.getToken('ropc');
    grant('ropc').succeed('r-old', clock.now() + HOUR);
    await first;
    const before = await store.getMailbox('ropc');
    const summary = await broker.reload({ mailboxes: [ropc('new-password')], refresh: REFRESH });
    assert.deepEqual(summary.reacquiring, ['ropc']);
    assert.equal(broker.cachedToken('ropc', 60), undefined, 'the token of the old password is not served');
    assert.equal(grant('ropc').calls, 1, 'the new grant asked at once');
    grant('ropc').succeed('r-new', clock.now() + HOUR);
    await settle();
    assert.equal(broker.cachedToken('ropc', 60)?.accessToken, 'r-new');
    const after = await store.getMailbox('ropc');
    assert.notEqual(after?.fingerprint, before?.fingerprint);
  });

  test('a reload with nothing changed changes nothing and asks no server', async () => {
    const mailboxes = [appMailbox('a'), ropc('pw')];
    const { broker, grants } = await harness(mailboxes);
    const calls = (): number => [...grants.values()].reduce((sum, grant) => sum + grant.calls, 0);
    broker.sweep();
    const before = calls();
    const summary = await broker.reload({ mailboxes, refresh: REFRESH });
    assert.deepEqual(summary, { added: [], removed: [], changed: [], reacquiring: [] });
    assert.equal(calls(), before);
  });

  test('a new lead time moves the due time of current tokens', async () => {
    const { clock, broker, grant } = await harness([appMailbox('a')]);
    broker.sweep();
    grant('a').succeed('t1', clock.now() + HOUR);
    await settle();
    clock.advance(HOUR - 1_000_000);
    assert.equal(broker.sweep(), 0, 'not due with a 300 s lead time');
    await broker.reload({ mailboxes: [appMailbox('a')], refresh: { ...REFRESH, leadTimeSeconds: 1_500 } });
    assert.equal(grant('a').calls, 2, 'due at once with a 1500 s lead time (the reload sweeps)');
  });

  test('mailboxes of one new application added by a reload share one line, as they do at start', async () => {
    const { clock, broker, grants, grant } = await harness([appMailbox('x', '00000000-0000-0000-0000-000000000001')]);
    const summary = await broker.reload({
      mailboxes: [appMailbox('x', '00000000-0000-0000-0000-000000000001'), appMailbox('a', '00000000-0000-0000-0000-000000000002'), appMailbox('b', '00000000-0000-0000-0000-000000000002')],
      refresh: REFRESH,
    });
    assert.deepEqual(summary.added, ['a', 'b']);
    assert.deepEqual([...grants.keys()], ['x', 'a'], 'one grant for the new application');
    assert.equal(grant('a').calls, 1, 'the reload warms the shared line once');
    grant('a').succeed('app-2', clock.now() + HOUR);
    await settle();
    assert.equal(broker.cachedToken('a', 60)?.accessToken, 'app-2');
    assert.equal(broker.cachedToken('b', 60)?.accessToken, 'app-2');
  });
});

describe('several instances on one store', () => {
  async function twoInstances(mailboxes: MailboxConfig[]) {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const shared = new SharedMemoryStores(await memoryStore());
    const first = await harness(mailboxes, { clock, store: shared.view() });
    const second = await harness(mailboxes, { clock, store: shared.view() });
    return { clock, shared, first, second };
  }

  test('a token due on both instances is refreshed once; the other takes it (and the rotated refresh token) from the store', async () => {
    const { clock, first, second } = await twoInstances([testMailbox({ name: 'user', grantType: 'authorization-code' })]);
    // Authorized on the first instance.
    const authorized = first.broker.getToken('user');
    await settle();
    first.grant('user').succeed('a1', clock.now() + HOUR, 'rt-1');
    await authorized;
    await settle();
    assert.equal(second.broker.cachedToken('user', 60)?.accessToken, 'a1', 'the second follows the first\'s write');
    const seenOnSecond: string[] = [];
    second.broker.watch('user', (token) => seenOnSecond.push(token.accessToken));

    for (let cycle = 2; cycle <= 4; cycle++) {
      clock.advance(HOUR - 250_000);
      assert.equal(first.broker.sweep() + second.broker.sweep(), 2, 'both see it due');
      await settle();
      const pending = first.grant('user').pending + second.grant('user').pending;
      assert.equal(pending, 1, `exactly one request in cycle ${cycle}`);
      const asked = first.grant('user').pending > 0 ? first : second;
      asked.grant('user').succeed(`a${cycle}`, clock.now() + HOUR, `rt-${cycle}`);
      await settle();
      assert.equal(first.broker.cachedToken('user', 60)?.accessToken, `a${cycle}`);
      assert.equal(second.broker.cachedToken('user', 60)?.accessToken, `a${cycle}`);
    }
    assert.deepEqual(seenOnSecond, ['a2', 'a3', 'a4']);
    const used = [...first.grant('user').refreshTokensUsed, ...second.grant('user').refreshTokensUsed].filter((token) => token !== undefined).sort();
    assert.deepEqual(used, ['rt-1', 'rt-2', 'rt-3'], 'each refresh token redeemed once, the newest every time');
  });

  test('a token taken up from another instance while a refresh was starting ends that refresh without a request', async () => {
    const { clock, shared, first, second } = await twoInstances([appMailbox('a')]);
    const warm = first.broker.getToken('a');
    await settle();
    first.grant('a').succeed('t1', clock.now() + HOUR);
    await warm;
    await settle();
    clock.advance(HOUR - 200_000);
    first.broker.sweep();
    await settle();
    // The first instance's write reaches the second, which starts following it; in that window its own sweep starts a refresh.
    shared.afterAnnounce = () => {
      shared.afterAnnounce = undefined;
      second.broker.sweep();
    };
    first.grant('a').succeed('t2', clock.now() + HOUR);
    await settle();
    assert.equal(second.grant('a').calls, 0, 'no second request for the same cycle');
    assert.equal(second.broker.cachedToken('a', 60)?.accessToken, 't2');
  });

  test('after notices may have been missed, every record is read again and newer tokens taken up', async () => {
    const { clock, shared, first, second } = await twoInstances([appMailbox('a', '00000000-0000-0000-0000-000000000001'), appMailbox('b', '00000000-0000-0000-0000-000000000002')]);
    first.broker.sweep();
    await settle();
    first.grant('a').succeed('a1', clock.now() + HOUR);
    first.grant('b').succeed('b1', clock.now() + HOUR);
    await settle();
    assert.equal(second.broker.cachedToken('b', 60)?.accessToken, 'b1');
    shared.muted = true;
    const forced = first.broker.reportRejected('b', 'b1', 'AUTHENTICATE failed');
    await settle();
    first.grant('b').succeed('b2', clock.now() + HOUR);
    await forced;
    await settle();
    assert.equal(second.broker.cachedToken('b', 60)?.accessToken, 'b1', 'the notice was lost');
    shared.muted = false;
    shared.resync();
    await settle();
    assert.equal(second.broker.cachedToken('b', 60)?.accessToken, 'b2', 'taken up after the resync');
    assert.equal(second.broker.cachedToken('a', 60)?.accessToken, 'a1');
    assert.equal(second.grant('a').calls + second.grant('b').calls, 0, 'without a token request');
  });

  test('a forced refresh after a rejection on one instance is not repeated by the other for the same token', async () => {
    const { clock, first, second } = await twoInstances([appMailbox('a')]);
    const warm = first.broker.getToken('a');
    await settle();
    first.grant('a').succeed('t1', clock.now() + HOUR);
    await warm;
    await settle();
    const onFirst = first.broker.reportRejected('a', 't1', 'AUTHENTICATE failed');
    await settle();
    const onSecond = second.broker.reportRejected('a', 't1', 'AUTHENTICATE failed');
    await settle();
    assert.equal(first.grant('a').pending + second.grant('a').pending, 1);
    (first.grant('a').pending > 0 ? first : second).grant('a').succeed('t2', clock.now() + HOUR);
    assert.equal((await onFirst).accessToken, 't2');
    assert.equal((await onSecond).accessToken, 't2');
  });
});

describe('states', () => {
  test('IDLE → ACQUIRING → READY → FAILING (transient, token still served) → READY → NEEDS_AUTHORIZATION', async () => {
    const { clock, broker, grant } = await harness([testMailbox({ name: 'user', grantType: 'authorization-code' })], { retryDelayMs: () => 300_000 });
    assert.equal(broker.status('user').state, 'NEEDS_AUTHORIZATION', 'interactive, never authorized');
    const first = broker.getToken('user');
    assert.equal(broker.status('user').state, 'NEEDS_AUTHORIZATION', 'still no refresh token while the first request runs');
    grant('user').succeed('t1', clock.now() + HOUR, 'rt-1');
    await first;
    assert.equal(broker.status('user').state, 'READY');

    clock.advance(HOUR - 200_000);
    broker.sweep();
    grant('user').fail(new BrokerError('server down', { code: 'server_unreachable' }));
    await settle();
    const failing = broker.status('user');
    assert.equal(failing.state, 'READY', 'a transient failure with a valid token left: still served');
    assert.equal(failing.lastError?.code, 'server_unreachable');
    assert.equal(broker.cachedToken('user', 60)?.accessToken, 't1');

    clock.advance(200_000);
    assert.equal(broker.status('user').state, 'FAILING', 'expired, last attempt failed');
    await assert.rejects(broker.getToken('user'), (error: BrokerError) => error.code === 'server_unreachable', 'the cause, not a stale token');

    clock.advance(100_000);
    const retry = broker.getToken('user');
    assert.equal(broker.status('user').state, 'ACQUIRING');
    grant('user').succeed('t2', clock.now() + HOUR, 'rt-2');
    await retry;
    assert.equal(broker.status('user').state, 'READY');
    assert.equal(broker.status('user').lastError, undefined);

    clock.advance(HOUR + 1);
    const revoked = broker.getToken('user');
    grant('user').fail(new BrokerError('refresh token revoked', { code: 'needs_authorization', permanent: true }));
    await assert.rejects(revoked);
    assert.equal(broker.status('user').state, 'NEEDS_AUTHORIZATION');
    assert.equal(broker.sweep(), 0, 'a permanent failure is not retried by the sweep');
  });

  test('a permanent failure shows as FAILING even while the last token is still served', async () => {
    const { clock, broker, grant } = await harness([appMailbox('app')]);
    broker.sweep();
    grant('app').succeed('t1', clock.now() + HOUR);
    await settle();
    clock.advance(HOUR - 200_000);
    broker.sweep();
    grant('app').fail(new BrokerError('the client secret expired', { code: 'invalid_client', permanent: true, remediation: 'Create a new secret.' }));
    await settle();
    const status = broker.status('app');
    assert.equal(status.state, 'FAILING');
    assert.equal(status.lastError?.describe(), 'the client secret expired Create a new secret.');
    assert.equal(broker.cachedToken('app', 60)?.accessToken, 't1', 'still served until it expires');
  });
});

describe('backoff and Retry-After', () => {
  const transient = (): BrokerError => new BrokerError('server down', { code: 'server_unreachable' });

  /** Fails every request, sweeping each second, and returns when each request went out (ms after the first). */
  async function failingRequests(harnessed: Harness, name: string, seconds: number, failure: () => BrokerError): Promise<number[]> {
    const { clock, broker, grant } = harnessed;
    const start = clock.now();
    const times: number[] = [];
    for (let second = 0; second <= seconds; second++) {
      broker.sweep();
      await settle();
      while (grant(name).pending > 0) {
        times.push(clock.now() - start);
        grant(name).fail(failure());
        await settle();
      }
      clock.advance(1_000);
    }
    return times;
  }

  test('transient failures are retried with exponential backoff, capped at five minutes', async () => {
    // random() = 0.999: the upper end of the jitter, so the waits are 2, 4, 8, ... s (minus a rounding second).
    const harnessed = await harness([appMailbox('flaky')], { random: () => 0.999 });
    const times = await failingRequests(harnessed, 'flaky', 30 * 60, transient);
    const gaps = times.slice(1).map((time, index) => Math.round((time - (times[index] ?? 0)) / 1000));
    assert.deepEqual(gaps.slice(0, 8), [2, 4, 8, 16, 32, 64, 128, 256]);
    assert.ok(gaps.slice(8).every((gap) => gap === 300), `capped at 300 s: ${gaps.join(', ')}`);
  });

  test('the jitter spreads retries between half and all of the backoff', async () => {
    const low = await failingRequests(await harness([appMailbox('low')], { random: () => 0 }), 'low', 200, transient);
    const lowGaps = low.slice(1).map((time, index) => Math.round((time - (low[index] ?? 0)) / 1000));
    assert.deepEqual(lowGaps.slice(0, 5), [1, 2, 4, 8, 16]);
  });

  test('Retry-After is honoured: no request before it, even by a caller', async () => {
    const { clock, broker, grant } = await harness([appMailbox('busy')], { random: () => 0 });
    broker.sweep();
    await settle();
    const throttled = new BrokerError('429', { code: 'throttled', retryAfterMs: 120_000 });
    grant('busy').fail(throttled);
    await settle();
    clock.advance(119_000);
    assert.equal(broker.sweep(), 0);
    await assert.rejects(broker.getToken('busy'), (error) => error === throttled, 'a caller gets the cause at once');
    assert.equal(grant('busy').calls, 1);
    clock.advance(1_000);
    assert.equal(broker.sweep(), 1, 'asked again once Retry-After has passed');
  });

  test('a success resets the backoff', async () => {
    const harnessed = await harness([appMailbox('x')], { random: () => 0.999 });
    const { clock, broker, grant } = harnessed;
    await failingRequests(harnessed, 'x', 7, transient); // failures at 0, 2, 6 s: the next wait would be 8 s
    clock.advance(10_000);
    broker.sweep();
    await settle();
    grant('x').succeed('t', clock.now() + 60_000);
    await settle();
    clock.advance(60_000);
    const times = await failingRequests(harnessed, 'x', 10, transient);
    assert.equal(times[1]! - times[0]!, 2_000, 'back to the base delay');
  });
});
