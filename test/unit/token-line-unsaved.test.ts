// A record the store refused (a failed batch) is not dropped: the next sweep
// writes the newest record again. Its token is served meanwhile when nothing
// durable is at stake (no new refresh token came with it, as with client
// credentials); a rotated refresh token is another matter
// (token-line-store-failure.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TokenBroker } from '../../src/broker/index.js';
import { BrokerError } from '../../src/errors/index.js';
import { HttpTransport } from '../../src/http/index.js';
import { silentLogger } from '../../src/logging/index.js';
import type { MailboxRecord } from '../../src/store/index.js';
import { ManualClock } from '../../src/time/index.js';
import { eventually } from '../support/assertions.js';
import { memoryStore, testMailbox } from '../support/mailbox.js';
import { ScriptedGrant } from '../support/scripted-grant.js';

const HOUR = 3_600_000;

test('a write the store refused is written again at the next sweep, the newest record only', async () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const inner = await memoryStore();
  let down = true;
  const refused: string[] = [];
  // The store as the broker sees it: putMailbox fails like a failed batch while `down`.
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      if (property === 'putMailbox') {
        return (mailbox: string, record: MailboxRecord): Promise<void> => {
          if (!down) return target.putMailbox(mailbox, record);
          refused.push(record.token?.accessToken ?? '');
          return Promise.reject(new BrokerError(`token store memory: is unavailable: cannot write the record of mailbox ${mailbox} (test).`, { code: 'store_unavailable', mailbox }));
        };
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  let grant: ScriptedGrant | undefined;
  const broker = new TokenBroker({
    mailboxes: [testMailbox({ name: 'user', grantType: 'authorization-code' })],
    refresh: { leadTimeSeconds: 300, maxConcurrentPerServer: 4, sweepIntervalSeconds: 10, idleAfterHours: 24, keepAliveDays: 7 },
    clock,
    logger: silentLogger(),
    dependencies: { transport: new HttpTransport(), clock, logger: silentLogger() },
    store,
    grantFactory: () => (grant = new ScriptedGrant(false)),
  });
  await broker.restore();
  // Tokens without a refresh token: nothing that only this process knows is lost if the record never lands.
  const first = broker.getToken('user');
  grant?.succeed('tok-1', clock.now() + HOUR);
  assert.equal((await first).accessToken, 'tok-1', 'served although the store refused it');
  const second = broker.reportRejected('user', 'tok-1', 'test');
  grant?.succeed('tok-2', clock.now() + HOUR);
  assert.equal((await second).accessToken, 'tok-2');
  assert.deepEqual(refused, ['tok-1', 'tok-2']);
  assert.equal(await inner.getMailbox('user'), undefined);

  broker.sweep();
  await eventually(() => assert.deepEqual(refused, ['tok-1', 'tok-2', 'tok-2'], 'the sweep tried the newest record again'));
  down = false;
  broker.sweep();
  const saved = await eventually(async () => {
    const record = await inner.getMailbox('user');
    assert.ok(record);
    return record;
  });
  assert.equal(saved.token?.accessToken, 'tok-2', 'the newest record reached the store');
});
