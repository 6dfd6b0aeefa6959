// The per-server cap on token requests in flight.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConcurrencyLimit } from '../../src/broker/concurrency-limit.js';

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } {
  let resolve = (): void => undefined;
  let reject = (_error: Error): void => undefined;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('ConcurrencyLimit', () => {
  test('never runs more than the limit, and starts the next in arrival order', async () => {
    const limit = new ConcurrencyLimit(2);
    const gates = Array.from({ length: 5 }, deferred);
    const started: number[] = [];
    const runs = gates.map((gate, index) =>
      limit.run(async () => {
        started.push(index);
        await gate.promise;
        return index;
      }),
    );
    await tick();
    assert.deepEqual(started, [0, 1]);
    assert.equal(limit.active, 2);
    assert.equal(limit.queued, 3);
    gates[1]?.resolve();
    await tick();
    assert.deepEqual(started, [0, 1, 2]);
    assert.equal(limit.active, 2);
    for (const gate of gates) gate.resolve();
    assert.deepEqual(await Promise.all(runs), [0, 1, 2, 3, 4]);
    assert.equal(limit.active, 0);
    assert.equal(limit.queued, 0);
  });

  test('a failing task frees its place and passes its error on', async () => {
    const limit = new ConcurrencyLimit(1);
    const failing = limit.run(() => Promise.reject(new Error('boom')));
    const next = limit.run(() => Promise.resolve('next'));
    await assert.rejects(failing, /boom/);
    assert.equal(await next, 'next');
    assert.equal(limit.active, 0);
  });

  test('refuses a limit below 1', () => {
    assert.throws(() => new ConcurrencyLimit(0), /positive integer/);
  });
});
