// grpc.health.v1 follows the token store: the real `token-broker serve` on a
// private redis-server (killed, then started again) and on a SQLite file
// whose folder is removed; connectors keep their cached tokens meanwhile.
// Also: a store unreachable at start, and the server's own rule that health
// stays NOT_SERVING from stop on.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { credentials, makeClientConstructor } from '@grpc/grpc-js';
import type { Client, ClientReadableStream } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { TokenBroker } from '../../src/broker/index.js';
import { TokenBrokerClient } from '../../src/client/index.js';
import { HttpTransport } from '../../src/http/index.js';
import { silentLogger } from '../../src/logging/index.js';
import { startSandbox } from '../../src/sandbox/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { BrokerGrpcServer } from '../../src/server/index.js';
import { systemClock } from '../../src/time/index.js';
import { eventually } from '../support/assertions.js';
import { clientCredentialsMailbox, sandboxBrokerConfig } from '../support/broker-environment.js';
import { healthCheck, runCli, startDaemonProcess } from '../support/daemon-process.js';
import type { DaemonProcess } from '../support/daemon-process.js';
import { memoryStore } from '../support/mailbox.js';
import { freePort } from '../support/ports.js';
import { redisServerBinary, startRedis } from '../support/redis.js';
import type { RedisServer } from '../support/redis.js';

const TENANT = randomUUID();
const APP = randomUUID();
const SECRET = `app-secret-${randomUUID()}`;
const SERVICES = ['', 'tokenbroker.v1.TokenBroker', 'tokenbroker.v1.BrokerAdmin'] as const;
const PROBE_INTERVAL_MS = 200;
const LOST = 'grpc.health.v1 reports NOT_SERVING until it answers again';
const BACK = 'answers again; grpc.health.v1 reports SERVING';

interface Harness {
  readonly directory: string;
  readonly address: string;
  readonly configFile: string;
}

async function newHarness(prefix: string, sandbox: Sandbox, storeUrl: string): Promise<Harness> {
  const directory = await mkdtemp(path.join(tmpdir(), prefix));
  const harness = { directory, address: `unix://${path.join(directory, 'broker.sock')}`, configFile: path.join(directory, 'broker.yaml') };
  await writeFile(path.join(directory, 'ca.pem'), sandbox.caCertificatePem);
  await writeFile(path.join(directory, 'store.key'), `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  await writeFile(
    harness.configFile,
    sandboxBrokerConfig(harness.address, sandbox.url, storeUrl, clientCredentialsMailbox('app-imap', TENANT, APP, SECRET)),
  );
  return harness;
}

function startBroker(harness: Harness): Promise<DaemonProcess> {
  return startDaemonProcess(harness.configFile, harness.address, { TOKEN_BROKER_STORE_PROBE_INTERVAL_MS: String(PROBE_INTERVAL_MS) });
}

/** Every health service name's status, e.g. ['SERVING', 'SERVING', 'SERVING']. */
async function statuses(address: string): Promise<string[]> {
  return Promise.all(SERVICES.map((service) => healthCheck(address, service)));
}

/** Polls until every service reports `expected`; fails with the last answer if it never does. */
async function waitForHealth(address: string, expected: 'SERVING' | 'NOT_SERVING'): Promise<void> {
  await eventually(async () => {
    const last = await statuses(address);
    assert.ok(last.every((status) => status === expected), `health did not become ${expected}; last: ${JSON.stringify(last)}`);
  });
}

/** Log lines (JSON) whose message contains `text`. */
function logLines(daemon: DaemonProcess, text: string): { level: number; msg: string; store?: string }[] {
  return daemon
    .stderr()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: number; msg: string; store?: string })
    .filter((line) => line.msg.includes(text));
}

describe('grpc.health.v1 follows the token store', () => {
  let sandbox: Sandbox;

  before(async () => {
    sandbox = await startSandbox();
    sandbox.registerApplication({ tenantId: TENANT, clientId: APP, clientSecret: SECRET });
  });

  after(async () => {
    await sandbox?.close();
  });

  describe('on Redis', { skip: redisServerBinary.skip }, () => {
    let redis: RedisServer;
    let harness: Harness;
    let daemon: DaemonProcess | undefined;
    let client: TokenBrokerClient | undefined;

    before(async () => {
      redis = await startRedis();
      harness = await newHarness('tb-health-redis-', sandbox, redis.url);
    });

    after(async () => {
      client?.close();
      await daemon?.stop();
      await redis?.stop();
      await rm(harness.directory, { recursive: true, force: true });
    });

    test('redis killed: NOT_SERVING while cached tokens are still served; redis back: SERVING; one log line each way', async () => {
      daemon = await startBroker(harness);
      client = new TokenBrokerClient({ address: harness.address });
      assert.deepEqual(await statuses(harness.address), ['SERVING', 'SERVING', 'SERVING']);
      const token = (await client.getToken('app-imap')).accessToken;

      await redis.kill();
      await waitForHealth(harness.address, 'NOT_SERVING');
      // Several probes fail while it is down: health stays NOT_SERVING, and the loss is logged once.
      const probesLater = Date.now() + 5 * PROBE_INTERVAL_MS;
      while (Date.now() < probesLater) assert.deepEqual(await statuses(harness.address), ['NOT_SERVING', 'NOT_SERVING', 'NOT_SERVING']);
      sandbox.stats.reset();
      const cached = await client.getToken('app-imap');
      assert.equal(cached.accessToken, token, 'the cached token is served while the store is down');
      assert.equal(sandbox.stats.total, 0, 'no token request');

      await redis.start();
      await waitForHealth(harness.address, 'SERVING');
      assert.equal((await client.getToken('app-imap')).accessToken, token);

      const lost = logLines(daemon, LOST);
      assert.equal(lost.length, 1, daemon.stderr());
      assert.equal(lost[0]?.level, 40);
      assert.equal(lost[0]?.store, redis.url);
      assert.match(lost[0]?.msg ?? '', new RegExp(`^token store ${redis.url.replace(/[./]/g, '\\$&')} is unavailable: cannot complete a health check \\(.+\\)\\. `));
      assert.match(lost[0]?.msg ?? '', /Check that redis is running and reachable from this host, and the credentials in store\.url\./);
      const back = logLines(daemon, BACK);
      assert.equal(back.length, 1, daemon.stderr());
      assert.equal(back[0]?.level, 30);
      assert.equal(back[0]?.msg, `token store ${redis.url} answers again; grpc.health.v1 reports SERVING`);
      assert.equal(await daemon.stop(), 0);
    });
  });

  describe('on SQLite', () => {
    let harness: Harness;
    let daemon: DaemonProcess | undefined;
    let client: TokenBrokerClient | undefined;

    before(async () => {
      harness = await newHarness('tb-health-sqlite-', sandbox, 'sqlite://state/tokens.sqlite');
    });

    after(async () => {
      client?.close();
      await daemon?.stop();
      await rm(harness.directory, { recursive: true, force: true });
    });

    test('the folder of the file removed: NOT_SERVING (writes would be lost), cached tokens still served', async () => {
      daemon = await startBroker(harness);
      client = new TokenBrokerClient({ address: harness.address });
      const token = (await client.getToken('app-imap')).accessToken;
      assert.deepEqual(await statuses(harness.address), ['SERVING', 'SERVING', 'SERVING']);

      // SQLite still reads the unlinked file but refuses every write: only a write shows it. Which error it
      // gives depends on where the write fails (the moved database: READONLY; a journal in the gone folder: IOERR).
      await rm(path.join(harness.directory, 'state'), { recursive: true, force: true });
      await waitForHealth(harness.address, 'NOT_SERVING');
      assert.equal((await client.getToken('app-imap')).accessToken, token);
      const lost = logLines(daemon, LOST);
      assert.equal(lost.length, 1, daemon.stderr());
      assert.match(lost[0]?.msg ?? '', /^token store sqlite:\/\/\/.+\/state\/tokens\.sqlite is unavailable: cannot complete a health check \(SQLITE_(READONLY|IOERR)/);
      assert.match(lost[0]?.msg ?? '', /Check that the file and its folder exist and that the broker's user may write both\./);
      assert.equal(await daemon.stop(), 0);
    });
  });

  test('a store unreachable at start: serve exits 1 without listening, saying which store and what to check', async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}/0`;
    const harness = await newHarness('tb-health-start-', sandbox, url);
    try {
      const result = await runCli(['serve', '--config', harness.configFile]);
      assert.equal(result.code, 1, result.stderr);
      const lines = result.stderr.split('\n').filter((line) => line.startsWith('token-broker: '));
      assert.deepEqual(lines, [
        `token-broker: token store ${url} is unavailable: cannot open it (connect ECONNREFUSED 127.0.0.1:${port}). ` +
          'Check that redis is running and reachable from this host, and the credentials in store.url.',
      ]);
      await assert.rejects(access(harness.address.slice('unix://'.length)), 'no socket was created');
    } finally {
      await rm(harness.directory, { recursive: true, force: true });
    }
  });

  test('TOKEN_BROKER_STORE_PROBE_INTERVAL_MS or TOKEN_BROKER_HTTP_TIMEOUT_MS that is not a number of milliseconds is a usage error', async () => {
    const harness = await newHarness('tb-health-env-', sandbox, 'memory:');
    try {
      const result = await runCli(['serve', '--config', harness.configFile], { TOKEN_BROKER_STORE_PROBE_INTERVAL_MS: 'soon' });
      assert.equal(result.code, 2);
      assert.match(result.stderr, /TOKEN_BROKER_STORE_PROBE_INTERVAL_MS=soon is not a whole number of milliseconds from 10 to 3600000; unset it/);
      const tooShort = await runCli(['serve', '--config', harness.configFile], { TOKEN_BROKER_HTTP_TIMEOUT_MS: '5' });
      assert.equal(tooShort.code, 2);
      assert.match(tooShort.stderr, /TOKEN_BROKER_HTTP_TIMEOUT_MS=5 is not a whole number of milliseconds from 100 to 3600000; unset it/);
    } finally {
      await rm(harness.directory, { recursive: true, force: true });
    }
  });
});

type HealthClient = Client & {
  check(request: { service: string }, callback: (error: Error | null, response?: { status: string }) => void): void;
  watch(request: { service: string }): ClientReadableStream<{ status: string }>;
};
const HealthClientConstructor = makeClientConstructor(healthService, 'grpc.health.v1.Health');

describe('BrokerGrpcServer.setServing', () => {
  test('applies only between start and stop: a late SERVING after stop is never sent', async () => {
    const directory = await mkdtemp(path.join(tmpdir(), 'tb-health-server-'));
    const socket = path.join(directory, 'broker.sock');
    const store = await memoryStore();
    const transport = new HttpTransport();
    const logger = silentLogger();
    const broker = new TokenBroker({
      mailboxes: [],
      refresh: { leadTimeSeconds: 300, maxConcurrentPerServer: 4, sweepIntervalSeconds: 10, idleAfterHours: 24, keepAliveDays: 7 },
      clock: systemClock,
      logger,
      store,
      dependencies: { transport, clock: systemClock, logger },
    });
    const server = new BrokerGrpcServer({ config: { listen: [{ kind: 'unix', path: socket, url: `unix://${socket}` }], socketMode: 0o600 }, broker, logger });
    const address = `unix://${socket}`;
    let client: HealthClient | undefined;
    try {
      server.setServing(false);
      await server.start();
      assert.deepEqual(await statuses(address), ['NOT_SERVING', 'NOT_SERVING', 'NOT_SERVING'], 'what was said before start holds once listening');
      server.setServing(true);
      assert.deepEqual(await statuses(address), ['SERVING', 'SERVING', 'SERVING']);

      client = new HealthClientConstructor(address, credentials.createInsecure()) as unknown as HealthClient;
      const seen: string[] = [];
      const watch = client.watch({ service: '' });
      watch.on('error', () => undefined);
      const first = new Promise<void>((resolve) => watch.once('data', () => resolve()));
      watch.on('data', (message: { status: string }) => seen.push(message.status));
      await first;
      const notServing = new Promise<void>((resolve) => watch.on('data', (message: { status: string }) => message.status === 'NOT_SERVING' && resolve()));
      // The open watch keeps the server for the whole grace period, during which a late probe says SERVING.
      const stopped = server.stop(500);
      await notServing;
      server.setServing(true);
      await stopped;
      assert.deepEqual(seen, ['SERVING', 'NOT_SERVING']);
    } finally {
      client?.close();
      await server.stop(0);
      await broker.drain();
      await transport.close();
      await store.close();
      await rm(directory, { recursive: true, force: true });
    }
  });
});
