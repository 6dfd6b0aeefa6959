// min_validity_seconds = 0 is the default: 60 s, or, for a server whose
// tokens live less than that (test servers, some custom ones), half the
// token's lifetime, so that such a server's tokens are served instead of
// refused as INVALID_ARGUMENT. A value the caller gives keeps its meaning
// exactly. The engine runs on a manual clock with a grant that answers at once.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { requestedMinValidity, TokenBroker } from '../../src/broker/index.js';
import type { Grant, GrantState, IssuedToken, TokenResult } from '../../src/broker/index.js';
import { requiredValidityMs } from '../../src/broker/min-validity.js';
import { HttpTransport } from '../../src/http/index.js';
import { silentLogger } from '../../src/logging/index.js';
import { ManualClock } from '../../src/time/index.js';
import { rejection } from '../support/assertions.js';
import { memoryStore, testMailbox } from '../support/mailbox.js';

/** What a GetToken or WatchToken request that leaves min_validity_seconds 0 hands the engine. */
const LEFT_AT_ZERO = requestedMinValidity(0, 'GetTokenRequest.min_validity_seconds');

/** A grant that answers at once with tokens of one lifetime, and counts its requests. */
class ShortLivedGrant implements Grant {
  readonly type = 'client-credentials' as const;
  readonly interactive = false;
  calls = 0;
  readonly #clock: ManualClock;
  readonly #lifetimeMs: number;

  constructor(clock: ManualClock, lifetimeMs: number) {
    this.#clock = clock;
    this.#lifetimeMs = lifetimeMs;
  }

  acquire(_state: GrantState): Promise<TokenResult> {
    this.calls++;
    return Promise.resolve({ accessToken: `tok-${this.calls}`, tokenType: 'Bearer', expiresAt: this.#clock.now() + this.#lifetimeMs, scopes: ['s'] });
  }
}

async function newBroker(lifetimeMs: number, leadTimeSeconds = 300): Promise<{ clock: ManualClock; broker: TokenBroker; grant: ShortLivedGrant }> {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const grant = new ShortLivedGrant(clock, lifetimeMs);
  const broker = new TokenBroker({
    mailboxes: [testMailbox({ name: 'sales' })],
    refresh: { leadTimeSeconds, maxConcurrentPerServer: 4, sweepIntervalSeconds: 10, idleAfterHours: 24, keepAliveDays: 7 },
    clock,
    logger: silentLogger(),
    dependencies: { transport: new HttpTransport(), clock, logger: silentLogger() },
    store: await memoryStore(),
    grantFactory: () => grant,
    random: () => 0.5,
  });
  return { clock, broker, grant };
}

describe('the validity a request that leaves min_validity_seconds 0 needs', () => {
  const issued = (lifetimeMs: number): Pick<IssuedToken, 'expiresAt' | 'obtainedAt'> => ({ obtainedAt: 1_000_000, expiresAt: 1_000_000 + lifetimeMs });

  test('60 s for tokens that live 60 s or more; half the lifetime below that', () => {
    assert.equal(requiredValidityMs(LEFT_AT_ZERO, issued(3_600_000)), 60_000);
    assert.equal(requiredValidityMs(LEFT_AT_ZERO, issued(60_000)), 60_000);
    assert.equal(requiredValidityMs(LEFT_AT_ZERO, issued(59_000)), 29_500);
    assert.equal(requiredValidityMs(LEFT_AT_ZERO, issued(20_000)), 10_000);
  });

  test('a value the caller gives is that many seconds, whatever the token', () => {
    assert.equal(requiredValidityMs(requestedMinValidity(60, 'f'), issued(20_000)), 60_000);
    assert.equal(requiredValidityMs(requestedMinValidity(1, 'f'), issued(3_600_000)), 1_000);
  });
});

describe('min_validity_seconds 0 with tokens that live 20 s', () => {
  test('is served a token while at least half its lifetime is left, then a new one', async () => {
    const { clock, broker, grant } = await newBroker(20_000);
    assert.equal((await broker.getToken('sales', LEFT_AT_ZERO)).accessToken, 'tok-1');
    // 15 s left (before the proactive refresh, which starts at most 12 s before expiry): from the cache, no request.
    clock.advance(5_000);
    assert.equal((await broker.getToken('sales', LEFT_AT_ZERO)).accessToken, 'tok-1');
    assert.equal(grant.calls, 1);
    // Less than half left (no call came in between to start the proactive refresh).
    clock.advance(5_001);
    assert.equal(broker.cachedToken('sales', LEFT_AT_ZERO), undefined, 'less than half left: not served from the cache');
    const fresh = await broker.getToken('sales', LEFT_AT_ZERO);
    assert.equal(fresh.accessToken, 'tok-2');
    assert.equal(fresh.expiresAt - clock.now(), 20_000);
    assert.equal(grant.calls, 2);
  });

  test('an explicit 60 is refused as before (invalid_request), one request for all the calls', async () => {
    const { broker, grant } = await newBroker(20_000);
    await broker.getToken('sales', LEFT_AT_ZERO);
    for (let call = 1; call <= 3; call++) {
      const failure = await rejection(broker.getToken('sales', requestedMinValidity(60, 'GetTokenRequest.min_validity_seconds')));
      assert.equal(failure.code, 'invalid_request');
      assert.equal(
        failure.message,
        'mailbox sales: microsoft issues tokens valid for 20 s, less than the 60 s asked for (min_validity_seconds); the current token has 20 s left. ' +
          'No token can be valid that long, so none is requested for it before the current one is due for refresh.',
      );
      assert.equal(failure.remediation, 'Ask for less than 20 s; up to 10 s is always served at once.');
    }
    assert.equal(grant.calls, 1);
  });

  test('a watch that leaves it 0 is pushed each new token', async () => {
    const { clock, broker } = await newBroker(20_000);
    const pushed: string[] = [];
    broker.watch('sales', (token) => pushed.push(token.accessToken), LEFT_AT_ZERO);
    await broker.getToken('sales', LEFT_AT_ZERO);
    clock.advance(10_001);
    await broker.getToken('sales', LEFT_AT_ZERO);
    assert.deepEqual(pushed, ['tok-1', 'tok-2']);
  });
});

describe('min_validity_seconds 0 with tokens that live 60 s or more: the 60 s of before', () => {
  test('an hour-long token is served until 60 s are left, then a new one is fetched', async () => {
    // A lead time of 30 s keeps the proactive refresh out of the way: it would start at 300 s before expiry.
    const { clock, broker, grant } = await newBroker(3_600_000, 30);
    await broker.getToken('sales', LEFT_AT_ZERO);
    clock.advance(3_540_000);
    assert.equal((await broker.getToken('sales', LEFT_AT_ZERO)).accessToken, 'tok-1');
    assert.equal(grant.calls, 1);
    clock.advance(1);
    assert.equal(broker.cachedToken('sales', LEFT_AT_ZERO), undefined, 'less than 60 s left: not served from the cache');
    assert.equal((await broker.getToken('sales', LEFT_AT_ZERO)).accessToken, 'tok-2');
    assert.equal(grant.calls, 2);
  });
});
