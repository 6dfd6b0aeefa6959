// The write batcher against a scripted backend: group commit, latest value
// per key, bounded retries of failures that may pass, and a late write that
// no later batch may overtake.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BackendFailure } from '../../src/store/backend-failure.js';
import type { BackendEntry } from '../../src/store/keyv-backend.js';
import { WriteBatcher } from '../../src/store/write-batcher.js';
import type { CommittedBatch } from '../../src/store/write-batcher.js';

interface Call {
  readonly sets: readonly BackendEntry[];
  readonly deletes: readonly string[];
}

function scripted(answer: (call: Call, index: number) => Promise<void>): { calls: Call[]; backend: { writeMany: (sets: readonly BackendEntry[], deletes: readonly string[]) => Promise<void> } } {
  const calls: Call[] = [];
  return { calls, backend: { writeMany: (sets, deletes) => answer({ sets, deletes }, calls.push({ sets: [...sets], deletes: [...deletes] }) - 1) } };
}

test('writes issued together: one batch while the first commits, the latest value per key, every caller settled', async () => {
  const { calls, backend } = scripted(() => new Promise((resolve) => setImmediate(resolve)));
  const batches: CommittedBatch[] = [];
  const batcher = new WriteBatcher({ backend, operationTimeoutMs: 10_000, onBatch: (batch) => batches.push(batch) });
  const writes = [batcher.write('a', '1'), batcher.write('b', '1'), batcher.write('a', '2'), batcher.write('c', undefined), batcher.write('a', '3')];
  await Promise.all(writes);
  assert.equal(calls.length, 1);
  assert.deepEqual(calls[0], { sets: [{ key: 'a', value: '3', ttlMs: undefined }, { key: 'b', value: '1', ttlMs: undefined }], deletes: ['c'] });
  assert.deepEqual(batches, [{ writes: 2, deletes: 1, callers: 5, attempts: 1 }]);
});

test('a write issued while a batch commits goes in the next one; maxBatch splits a long queue', async () => {
  let release: () => void = () => undefined;
  const { calls, backend } = scripted((_, index) => (index === 0 ? new Promise<void>((resolve) => (release = resolve)) : Promise.resolve()));
  const batcher = new WriteBatcher({ backend, operationTimeoutMs: 10_000, maxBatch: 2 });
  const first = batcher.write('a', '1');
  // The batcher starts a batch in a microtask: by the next turn of the event loop it is committing.
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(calls.length, 1, 'the first batch is committing');
  const later = ['b', 'c', 'd'].map((key) => batcher.write(key, '1'));
  assert.equal(calls.length, 1, 'nothing else is written while the first batch commits');
  release();
  await Promise.all([first, ...later]);
  assert.deepEqual(
    calls.map((call) => call.sets.map((entry) => entry.key)),
    [['a'], ['b', 'c'], ['d']],
  );
});

test('SQLITE_BUSY twice, then committed: the callers never see it', async () => {
  const { calls, backend } = scripted((_, index) => (index < 2 ? Promise.reject(new BackendFailure('SQLITE_BUSY: database is locked')) : Promise.resolve()));
  const batches: CommittedBatch[] = [];
  const batcher = new WriteBatcher({ backend, operationTimeoutMs: 10_000, onBatch: (batch) => batches.push(batch) });
  await batcher.write('a', '1');
  assert.equal(calls.length, 3);
  assert.equal(batches[0]?.attempts, 3);
});

test('a failure that does not pass by itself fails every caller of the batch at once, with one error', async () => {
  const failure = new BackendFailure('SQLITE_READONLY: attempt to write a readonly database');
  const { calls, backend } = scripted(() => Promise.reject(failure));
  const batcher = new WriteBatcher({ backend, operationTimeoutMs: 10_000 });
  const outcomes = await Promise.allSettled([batcher.write('a', '1'), batcher.write('b', '1'), batcher.write('a', '2')]);
  assert.equal(calls.length, 1, 'not retried');
  for (const outcome of outcomes) {
    assert.equal(outcome.status, 'rejected');
    assert.equal(outcome.reason, failure);
  }
});

test('a transient failure that persists: 3 attempts, then every caller fails', async () => {
  const { calls, backend } = scripted(() => Promise.reject(new BackendFailure('connect ECONNREFUSED 127.0.0.1:6379')));
  const batcher = new WriteBatcher({ backend, operationTimeoutMs: 10_000 });
  const error = await batcher.write('a', '1').then(
    () => assert.fail('resolved'),
    (failure: unknown) => failure,
  );
  assert.ok(error instanceof BackendFailure);
  assert.equal(error.reason, 'connect ECONNREFUSED 127.0.0.1:6379');
  assert.equal(calls.length, 3);
});

test('a write with no answer fails its callers at the timeout, and the next batch waits until it has ended', async () => {
  let release: () => void = () => undefined;
  const { calls, backend } = scripted((_, index) => (index === 0 ? new Promise<void>((resolve) => (release = resolve)) : Promise.resolve()));
  const late: number[] = [];
  const batcher = new WriteBatcher({ backend, operationTimeoutMs: 50, onLateWrite: (waited) => late.push(waited) });
  const stuck = batcher.write('sales', 'old refresh token');
  await assert.rejects(stuck, (error: unknown) => error instanceof BackendFailure && error.reason === 'no answer within 50 ms');
  assert.equal(late.length, 1);
  const newer = batcher.write('sales', 'new refresh token');
  // No event says "was not written": a batch that wrongly went ahead gets a moment to show.
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(calls.length, 1, 'the newer record is not written while the old write may still land');
  release();
  await newer;
  assert.equal(calls.length, 2);
  assert.equal(calls[1]?.sets[0]?.value, 'new refresh token');
});

test('writes queued behind a stuck write fail at their own deadline', async () => {
  let release: () => void = () => undefined;
  const { calls, backend } = scripted((_, index) => (index === 0 ? new Promise<void>((resolve) => (release = resolve)) : Promise.resolve()));
  const batcher = new WriteBatcher({ backend, operationTimeoutMs: 40 });
  const stuck = assert.rejects(batcher.write('a', '1'));
  // The batcher starts a batch in a microtask: by the next turn of the event loop it is committing.
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(calls.length, 1, 'the first batch is committing');
  const queued = assert.rejects(batcher.write('b', '1'), (error: unknown) => error instanceof BackendFailure && error.reason === 'no answer within 40 ms');
  await stuck;
  await queued;
  release();
  await batcher.flush();
});
