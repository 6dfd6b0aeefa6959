// The store health monitor over a fake store: each change reported and
// logged once, probes joined, timed by mocked timers, woken by a failed
// store operation, and silent after stop.
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { StoreHealthMonitor } from '../../src/daemon/store-health.js';
import { BrokerError } from '../../src/errors/index.js';
import { createLogger } from '../../src/logging/index.js';

const STORE = 'redis://127.0.0.1:6390/0';
const HINT = 'Check that redis is running and reachable from this host, and the credentials in store.url.';

function unavailable(): BrokerError {
  return new BrokerError(`token store ${STORE} is unavailable: cannot complete a health check (connect ECONNREFUSED 127.0.0.1:6390).`, {
    code: 'store_unavailable',
    remediation: HINT,
  });
}

/** A store whose probe answers as the test says, and whose failures of real operations the test raises. */
class FakeStore {
  readonly description = STORE;
  probes = 0;
  /** What the next probes do: answer, fail, or wait for the test. */
  mode: 'up' | 'down' | 'hold' = 'up';
  #held: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  readonly #listeners = new Set<(error: BrokerError) => void>();

  probe(): Promise<void> {
    this.probes++;
    if (this.mode === 'up') return Promise.resolve();
    if (this.mode === 'down') return Promise.reject(unavailable());
    return new Promise((resolve, reject) => this.#held.push({ resolve, reject }));
  }

  /** Ends the held probes: answered, or failed. */
  release(up: boolean): void {
    for (const held of this.#held.splice(0)) {
      if (up) held.resolve();
      else held.reject(unavailable());
    }
  }

  onUnavailable(listener: (error: BrokerError) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get listeners(): number {
    return this.#listeners.size;
  }

  /** A caller's read or write failed. */
  operationFailed(): void {
    for (const listener of this.#listeners) listener(unavailable());
  }
}

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly store?: string;
  readonly code?: string;
}

function harness(intervalMs = 1_000): { store: FakeStore; monitor: StoreHealthMonitor; changes: boolean[]; logs: () => LogLine[] } {
  let text = '';
  const logger = createLogger(
    'debug',
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString();
        done();
      },
    }),
  );
  const store = new FakeStore();
  const changes: boolean[] = [];
  const monitor = new StoreHealthMonitor({ store, logger, intervalMs, onChange: (available) => changes.push(available) });
  const logs = (): LogLine[] =>
    text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as LogLine);
  return { store, monitor, changes, logs };
}

/** Lets settled promises run their callbacks (the probe's, then the monitor's). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

describe('StoreHealthMonitor', () => {
  test('each change is reported and logged once: a warning naming the store and the hint, then an info line', async () => {
    const { store, monitor, changes, logs } = harness();
    assert.equal(monitor.available, true, 'the store was proven writable when opened');
    assert.equal(await monitor.check(), true);
    assert.deepEqual(changes, [], 'no change, no report');
    assert.deepEqual(logs(), []);

    store.mode = 'down';
    assert.equal(await monitor.check(), false);
    assert.equal(await monitor.check(), false);
    assert.equal(await monitor.check(), false);
    assert.equal(monitor.available, false);
    assert.deepEqual(changes, [false]);

    store.mode = 'up';
    assert.equal(await monitor.check(), true);
    assert.equal(await monitor.check(), true);
    assert.deepEqual(changes, [false, true]);
    assert.equal(monitor.available, true);

    const lines = logs();
    assert.equal(lines.length, 2, JSON.stringify(lines));
    const [lost, back] = lines;
    assert.equal(lost?.level, 40);
    assert.equal(lost?.store, STORE);
    assert.equal(lost?.code, 'store_unavailable');
    assert.equal(
      lost?.msg,
      `token store ${STORE} is unavailable: cannot complete a health check (connect ECONNREFUSED 127.0.0.1:6390). ${HINT} ` +
        'grpc.health.v1 reports NOT_SERVING until it answers again; tokens still valid are served meanwhile.',
    );
    assert.equal(back?.level, 30);
    assert.equal(back?.store, STORE);
    assert.equal(back?.msg, `token store ${STORE} answers again; grpc.health.v1 reports SERVING`);
  });

  test('a check while a probe is in flight joins it', async () => {
    const { store, monitor, changes } = harness();
    store.mode = 'hold';
    const first = monitor.check();
    const second = monitor.check();
    assert.equal(store.probes, 1);
    store.release(false);
    assert.deepEqual(await Promise.all([first, second]), [false, false]);
    assert.deepEqual(changes, [false]);
    store.mode = 'up';
    assert.equal(await monitor.check(), true, 'a check after the joined one ends probes again');
    assert.equal(store.probes, 2);
  });

  describe('timed', () => {
    beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
    afterEach(() => mock.timers.reset());

    test('probes every interval, counted from the end of the previous probe', async () => {
      const { store, monitor, changes } = harness(1_000);
      monitor.start();
      mock.timers.tick(999);
      assert.equal(store.probes, 0);
      mock.timers.tick(1);
      assert.equal(store.probes, 1);
      await settle();

      // A probe that hangs (a redis that accepts but never answers) is not overlapped by the next.
      store.mode = 'hold';
      mock.timers.tick(1_000);
      assert.equal(store.probes, 2);
      mock.timers.tick(5_000);
      assert.equal(store.probes, 2, 'no second probe while one is in flight');
      store.release(false);
      await settle();
      assert.deepEqual(changes, [false]);
      store.mode = 'up';
      mock.timers.tick(999);
      assert.equal(store.probes, 2);
      mock.timers.tick(1);
      assert.equal(store.probes, 3);
      await settle();
      assert.deepEqual(changes, [false, true]);
      monitor.stop();
    });

    test('a failed store operation probes at once while the store is thought up; not while it is known down', async () => {
      const { store, monitor, changes } = harness(60_000);
      monitor.start();
      store.mode = 'down';
      store.operationFailed();
      assert.equal(store.probes, 1, 'probed without waiting for the interval');
      await settle();
      assert.deepEqual(changes, [false]);
      store.operationFailed();
      store.operationFailed();
      assert.equal(store.probes, 1, 'known down: the timed probe notices it back');
      mock.timers.tick(60_000);
      assert.equal(store.probes, 2);
      monitor.stop();
    });

    test('a slow operation that failed once does not flip health when the probe answers', async () => {
      const { store, monitor, changes } = harness(60_000);
      monitor.start();
      store.operationFailed();
      assert.equal(store.probes, 1);
      await settle();
      assert.deepEqual(changes, [], 'the probe answered: still SERVING');
      monitor.stop();
    });

    test('after stop: no probe, no report, even from a probe in flight; failures are no longer heard', async () => {
      const { store, monitor, changes, logs } = harness(1_000);
      monitor.start();
      assert.equal(store.listeners, 1);
      store.mode = 'hold';
      mock.timers.tick(1_000);
      assert.equal(store.probes, 1);
      monitor.stop();
      assert.equal(store.listeners, 0);
      store.release(false);
      await settle();
      assert.deepEqual(changes, [], 'a late probe does not undo NOT_SERVING of the shutdown');
      assert.deepEqual(logs(), []);
      mock.timers.tick(10_000);
      assert.equal(store.probes, 1);
    });
  });
});
