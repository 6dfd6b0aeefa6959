// Several broker instances on one store: withLock across instances (and its
// in-process queue), a dead holder's lock expiring, the bounded wait, and
// news of the others' writes (onForeignWrite), against a private
// redis-server; sqlite and memory keep an in-process lock and stay silent.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createClient } from '@keyv/redis';
import { openTokenStore } from '../../src/store/index.js';
import type { OpenTokenStoreOptions, TokenStore } from '../../src/store/index.js';
import { eventually, rejection } from '../support/assertions.js';
import { tempDir } from '../support/config-helpers.js';
import { captureLogs } from '../support/log-capture.js';
import { TestSecrets } from '../support/test-secrets.js';
import { redisServerBinary, startRedis } from '../support/redis.js';
import type { RedisServer } from '../support/redis.js';

// ---------------------------------------------------------------- helpers

const captured = captureLogs();
const logger = captured.logger;

/** Every secret handed to a store in this file. */
const testSecrets = new TestSecrets();
const secrets = testSecrets.values;
const secret = (prefix: string): string => testSecrets.make(prefix);
/** A shared token line's id, as tokenLineId makes them: its notices carry it where a mailbox's carry the name. */
const LINE = `app:${'ab'.repeat(16)}`;

async function writeKey(dir: string): Promise<string> {
  const file = join(dir, 'store.key');
  await writeFile(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  return file;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A promise the test resolves when it chooses. */
function gate(): { readonly opened: Promise<void>; open(): void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** Records the order in which work starts and ends. */
function journal(): { readonly entries: string[]; readonly work: <T>(label: string, body?: () => Promise<T>) => () => Promise<T | undefined> } {
  const entries: string[] = [];
  return {
    entries,
    work: <T>(label: string, body?: () => Promise<T>) => async () => {
      entries.push(`${label} start`);
      const result = body === undefined ? undefined : await body();
      entries.push(`${label} end`);
      return result;
    },
  };
}

// ---------------------------------------------------------------- sqlite and memory

for (const kind of ['memory', 'sqlite'] as const) {
  describe(`token store coordination on ${kind}: one instance per store`, () => {
    const open = async (): Promise<TokenStore> => {
      const dir = await tempDir('store-coordination-');
      const url = kind === 'memory' ? 'memory:' : `sqlite://${join(dir, 'tokens.sqlite')}`;
      return openTokenStore({ url, encryptionKeyFile: await writeKey(dir) }, { logger });
    };

    test('shared is false; withLock runs callers of one name one after the other, other names alongside', async () => {
      const store = await open();
      try {
        assert.equal(store.shared, false);
        const { entries, work } = journal();
        const first = gate();
        const one = store.withLock('sales', work('one', () => first.opened));
        const two = store.withLock('sales', work('two'));
        // Another name is not held up by `sales`.
        assert.equal(await store.withLock('support', () => Promise.resolve('other name')), 'other name');
        // No event says "did not start": give a wrongly started second caller a moment to show.
        await delay(50);
        assert.deepEqual(entries, ['one start'], 'the second caller waits for the first');
        first.open();
        await Promise.all([one, two]);
        assert.deepEqual(entries, ['one start', 'one end', 'two start', 'two end']);
      } finally {
        await store.close();
      }
    });

    test('a failing work passes its own error through and releases the lock', async () => {
      const store = await open();
      try {
        const failure = new Error('the work failed');
        await assert.rejects(
          store.withLock('sales', () => Promise.reject(failure)),
          (error) => error === failure,
        );
        // Bounded, so a lock never released fails this test instead of hanging it.
        const next = await Promise.race([store.withLock('sales', () => Promise.resolve('next')), delay(30_000).then(() => 'still locked')]);
        assert.equal(next, 'next');
      } finally {
        await store.close();
      }
    });

    test('onForeignWrite: never called, the unsubscribe function works', async () => {
      const store = await open();
      try {
        const heard: (string | undefined)[] = [];
        const unsubscribe = store.onForeignWrite((mailbox) => heard.push(mailbox));
        await store.putMailbox('sales', { fingerprint: 'x' });
        await store.deleteMailbox('sales');
        unsubscribe();
        unsubscribe();
        assert.deepEqual(heard, []);
      } finally {
        await store.close();
      }
    });
  });
}

// ---------------------------------------------------------------- redis

describe('token store coordination on redis: several instances', { skip: redisServerBinary.skip }, () => {
  let server: RedisServer;
  let raw: ReturnType<typeof createClient>;
  let keyFile: string;
  before(async () => {
    server = await startRedis();
    raw = createClient({ url: server.url });
    raw.on('error', () => undefined);
    await raw.connect();
    keyFile = await writeKey(await tempDir('store-coordination-'));
  });
  after(async () => {
    if (raw.isOpen) raw.destroy();
    await server.stop();
  });

  const open = (options: Partial<OpenTokenStoreOptions> = {}, url = server.url): Promise<TokenStore> =>
    openTokenStore({ url, encryptionKeyFile: keyFile }, { logger, ...options });
  const command = <T>(...args: string[]): Promise<T> => raw.sendCommand<T>(args);

  /**
   * Waits while `count` TTLs pass by redis' own clock, and fails if the lock
   * key expired meanwhile (a live holder renews it): the key's PTTL is read
   * until its drops add up to count x ttl and it rose (a renewal) `count` times.
   */
  const renewals = async (count: number, ttl: number): Promise<void> => {
    const key = 'token-broker:lock:sales';
    let last = await command<number>('PTTL', key);
    let passed = 0;
    let renewed = 0;
    while (passed < count * ttl || renewed < count) {
      // Samples redis' clock a few times per TTL: the condition is time passing there, which no event announces.
      await delay(Math.ceil(ttl / 5));
      const now = await command<number>('PTTL', key);
      assert.ok(now > 0, `the lock key expired (PTTL ${now}) after ${renewed} renewals: its holder did not renew it`);
      if (now > last) renewed++;
      else passed += last - now;
      last = now;
    }
  };

  test('shared is true; the lock is token-broker:lock:<name> with a random value and a TTL while held, gone after', async () => {
    const store = await open({ lockTtlMs: 5_000 });
    try {
      assert.equal(store.shared, true);
      const inside = await store.withLock('sales', async () => ({
        value: await command<string | null>('GET', 'token-broker:lock:sales'),
        ttl: await command<number>('PTTL', 'token-broker:lock:sales'),
      }));
      assert.match(inside.value ?? '', /^[0-9a-f]{32}$/);
      assert.ok(inside.ttl > 0 && inside.ttl <= 5_000, `PTTL ${inside.ttl}`);
      assert.equal(await command<number>('EXISTS', 'token-broker:lock:sales'), 0, 'released');
    } finally {
      await store.close();
    }
  });

  test('withLock across two instances: B starts only after A finished, though A held it for several TTLs (renewed)', async () => {
    // A TTL a busy machine's event loop does not outlast between two renewals.
    const ttl = 1_500;
    const [a, b] = await Promise.all([open({ lockTtlMs: ttl }), open({ lockTtlMs: ttl })]);
    try {
      const { entries, work } = journal();
      const release = gate();
      const started = gate();
      const one = a.withLock(
        'sales',
        work('A', async () => {
          started.open();
          await release.opened;
        }),
      );
      await started.opened;
      const held = await command<string | null>('GET', 'token-broker:lock:sales');
      const two = b.withLock('sales', work('B'));
      // Three TTLs pass: without renewal the key would have expired and B would have started.
      await renewals(3, ttl);
      assert.deepEqual(entries, ['A start']);
      assert.equal(await command<string | null>('GET', 'token-broker:lock:sales'), held, 'still A’s lock');
      release.open();
      await Promise.all([one, two]);
      assert.deepEqual(entries, ['A start', 'A end', 'B start', 'B end']);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test('many callers on two instances: never two inside at once, every one runs', async () => {
    const [a, b] = await Promise.all([open(), open()]);
    try {
      let inside = 0;
      let most = 0;
      let runs = 0;
      const work = async (): Promise<void> => {
        inside++;
        most = Math.max(most, inside);
        await delay(10);
        runs++;
        inside--;
      };
      await Promise.all(Array.from({ length: 12 }, (_, index) => (index % 2 === 0 ? a : b).withLock('sales', work)));
      assert.equal(runs, 12);
      assert.equal(most, 1);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test('callers in one process queue there: only the first polls redis, the next ones take it with one SET each', async () => {
    const store = await open();
    try {
      await command('CONFIG', 'RESETSTAT');
      const setCalls = async (): Promise<number> => {
        const info = await command<string>('INFO', 'commandstats');
        return Number(/cmdstat_set:calls=(\d+)/.exec(info)?.[1] ?? 0);
      };
      // Held by "another instance" until the test deletes the key.
      await command('SET', 'token-broker:lock:sales', 'someone-else');
      let inside = 0;
      const work = async (): Promise<void> => {
        inside++;
        assert.equal(inside, 1);
        // Longer than the longest pause between polls: a caller that polled while waiting would show up in the count.
        await delay(400);
        inside--;
      };
      const callers = [store.withLock('sales', work), store.withLock('sales', work), store.withLock('sales', work)];
      await eventually(async () => assert.ok((await setCalls()) >= 4, 'the first caller polls'));
      const before = await setCalls();
      await command('DEL', 'token-broker:lock:sales');
      await Promise.all(callers);
      // The first caller: the one that takes it, and perhaps one already on its way when the key went; the two others: one each.
      // Had they polled too, each would have polled again during every 400 ms work before its own.
      const after = (await setCalls()) - before;
      assert.ok(after <= 4, `${after} SETs after the key was deleted`);
    } finally {
      await store.close();
    }
  });

  test('a failing work passes its own error through and releases the lock at once', async () => {
    const [a, b] = await Promise.all([open(), open({ lockWaitMs: 1_000 })]);
    try {
      const failure = new Error('the work failed');
      await assert.rejects(
        a.withLock('sales', () => Promise.reject(failure)),
        (error) => error === failure,
      );
      assert.equal(await command<number>('EXISTS', 'token-broker:lock:sales'), 0);
      // B waits 1 s at most, far less than the 10 s TTL: it gets the lock only because A gave it back.
      assert.equal(await b.withLock('sales', () => Promise.resolve('B ran')), 'B ran');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test('a lock whose holder vanished is taken once its TTL runs out', async () => {
    const store = await open({ lockWaitMs: 10_000 });
    try {
      await command('SET', 'token-broker:lock:sales', 'vanished-holder', 'PX', '600');
      const seen = await store.withLock('sales', () => command<string | null>('GET', 'token-broker:lock:sales'));
      assert.notEqual(seen, 'vanished-holder');
      assert.match(seen ?? '', /^[0-9a-f]{32}$/);
    } finally {
      await store.close();
    }
  });

  test('a holder killed with SIGKILL: its lock stays while it lives (renewed), and is free within a TTL of its death', async () => {
    const holderScript = new URL('../support/lock-holder.js', import.meta.url);
    // A TTL a busy machine's child process does not outlast between two renewals.
    const ttl = 1_500;
    const child = spawn(process.execPath, [holderScript.pathname, server.url, keyFile, 'sales', String(ttl)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const store = await open({ lockWaitMs: 10_000 });
    try {
      await eventually(() => assert.ok(output.includes('held'), `the holder did not take the lock: ${output}`));
      const holders = await command<string | null>('GET', 'token-broker:lock:sales');
      assert.match(holders ?? '', /^[0-9a-f]{32}$/);
      await renewals(3, ttl);
      assert.equal(await command<string | null>('GET', 'token-broker:lock:sales'), holders, 'a live holder keeps it past its TTL');
      child.kill('SIGKILL');
      await exited;
      const seen = await store.withLock('sales', () => command<string | null>('GET', 'token-broker:lock:sales'));
      assert.notEqual(seen, holders);
      assert.match(seen ?? '', /^[0-9a-f]{32}$/);
    } finally {
      child.kill('SIGKILL');
      await store.close();
    }
  });

  test('a lock held for longer than the wait: store_unavailable naming the lock, the store and what to check; the work never runs', async () => {
    const [a, b] = await Promise.all([open(), open({ lockWaitMs: 400 })]);
    try {
      const release = gate();
      const started = gate();
      const one = a.withLock('sales', async () => {
        started.open();
        await release.opened;
      });
      await started.opened;
      let ran = false;
      const error = await rejection(b.withLock('sales', () => Promise.resolve((ran = true))));
      assert.equal(ran, false);
      assert.equal(error.code, 'store_unavailable');
      assert.equal(error.permanent, false);
      assert.equal(
        error.describe(),
        `token store ${server.url} is unavailable: cannot take the lock sales (another holder kept it for the whole 400 ms waited; redis key token-broker:lock:sales). ` +
          'Check the other broker instances sharing this store: a live holder keeps the lock for as long as its work runs, so look for one stuck in that work; ' +
          'a holder that died lets it go within 10 s. If no broker instance is running, delete redis key token-broker:lock:sales by hand.',
      );
      release.open();
      await one;
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test('the wait is bounded for callers queued in the same process too; those behind them are not disturbed', async () => {
    const store = await open({ lockWaitMs: 400 });
    try {
      const release = gate();
      const started = gate();
      const { entries, work } = journal();
      const one = store.withLock(
        'sales',
        work('one', async () => {
          started.open();
          await release.opened;
        }),
      );
      await started.opened;
      const error = await rejection(store.withLock('sales', work('two')));
      assert.equal(error.code, 'store_unavailable');
      assert.match(error.message, /cannot take the lock sales \(another holder kept it for the whole 400 ms waited; redis key token-broker:lock:sales\)/);
      const three = store.withLock('sales', work('three'));
      release.open();
      await Promise.all([one, three]);
      assert.deepEqual(entries, ['one start', 'one end', 'three start', 'three end']);
    } finally {
      await store.close();
    }
  });

  test('onForeignWrite: B hears of A’s putMailbox, deleteMailbox, putLine and deleteLine (under the line id), never of its own writes nor of pending authorizations; unsubscribe stops it', async () => {
    const [a, b] = await Promise.all([open(), open()]);
    try {
      const heardByB: (string | undefined)[] = [];
      const alsoHeardByB: (string | undefined)[] = [];
      const heardByA: (string | undefined)[] = [];
      const unsubscribe = b.onForeignWrite((mailbox) => heardByB.push(mailbox));
      b.onForeignWrite((mailbox) => alsoHeardByB.push(mailbox));
      a.onForeignWrite((mailbox) => heardByA.push(mailbox));
      // The subscriptions are made in the background: write until both have been heard.
      await eventually(async () => {
        await a.putMailbox('warm-up', { fingerprint: 'w' });
        await b.putMailbox('warm-up', { fingerprint: 'w' });
        assert.ok(heardByB.includes('warm-up') && heardByA.includes('warm-up'));
      });
      // Late warm-up notices may still arrive: left out of what is compared below.
      const after = (heard: (string | undefined)[]): (string | undefined)[] => heard.filter((mailbox) => mailbox !== 'warm-up');

      await b.putMailbox('own', { fingerprint: 'b' });
      await a.putPendingAuthorization('pending', { state: 's', codeVerifier: 'v', redirectUri: 'http://localhost:8400/callback', expiresAt: Date.now() + 60_000 });
      await a.putMailbox('sales', { fingerprint: 'a' });
      await a.deleteMailbox('gone');
      await a.putLine(LINE, { fingerprint: 'app' });
      await a.deleteLine(LINE);
      await eventually(() => assert.deepEqual(after(heardByB), ['sales', 'gone', LINE, LINE]));
      assert.deepEqual(after(heardByA), ['own'], 'A hears B’s write, not its own');

      unsubscribe();
      await a.putMailbox('later', { fingerprint: 'a' });
      await eventually(() => assert.deepEqual(after(alsoHeardByB), ['sales', 'gone', LINE, LINE, 'later']));
      assert.deepEqual(after(heardByB), ['sales', 'gone', LINE, LINE], 'nothing after unsubscribing');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test('a write notice carries the writer’s id and the mailbox name, never a token; a listener that throws does not silence the others', async () => {
    const subscriber = raw.duplicate();
    subscriber.on('error', () => undefined);
    await subscriber.connect();
    const [a, b] = await Promise.all([open(), open()]);
    try {
      const messages: string[] = [];
      await subscriber.subscribe('token-broker:written:0', (message) => messages.push(message));
      const heard: (string | undefined)[] = [];
      b.onForeignWrite(() => {
        throw new Error('a listener bug');
      });
      b.onForeignWrite((mailbox) => heard.push(mailbox));
      const refreshToken = secret('RT');
      const accessToken = secret('AT');
      await eventually(async () => {
        await a.putMailbox('sales', {
          fingerprint: 'f',
          refreshToken,
          token: { accessToken, tokenType: 'Bearer', expiresAt: Date.now() + 3_600_000, obtainedAt: Date.now(), scopes: [] },
        });
        assert.ok(heard.includes('sales'));
      });
      // The test's own subscriber hears the notice on a connection of its own: wait for it there too.
      const raw = await eventually(() => {
        const found = messages.find((message) => message.includes('"sales"'));
        assert.ok(found !== undefined, 'the test subscriber heard no notice of sales');
        return found;
      });
      const notice = JSON.parse(raw) as Record<string, unknown>;
      assert.deepEqual(Object.keys(notice).sort(), ['from', 'mailbox']);
      assert.equal(notice.mailbox, 'sales');
      assert.match(String(notice.from), /^[0-9a-f]{24}$/);
      for (const message of messages) assert.ok(!message.includes(refreshToken) && !message.includes(accessToken), 'no token in a notice');
      assert.ok(captured.text().includes(`token store ${server.url}: a listener for other instances' writes failed on mailbox sales`));
    } finally {
      subscriber.destroy();
      await Promise.all([a.close(), b.close()]);
    }
  });

  test('redis restarting: locks fail as store_unavailable while it is down; notices flow again after, the outage logged once', async () => {
    const own = await startRedis();
    const [a, b] = await Promise.all([open({}, own.url), open({}, own.url)]);
    try {
      const heard: (string | undefined)[] = [];
      b.onForeignWrite((mailbox) => heard.push(mailbox));
      await eventually(async () => {
        await a.putMailbox('before', { fingerprint: 'x' });
        assert.ok(heard.includes('before'));
      });
      await own.kill();
      let ran = false;
      const error = await rejection(a.withLock('sales', () => Promise.resolve((ran = true))));
      assert.equal(ran, false);
      assert.equal(error.code, 'store_unavailable');
      assert.match(
        error.describe(),
        new RegExp(
          `^token store ${own.url} is unavailable: cannot take the lock sales \\(.+\\)\\. Check that redis is running and reachable from this host, and the credentials in store\\.url\\.$`,
        ),
      );
      await delay(500); // several reconnection attempts of the listening connection
      await own.start();
      await eventually(async () => {
        await a.putMailbox('after', { fingerprint: 'y' });
        assert.ok(heard.includes('after'));
      }, 20_000);
      assert.ok(heard.includes(undefined), 'listeners are told that notices may have been missed while it was down');
      assert.equal(await a.withLock('sales', () => Promise.resolve('locks work again')), 'locks work again');
      const down = `token store ${own.url}: the connection that hears of other instances' writes is down`;
      assert.equal(captured.text().split(down).length - 1, 1, 'the listening connection’s outage is logged once');
      assert.ok(captured.text().includes(`token store ${own.url}: hearing of other instances' writes again`));
    } finally {
      await Promise.all([a.close(), b.close()]);
      await own.stop();
    }
  });

  test('close() leaves nothing running: no socket, no timer', async () => {
    // Sockets and timers: what would keep the process from exiting (file reads of the test runner come and go).
    const resources = (): string[] =>
      process
        .getActiveResourcesInfo()
        .filter((kind) => /^(TCP|TLS|Timeout|Immediate)/.test(kind))
        .sort();
    /** The entries of `now` that `before` does not account for (a multiset difference). */
    const beyond = (now: string[], before: string[]): string[] => {
      const left = [...before];
      return now.filter((kind) => {
        const index = left.indexOf(kind);
        if (index < 0) return true;
        left.splice(index, 1);
        return false;
      });
    };
    const baseline = resources();
    const [a, b] = await Promise.all([open({ lockTtlMs: 300 }), open({ lockTtlMs: 300 })]);
    const heard: (string | undefined)[] = [];
    b.onForeignWrite((mailbox) => heard.push(mailbox));
    a.onForeignWrite(() => undefined);
    await eventually(async () => {
      await a.putMailbox('sales', { fingerprint: 'x' });
      assert.ok(heard.includes('sales'));
    });
    await a.withLock('sales', () => delay(400));
    await Promise.all([a.close(), b.close()]);
    // Sockets finish closing on a later turn of the event loop. Timers of earlier tests may end meanwhile:
    // what counts is that nothing is left beyond what ran before these stores opened.
    await eventually(() => assert.deepEqual(beyond(resources(), baseline), []));
    assert.equal(a.onForeignWrite(() => undefined)(), undefined, 'subscribing after close opens nothing');
    assert.deepEqual(beyond(resources(), baseline), []);
  });

  test('no store logged a token', () => {
    for (const value of secrets) assert.equal(captured.text().includes(value), false);
  });
});
