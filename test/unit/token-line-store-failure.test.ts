// "Stored before use" when the store refuses writes (a full disk): a token
// that came with a NEW refresh token is not handed out until its record is
// in the store. The new refresh token is kept in memory (rotation killed the
// old one), written again with backoff, and no request goes to the server on
// top of it; once the store takes it the mailbox is READY again, and a new
// instance over the same store needs no authorization.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TokenBroker } from '../../src/broker/index.js';
import type { IssuedToken } from '../../src/broker/index.js';
import { HttpTransport } from '../../src/http/index.js';
import { silentLogger } from '../../src/logging/index.js';
import type { TokenStore } from '../../src/store/index.js';
import { ManualClock } from '../../src/time/index.js';
import { eventually, rejection } from '../support/assertions.js';
import { failingStore } from '../support/failing-store.js';
import { memoryStore, testMailbox } from '../support/mailbox.js';
import { ScriptedGrant } from '../support/scripted-grant.js';
import { SharedMemoryStores } from '../support/shared-memory-store.js';

const HOUR = 3_600_000;
const MINUTE = 60_000;

function newBroker(clock: ManualClock, store: TokenStore): { broker: TokenBroker; grant: () => ScriptedGrant } {
  let grant: ScriptedGrant | undefined;
  const broker = new TokenBroker({
    mailboxes: [testMailbox({ name: 'user', grantType: 'authorization-code' })],
    refresh: { leadTimeSeconds: 300, maxConcurrentPerServer: 4, sweepIntervalSeconds: 10, idleAfterHours: 24, keepAliveDays: 7 },
    clock,
    logger: silentLogger(),
    dependencies: { transport: new HttpTransport(), clock, logger: silentLogger() },
    store,
    // Not interactive: the engine may acquire without a refresh token, so the test needs no authorization step.
    grantFactory: () => (grant = new ScriptedGrant(false)),
  });
  return {
    broker,
    grant: () => {
      assert.ok(grant);
      return grant;
    },
  };
}

/** On a shared store the request starts after the lock and a read of the store: waits until it is pending. */
async function answerable(grant: ScriptedGrant): Promise<void> {
  await eventually(() => assert.equal(grant.pending, 1, 'the acquisition reached the server'));
}

describe('a rotated refresh token the store refuses', () => {
  test('is not handed out: waiters get store_unavailable, the status shows it, and it is written before any new request', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const disk = failingStore(await memoryStore());
    const { broker, grant } = newBroker(clock, disk.store);
    await broker.restore();

    disk.failing = true;
    const first = broker.getToken('user');
    grant().succeed('tok-1', clock.now() + HOUR, 'rt-1');
    const failure = await rejection(first);
    assert.equal(failure.code, 'store_unavailable');
    assert.equal(failure.permanent, false, 'transient: the broker writes it again');
    assert.equal(failure.mailbox, 'user');
    assert.match(failure.message, /mailbox user/);
    assert.match(failure.message, /token store memory:/);
    assert.match(failure.message, /not handed out/);
    assert.equal(broker.cachedToken('user', 0), undefined, 'the token whose refresh token is not stored is not served');
    const status = broker.status('user');
    assert.equal(status.state, 'FAILING');
    assert.equal(status.lastError?.code, 'store_unavailable');
    assert.deepEqual(disk.refused, ['rt-1']);

    // Right after the failure: the pause after it, no write and no request.
    await assert.rejects(broker.getToken('user'), { code: 'store_unavailable' });
    assert.equal(grant().calls, 1);

    // After the pause a token request writes the pending record instead of asking the server for another rotation.
    clock.advance(10 * MINUTE);
    await assert.rejects(broker.getToken('user'), { code: 'store_unavailable' });
    assert.equal(grant().calls, 1, 'no new rotation on top of an unsaved one');
    assert.deepEqual(disk.refused, ['rt-1', 'rt-1'], 'the same record, written again');

    // The sweep keeps trying, with backoff: at once after a failure it does not.
    broker.sweep();
    assert.deepEqual(disk.refused, ['rt-1', 'rt-1'], 'inside the pause after the last failure');
    clock.advance(10 * MINUTE);
    broker.sweep();
    await eventually(() => assert.deepEqual(disk.refused, ['rt-1', 'rt-1', 'rt-1']));
    await eventually(() => assert.equal(broker.status('user').lastError?.code, 'store_unavailable'));
    assert.equal(grant().calls, 1);

    disk.failing = false;
    // Each round: past any pause, a sweep. An attempt still in flight when the store came back is left to finish.
    await eventually(() => {
      clock.advance(MINUTE);
      broker.sweep();
      assert.equal(broker.status('user').state, 'READY');
    });
    assert.equal(broker.status('user').lastError, undefined);
    const saved = await disk.inner.getMailbox('user');
    assert.equal(saved?.refreshToken, 'rt-1', 'the rotated refresh token reached the store');
    assert.equal(saved?.token?.accessToken, 'tok-1');
    assert.equal((await broker.getToken('user')).accessToken, 'tok-1', 'served once stored');
    assert.equal(grant().calls, 1);

    // A restart after that needs no authorization: the new instance serves the stored token and redeems the stored refresh token.
    const restarted = newBroker(clock, disk.inner);
    await restarted.broker.restore();
    assert.equal((await restarted.broker.getToken('user')).accessToken, 'tok-1');
    clock.advance(MINUTE);
    const refreshed = restarted.broker.reportRejected('user', 'tok-1', 'test');
    restarted.grant().succeed('tok-2', clock.now() + HOUR, 'rt-2');
    assert.equal((await refreshed).accessToken, 'tok-2');
    assert.deepEqual(restarted.grant().refreshTokensUsed, ['rt-1']);
  });

  test('on a refresh of a valid token: the new token is not pushed, the old one serves, and the next refresh writes instead of rotating again', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const disk = failingStore(await memoryStore());
    const { broker, grant } = newBroker(clock, disk.store);
    await broker.restore();
    const first = broker.getToken('user');
    grant().succeed('tok-1', clock.now() + HOUR, 'rt-1');
    assert.equal((await first).accessToken, 'tok-1');
    const pushed: IssuedToken[] = [];
    broker.watch('user', (token) => pushed.push(token));

    disk.failing = true;
    const rejected = broker.reportRejected('user', 'tok-1', 'test');
    grant().succeed('tok-2', clock.now() + 2 * HOUR, 'rt-2');
    const failure = await rejection(rejected);
    assert.equal(failure.code, 'store_unavailable');
    assert.equal(pushed.length, 0, 'a token whose refresh token is not stored is not pushed to watchers');
    assert.equal(broker.status('user').state, 'FAILING');
    assert.equal(broker.status('user').lastError?.code, 'store_unavailable');

    // Another report after the rate limit, and the token coming due: writes, no request.
    clock.advance(MINUTE);
    await assert.rejects(broker.reportRejected('user', 'tok-1', 'again'), { code: 'store_unavailable' });
    clock.advance(HOUR - 4 * MINUTE);
    broker.sweep();
    await eventually(() => assert.deepEqual(disk.refused, ['rt-2', 'rt-2', 'rt-2']));
    assert.equal(grant().calls, 2, 'the refresh that rotated, and none after it');
    assert.deepEqual(grant().refreshTokensUsed, [undefined, 'rt-1']);

    disk.failing = false;
    await eventually(() => {
      clock.advance(MINUTE);
      broker.sweep();
      assert.equal(broker.status('user').state, 'READY');
    });
    assert.deepEqual(
      pushed.map((token) => token.accessToken),
      ['tok-2'],
      'pushed once stored',
    );
    assert.equal((await disk.inner.getMailbox('user'))?.refreshToken, 'rt-2');
    // The next refresh redeems the rotated refresh token, kept in memory all along.
    clock.advance(MINUTE);
    const next = broker.reportRejected('user', 'tok-2', 'test');
    grant().succeed('tok-3', clock.now() + HOUR, 'rt-3');
    assert.equal((await next).accessToken, 'tok-3');
    assert.deepEqual(grant().refreshTokensUsed, [undefined, 'rt-1', 'rt-2']);
  });

  test('a token without a new refresh token is still served while the store refuses its record', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const disk = failingStore(await memoryStore());
    const { broker, grant } = newBroker(clock, disk.store);
    await broker.restore();
    const first = broker.getToken('user');
    grant().succeed('tok-1', clock.now() + HOUR, 'rt-1');
    await first;

    disk.failing = true;
    clock.advance(MINUTE);
    // The server did not rotate: it answered with the refresh token the store already holds.
    const refreshed = broker.reportRejected('user', 'tok-1', 'test');
    grant().succeed('tok-2', clock.now() + HOUR, 'rt-1');
    assert.equal((await refreshed).accessToken, 'tok-2', 'nothing durable is at stake: served');
    assert.equal(broker.status('user').state, 'READY');
  });

  test('on a shared store, a newer record of another instance wins over the unsaved rotation: it is taken up, not overwritten', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const stores = new SharedMemoryStores(await memoryStore());
    const diskA = failingStore(stores.view());
    const a = newBroker(clock, diskA.store);
    const b = newBroker(clock, stores.view());
    await a.broker.restore();
    await b.broker.restore();
    const first = a.broker.getToken('user');
    await answerable(a.grant());
    a.grant().succeed('tok-1', clock.now() + HOUR, 'rt-1');
    await first;
    await eventually(() => assert.equal(b.broker.cachedToken('user', 0)?.accessToken, 'tok-1', 'B followed the write'));

    // A's writes fail while it rotates; B does not hear of anything A does meanwhile, nor A of B.
    diskA.failing = true;
    stores.muted = true;
    const rejected = a.broker.reportRejected('user', 'tok-1', 'test');
    await answerable(a.grant());
    a.grant().succeed('tok-a', clock.now() + HOUR, 'rt-a');
    await assert.rejects(rejected, { code: 'store_unavailable' });
    clock.advance(MINUTE);
    const refreshedByB = b.broker.reportRejected('user', 'tok-1', 'test');
    await answerable(b.grant());
    b.grant().succeed('tok-b', clock.now() + HOUR, 'rt-b');
    assert.equal((await refreshedByB).accessToken, 'tok-b');

    // A's store works again: under the lock it finds B's newer record and takes it up instead of writing its own.
    diskA.failing = false;
    await eventually(() => {
      clock.advance(MINUTE);
      a.broker.sweep();
      assert.equal(a.broker.status('user').state, 'READY');
    });
    assert.equal((await a.broker.getToken('user')).accessToken, 'tok-b');
    assert.equal((await stores.view().getMailbox('user'))?.refreshToken, 'rt-b', 'the live refresh token was not overwritten by the older rotation');
    assert.equal(a.grant().calls, 2, 'no request for A meanwhile');
    const next = a.broker.reportRejected('user', 'tok-b', 'test');
    await answerable(a.grant());
    a.grant().succeed('tok-a2', clock.now() + HOUR, 'rt-a2');
    assert.equal((await next).accessToken, 'tok-a2');
    assert.deepEqual(a.grant().refreshTokensUsed, [undefined, 'rt-1', 'rt-b'], 'A redeems the refresh token it took up');
  });
});
