// The engine with scripted grants and a manual clock: caching, shared
// acquisitions, refresh ahead of expiry, failures and states.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenBroker } from '../../src/broker/index.js';
import { jitterFraction } from '../../src/broker/token-broker.js';
import type { MailboxConfig } from '../../src/config/index.js';
import { BrokerError } from '../../src/errors/index.js';
import { HttpTransport } from '../../src/http/index.js';
import { silentLogger } from '../../src/logging/index.js';
import { ManualClock } from '../../src/time/index.js';
import { memoryStore, testMailbox } from '../support/mailbox.js';
import { ScriptedGrant } from '../support/scripted-grant.js';

async function setup(mailboxes: MailboxConfig[] = [testMailbox()], leadTimeSeconds = 300, maxConcurrentPerServer = 16) {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const store = await memoryStore();
  const grants = new Map<string, ScriptedGrant>();
  const broker = new TokenBroker({
    mailboxes,
    refresh: { leadTimeSeconds, maxConcurrentPerServer, sweepIntervalSeconds: 10, idleAfterHours: 24, keepAliveDays: 7 },
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
  const grant = (name = 'sales'): ScriptedGrant => {
    const found = grants.get(name);
    assert.ok(found);
    return found;
  };
  return { clock, broker, grant };
}

const HOUR = 3_600_000;

/** A client-credentials mailbox of its own application (same-app mailboxes would share one token). */
function ownApp(name: string, overrides: Partial<MailboxConfig> = {}): MailboxConfig {
  const digits = [...name].reduce((sum, char) => sum * 31 + char.charCodeAt(0), 7) % 1_000_000_000_000;
  return testMailbox({ name, clientId: `00000000-0000-0000-0000-${String(digits).padStart(12, '0')}`, ...overrides });
}

describe('TokenBroker', () => {
  test('concurrent callers on a cold mailbox share one acquisition', async () => {
    const { clock, broker, grant } = await setup();
    const calls = Array.from({ length: 500 }, () => broker.getToken('sales'));
    assert.equal(grant().calls, 1);
    grant().succeed('tok-1', clock.now() + HOUR);
    const tokens = await Promise.all(calls);
    assert.ok(tokens.every((token) => token.accessToken === 'tok-1'));
    assert.equal(grant().calls, 1);
  });

  test('a valid token is served from cache synchronously', async () => {
    const { clock, broker, grant } = await setup();
    const first = broker.getToken('sales');
    grant().succeed('tok-1', clock.now() + HOUR);
    await first;
    const cached = broker.cachedToken('sales', 60);
    assert.equal(cached?.accessToken, 'tok-1');
    assert.equal(grant().calls, 1);
  });

  test('a token inside the lead time is still served while a refresh runs in the background', async () => {
    const { clock, broker, grant } = await setup();
    const first = broker.getToken('sales');
    grant().succeed('tok-1', clock.now() + HOUR);
    await first;
    clock.advance(HOUR - 200_000); // 200 s left, lead time 300 s
    assert.equal(broker.cachedToken('sales', 60)?.accessToken, 'tok-1');
    assert.equal(grant().calls, 2, 'a refresh started');
    assert.equal(broker.cachedToken('sales', 60)?.accessToken, 'tok-1');
    assert.equal(grant().calls, 2, 'only one refresh at a time');
    grant().succeed('tok-2', clock.now() + HOUR);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(broker.cachedToken('sales', 60)?.accessToken, 'tok-2');
  });

  test('short-lived tokens refresh at half their life, not on every call', async () => {
    const { clock, broker, grant } = await setup([testMailbox()], 300);
    const first = broker.getToken('sales', 1);
    grant().succeed('tok-1', clock.now() + 120_000); // lives 120 s, lead time 300 s
    await first;
    clock.advance(30_000);
    broker.cachedToken('sales', 1);
    assert.equal(grant().calls, 1, 'not yet half-way');
    clock.advance(31_000);
    broker.cachedToken('sales', 1);
    assert.equal(grant().calls, 2, 'refresh past half the lifetime');
  });

  test('never returns a token valid for less than min_validity', async () => {
    const { clock, broker, grant } = await setup();
    const first = broker.getToken('sales');
    grant().succeed('tok-1', clock.now() + HOUR);
    await first;
    clock.advance(HOUR - 30_000);
    assert.equal(broker.cachedToken('sales', 60), undefined);
    const next = broker.getToken('sales', 60);
    grant().succeed('tok-2', clock.now() + HOUR);
    assert.equal((await next).accessToken, 'tok-2');
  });

  test('a failure reaches every waiting caller, is recorded, and is not retried at once', async () => {
    const { clock, broker, grant } = await setup();
    const calls = [broker.getToken('sales'), broker.getToken('sales')];
    const failure = new BrokerError('mailbox sales: refused', { code: 'invalid_client', permanent: true, mailbox: 'sales', oauth: { aadsts: '7000215' } });
    grant().fail(failure);
    for (const call of calls) await assert.rejects(call, (error) => error === failure);
    assert.equal(broker.status('sales').state, 'FAILING');
    assert.equal(broker.status('sales').lastError?.displayCode, 'AADSTS7000215');
    await assert.rejects(broker.getToken('sales'), (error) => error === failure);
    assert.equal(grant().calls, 1, 'no new request right after a permanent failure');
    clock.advance(HOUR - 1_000);
    await assert.rejects(broker.getToken('sales'), (error) => error === failure);
    assert.equal(grant().calls, 1, 'a permanent failure pauses for an hour');
    clock.advance(2_000);
    const retry = broker.getToken('sales');
    assert.equal(grant().calls, 2, 'asked again after the pause');
    grant().succeed('tok-1', clock.now() + HOUR);
    assert.equal((await retry).accessToken, 'tok-1');
    assert.equal(broker.status('sales').state, 'READY');
    assert.equal(broker.status('sales').lastError, undefined);
  });

  test('needs_authorization errors put the mailbox in NEEDS_AUTHORIZATION', async () => {
    const { broker, grant } = await setup();
    const call = broker.getToken('sales');
    grant().fail(new BrokerError('revoked', { code: 'needs_authorization', permanent: true }));
    await assert.rejects(call);
    assert.equal(broker.status('sales').state, 'NEEDS_AUTHORIZATION');
  });

  test('anything that is not a BrokerError is wrapped, with the mailbox named', async () => {
    const { broker, grant } = await setup();
    const call = broker.getToken('sales');
    grant().fail(new TypeError('boom'));
    await assert.rejects(call, (error: BrokerError) => error.code === 'internal' && error.mailbox === 'sales' && /mailbox sales/.test(error.message));
  });

  test('unknown mailboxes are BrokerError unknown_mailbox', async () => {
    const { broker } = await setup();
    assert.equal(broker.cachedToken('nope', 60), undefined);
    await assert.rejects(broker.getToken('nope'), (error: BrokerError) => error.code === 'unknown_mailbox');
    assert.throws(() => broker.status('nope'), (error: BrokerError) => error.code === 'unknown_mailbox');
  });

  test('the issued token carries the SASL identity: sharedMailbox when set', async () => {
    const { clock, broker, grant } = await setup([testMailbox({ name: 'shared', sharedMailbox: 'team@contoso.example' })]);
    const call = broker.getToken('shared');
    grant('shared').succeed('abc', clock.now() + HOUR);
    const token = await call;
    assert.equal(token.username, 'team@contoso.example');
    assert.equal(Buffer.from(token.saslXoauth2, 'base64').toString(), 'user=team@contoso.example\x01auth=Bearer abc\x01\x01');
  });

  test('status of a mailbox never asked for is IDLE', async () => {
    const { broker } = await setup();
    assert.equal(broker.status('sales').state, 'IDLE');
  });

  test('at most maxConcurrentPerServer token requests in flight per authorization server', async () => {
    const mailboxes = Array.from({ length: 40 }, (_, index) => ownApp(`box-${index}`));
    const { clock, broker, grant } = await setup(mailboxes, 300, 4);
    const calls = mailboxes.map((mailbox) => broker.getToken(mailbox.name));
    await new Promise((resolve) => setImmediate(resolve));
    const started = (): number => mailboxes.filter((mailbox) => grant(mailbox.name).calls > 0).length;
    assert.equal(started(), 4);
    grant('box-0').succeed('tok-0', clock.now() + HOUR);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(started(), 5, 'a finished request lets the next one go');
    for (let round = 0; round < 40; round++) {
      for (const mailbox of mailboxes) if (grant(mailbox.name).pending > 0) grant(mailbox.name).succeed(`tok-${mailbox.name}`, clock.now() + HOUR);
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal((await Promise.all(calls)).length, 40);
    assert.equal(started(), 40);
  });

  test('the sweep warms mailboxes that need no person, and leaves interactive and on-demand ones alone', async () => {
    const { broker, grant } = await setup([
      testMailbox({ name: 'app' }),
      testMailbox({ name: 'user', grantType: 'authorization-code' }),
      testMailbox({ name: 'legacy', grantType: 'ropc-deprecated' }),
    ]);
    assert.equal(broker.sweep(), 1);
    assert.equal(grant('app').calls, 1);
    assert.equal(grant('user').calls, 0, 'nothing to refresh without authorization');
    assert.equal(grant('legacy').calls, 0, 'ropc-deprecated is on demand only');
    assert.equal(broker.sweep(), 0, 'one acquisition in flight is enough');
  });

  test('the sweep refreshes a token once it is due (lead time plus jitter), not before', async () => {
    const { clock, broker, grant } = await setup([ownApp('a'), ownApp('b')], 300);
    broker.sweep();
    const expiresAt = clock.now() + HOUR;
    grant('a').succeed('a-1', expiresAt);
    grant('b').succeed('b-1', expiresAt);
    await new Promise((resolve) => setImmediate(resolve));
    clock.set(expiresAt - 300_000 * 1.2 - 1);
    assert.equal(broker.sweep(), 0, 'before the earliest jitter');
    clock.set(expiresAt - 300_000);
    assert.equal(broker.sweep(), 2, 'both due at the lead time');
    assert.equal(grant('a').calls, 2);
  });

  test('jitter spreads tokens issued together, the same way every time', () => {
    const at = Date.UTC(2026, 0, 1);
    const fractions = ['sales', 'support', 'billing', 'ops'].map((name) => jitterFraction(name, at));
    assert.equal(new Set(fractions).size, 4);
    for (const fraction of fractions) assert.ok(fraction >= 0 && fraction < 1);
    assert.equal(jitterFraction('sales', at), fractions[0]);
  });

  test('the sweep does not retry permanent failures, and retries transient ones after the pause', async () => {
    const { clock, broker, grant } = await setup([ownApp('bad'), ownApp('flaky')]);
    broker.sweep();
    grant('bad').fail(new BrokerError('bad secret', { code: 'invalid_client', permanent: true }));
    grant('flaky').fail(new BrokerError('503', { code: 'authorization_server_error', permanent: false }));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(broker.sweep(), 0, 'inside the pause');
    clock.advance(120_000);
    assert.equal(broker.sweep(), 1);
    assert.equal(grant('bad').calls, 1);
    assert.equal(grant('flaky').calls, 2);
  });
});
