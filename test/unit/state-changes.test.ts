// Issue 15, point 4: one log line per change of a mailbox's state, with its
// cause, and none when nothing changed. The engine with scripted grants, a
// manual clock and a captured logger; each test plays a sequence of events
// and compares the state-change lines with exactly the expected ones.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenBroker } from '../../src/broker/index.js';
import type { MailboxConfig } from '../../src/config/index.js';
import { BrokerError } from '../../src/errors/index.js';
import { HttpTransport } from '../../src/http/index.js';
import { silentLogger } from '../../src/logging/index.js';
import type { TokenStore } from '../../src/store/index.js';
import { ManualClock } from '../../src/time/index.js';
import { captureLogs } from '../support/log-capture.js';
import { memoryStore, testMailbox } from '../support/mailbox.js';
import { ScriptedGrant } from '../support/scripted-grant.js';
import { SharedMemoryStores } from '../support/shared-memory-store.js';

const HOUR = 3_600_000;
const REFRESH = { leadTimeSeconds: 300, maxConcurrentPerServer: 16, sweepIntervalSeconds: 10, idleAfterHours: 24, keepAliveDays: 7 };

interface LoggedChange {
  readonly level: number;
  readonly mailbox: string;
  readonly from: string;
  readonly to: string;
  readonly cause: string;
  readonly code?: string;
  readonly msg: string;
}

const INFO = 30;
const WARN = 40;

async function setup(options: { mailboxes?: MailboxConfig[]; store?: TokenStore; clock?: ManualClock } = {}) {
  const clock = options.clock ?? new ManualClock(Date.UTC(2026, 0, 1));
  const store = options.store ?? (await memoryStore());
  const logs = captureLogs('debug');
  const grants = new Map<string, ScriptedGrant>();
  const broker = new TokenBroker({
    mailboxes: options.mailboxes ?? [testMailbox()],
    refresh: REFRESH,
    clock,
    logger: logs.logger,
    dependencies: { transport: new HttpTransport(), clock, logger: silentLogger() },
    store,
    grantFactory: (mailbox) => {
      const grant = new ScriptedGrant(mailbox.grantType === 'authorization-code');
      grants.set(mailbox.name, grant);
      return grant;
    },
    // No jitter, no waiting on a real timer: the pause after a failure is one second.
    retryDelayMs: () => 1_000,
  });
  const grant = (name = 'sales'): ScriptedGrant => {
    const found = grants.get(name);
    assert.ok(found, `no grant for ${name}`);
    return found;
  };
  let seen = 0;
  /** The state-change lines logged since the last call. */
  const changes = (): LoggedChange[] => {
    const all = logs
      .text()
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Partial<LoggedChange>)
      .filter((entry): entry is LoggedChange => typeof entry.from === 'string' && typeof entry.to === 'string');
    const fresh = all.slice(seen);
    seen = all.length;
    return fresh;
  };
  return { clock, store, broker, grant, changes, logs };
}

/** "mailbox: FROM -> TO" of each line, in order. */
function transitions(changes: readonly LoggedChange[]): string[] {
  return changes.map((change) => `${change.mailbox}: ${change.from} -> ${change.to}`);
}

/** Lets promise callbacks run until `condition` holds (a few turns of the event loop; no timer involved). */
async function eventuallyTrue(condition: () => boolean): Promise<void> {
  for (let turn = 0; turn < 100 && !condition(); turn++) await settle();
  assert.ok(condition(), 'the condition never held');
}

/** Lets the promise callbacks of a settled acquisition run (no timer involved). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

describe('mailbox state changes are logged once each, with their cause', () => {
  test('a cold mailbox: IDLE -> ACQUIRING -> READY, then nothing while it stays READY', async () => {
    const { clock, broker, grant, changes } = await setup();
    await broker.restore();
    assert.deepEqual(changes(), [], 'a mailbox with nothing stored stays IDLE: no line');
    const first = broker.getToken('sales');
    const started = changes();
    assert.deepEqual(transitions(started), ['sales: IDLE -> ACQUIRING']);
    assert.equal(started[0]?.level, INFO);
    assert.match(started[0]?.cause ?? '', /acquisition started/);
    assert.equal(started[0]?.msg, `mailbox sales: IDLE -> ACQUIRING: ${started[0]?.cause ?? ''}`);
    grant().succeed('tok-1', clock.now() + HOUR);
    await first;
    const ready = changes();
    assert.deepEqual(transitions(ready), ['sales: ACQUIRING -> READY']);
    assert.equal(ready[0]?.level, INFO);
    assert.match(ready[0]?.cause ?? '', /new token .*microsoft/);
    // Served from the cache, then refreshed ahead of expiry in the background: READY all along.
    await broker.getToken('sales');
    clock.advance(HOUR - 200_000);
    assert.equal(broker.cachedToken('sales', 60)?.accessToken, 'tok-1');
    assert.equal(grant().calls, 2, 'a background refresh started');
    grant().succeed('tok-2', clock.now() + HOUR);
    await settle();
    assert.equal(broker.status('sales').state, 'READY');
    assert.deepEqual(changes(), [], 'no line when the state did not change');
  });

  test('a transient failure without a token: ACQUIRING -> FAILING (warn, with the code and message), then back to READY', async () => {
    const { clock, broker, grant, changes } = await setup();
    const first = broker.getToken('sales');
    grant().fail(new BrokerError('mailbox sales: authorization server microsoft answered 503.', { code: 'authorization_server_error', permanent: false, mailbox: 'sales', authorizationServer: 'microsoft', remediation: 'It is retried.' }));
    await assert.rejects(first);
    await settle();
    const failing = changes();
    assert.deepEqual(transitions(failing), ['sales: IDLE -> ACQUIRING', 'sales: ACQUIRING -> FAILING']);
    const line = failing[1];
    assert.equal(line?.level, WARN);
    assert.equal(line?.code, 'authorization_server_error');
    assert.equal(line?.cause, 'authorization_server_error (mailbox sales: authorization server microsoft answered 503. It is retried.)');
    assert.equal(line?.msg, `mailbox sales: ACQUIRING -> FAILING: ${line?.cause ?? ''}`);
    // Inside the pause the caller gets the failure: still FAILING, no line.
    await assert.rejects(broker.getToken('sales'));
    assert.deepEqual(changes(), []);
    clock.advance(1_000);
    const second = broker.getToken('sales');
    grant().succeed('tok-1', clock.now() + HOUR);
    await second;
    assert.deepEqual(transitions(changes()), ['sales: FAILING -> ACQUIRING', 'sales: ACQUIRING -> READY']);
  });

  test('a permanent failure while the token is still served: READY -> FAILING at once, once', async () => {
    const { clock, broker, grant, changes } = await setup();
    const first = broker.getToken('sales');
    grant().succeed('tok-1', clock.now() + HOUR);
    await first;
    changes();
    clock.advance(HOUR - 200_000);
    broker.cachedToken('sales', 60);
    const refused = new BrokerError('mailbox sales: the client secret was refused.', { code: 'invalid_client', permanent: true, mailbox: 'sales', oauth: { error: 'invalid_client', aadsts: '7000215' } });
    grant().fail(refused);
    await settle();
    const failing = changes();
    assert.deepEqual(transitions(failing), ['sales: READY -> FAILING']);
    assert.equal(failing[0]?.level, WARN);
    assert.equal(failing[0]?.code, 'invalid_client');
    assert.equal(failing[0]?.cause, 'invalid_client AADSTS7000215 (mailbox sales: the client secret was refused.)');
    // Tried again after the pause and refused again: FAILING all along (a permanent failure shows while it is retried), no line.
    clock.advance(HOUR);
    const again = broker.getToken('sales');
    grant().fail(refused);
    await assert.rejects(again);
    await settle();
    assert.deepEqual(transitions(changes()), []);
  });

  test('a revoked refresh token: READY -> NEEDS_AUTHORIZATION, a warning with code needs_authorization', async () => {
    const { clock, broker, grant, changes } = await setup();
    const first = broker.getToken('sales');
    grant().succeed('tok-1', clock.now() + HOUR, 'rt-1');
    await first;
    changes();
    clock.advance(HOUR - 200_000);
    broker.cachedToken('sales', 60);
    grant().fail(new BrokerError('mailbox sales: the refresh token was revoked (AADSTS50173).', { code: 'needs_authorization', permanent: true, mailbox: 'sales' }));
    await settle();
    const lines = changes();
    assert.deepEqual(transitions(lines), ['sales: READY -> NEEDS_AUTHORIZATION']);
    assert.equal(lines[0]?.level, WARN);
    assert.equal(lines[0]?.code, 'needs_authorization');
    assert.match(lines[0]?.cause ?? '', /^needs_authorization \(mailbox sales: the refresh token was revoked/);
  });

  test('an interactive mailbox never authorized: IDLE -> NEEDS_AUTHORIZATION at start, telling what to run', async () => {
    const { broker, changes } = await setup({ mailboxes: [testMailbox({ name: 'alice', grantType: 'authorization-code', redirectUri: 'http://localhost:8400/cb' })] });
    await broker.restore();
    const lines = changes();
    assert.deepEqual(transitions(lines), ['alice: IDLE -> NEEDS_AUTHORIZATION']);
    assert.equal(lines[0]?.level, WARN);
    assert.equal(lines[0]?.code, undefined);
    assert.match(lines[0]?.cause ?? '', /token-broker authorize alice/);
    await broker.restore();
    assert.deepEqual(changes(), []);
  });

  test('a token that expires unreplaced: the sweep notices, READY -> IDLE', async () => {
    const { clock, broker, grant, changes } = await setup();
    const first = broker.getToken('sales');
    grant().succeed('tok-1', clock.now() + HOUR);
    await first;
    changes();
    // Nobody asks for the mailbox for a day: it is idle, nothing refreshes it, its token expires.
    clock.advance(25 * HOUR);
    assert.equal(broker.sweep(), 0);
    const lines = changes();
    assert.deepEqual(transitions(lines), ['sales: READY -> IDLE']);
    assert.match(lines[0]?.cause ?? '', /expired/);
    broker.sweep();
    assert.deepEqual(changes(), []);
  });

  test('a token taken up from the store at start: IDLE -> READY', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const store = await memoryStore();
    const earlier = await setup({ clock, store });
    const first = earlier.broker.getToken('sales');
    earlier.grant().succeed('tok-1', clock.now() + HOUR);
    await first;
    const later = await setup({ clock, store });
    await later.broker.restore();
    const lines = later.changes();
    assert.deepEqual(transitions(lines), ['sales: IDLE -> READY']);
    assert.match(lines[0]?.cause ?? '', /store/);
  });

  test('a token another instance obtained, taken up from a shared store: IDLE -> READY on this one, with that cause', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const shared = new SharedMemoryStores(await memoryStore());
    const first = await setup({ clock, store: shared.view() });
    const second = await setup({ clock, store: shared.view() });
    await first.broker.restore();
    await second.broker.restore();
    const pending = first.broker.getToken('sales');
    await settle();
    first.grant().succeed('tok-1', clock.now() + HOUR);
    await pending;
    await eventuallyTrue(() => second.broker.status('sales').state === 'READY');
    const lines = second.changes();
    assert.deepEqual(transitions(lines), ['sales: IDLE -> READY']);
    assert.match(lines[0]?.cause ?? '', /another instance .*store/);
    assert.equal(second.grant().calls, 0);
  });

  test('mailboxes sharing one application token: a line per mailbox, the failure traced to the mailbox that made the request', async () => {
    const mailboxes = [testMailbox({ name: 'a-sales' }), testMailbox({ name: 'b-billing', username: 'billing@contoso.example' })];
    const { broker, grant, changes } = await setup({ mailboxes });
    const first = broker.getToken('b-billing');
    assert.deepEqual(transitions(changes()), ['a-sales: IDLE -> ACQUIRING', 'b-billing: IDLE -> ACQUIRING']);
    grant('a-sales').fail(new BrokerError('mailbox a-sales: the client secret was refused.', { code: 'invalid_client', permanent: true, mailbox: 'a-sales' }));
    await assert.rejects(first);
    await settle();
    const failing = changes();
    assert.deepEqual(transitions(failing), ['a-sales: ACQUIRING -> FAILING', 'b-billing: ACQUIRING -> FAILING']);
    assert.equal(failing[0]?.cause, 'invalid_client (mailbox a-sales: the client secret was refused.)');
    assert.equal(failing[1]?.cause, 'invalid_client (through the application token it shares with mailbox a-sales: mailbox a-sales: the client secret was refused.)');
  });

  test('a reload: a removed mailbox says so; one with new credentials loses its token', async () => {
    const mailboxes = [testMailbox(), testMailbox({ name: 'ops', clientId: '00000000-0000-0000-0000-000000000003', username: 'ops@contoso.example' })];
    const { clock, broker, grant, changes } = await setup({ mailboxes });
    for (const name of ['sales', 'ops']) {
      const pending = broker.getToken(name);
      grant(name).succeed(`tok-${name}`, clock.now() + HOUR);
      await pending;
    }
    changes();
    const summary = broker.reload({ mailboxes: [testMailbox({ clientId: '00000000-0000-0000-0000-000000000009' })], refresh: REFRESH });
    await summary;
    const lines = changes();
    assert.deepEqual(transitions(lines), ['ops: READY -> REMOVED', 'sales: READY -> IDLE', 'sales: IDLE -> ACQUIRING']);
    assert.equal(lines[0]?.level, INFO);
    assert.match(lines[0]?.cause ?? '', /removed from the configuration/);
    assert.match(lines[1]?.cause ?? '', /credentials changed/);
  });
});
