// The metrics listener of the real `token-broker serve` (metrics.listen),
// scraped over HTTP as Prometheus does, during a run with failures: a
// mailbox that works, one with a wrong client secret (invalid_client), one
// whose server does not answer (server_unreachable). Between two scrapes
// the counters and the states move. /readyz follows the token store (redis
// killed and started again) on a unix-socket listener; hostile requests get
// 404/405/414/431 and the listener goes on; a listen failure stops the start.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TokenBrokerClient } from '../../src/client/index.js';
import type { TokenWatch } from '../../src/client/index.js';
import { startSandbox } from '../../src/sandbox/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { eventually } from '../support/assertions.js';
import { clientCredentialsMailbox, sandboxBrokerConfig, startBrokerEnvironment } from '../support/broker-environment.js';
import type { BrokerEnvironment } from '../support/broker-environment.js';
import { runCli, startDaemonProcess } from '../support/daemon-process.js';
import type { DaemonProcess } from '../support/daemon-process.js';
import { httpRequest, parseExposition, sampleValue } from '../support/metrics-scrape.js';
import type { Sample } from '../support/metrics-scrape.js';
import { freePort } from '../support/ports.js';
import { redisServerBinary, startRedis } from '../support/redis.js';
import type { RedisServer } from '../support/redis.js';

const TENANT = randomUUID();
const APP = randomUUID();
const SECRET = `app-secret-${randomUUID()}`;
const WRONG_SECRET = `wrong-secret-${randomUUID()}`;
const PROBE_INTERVAL_MS = 200;
const REDIS_PASSWORD = `redis-password-${randomUUID()}`;

async function scrape(url: string): Promise<Sample[]> {
  const answer = await httpRequest(url, '/metrics');
  assert.equal(answer.status, 200, answer.body);
  assert.match(String(answer.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  return parseExposition(answer.body);
}

/** The broker config of the run with failures; `badSecret` is what mailbox bad-secret sends. */
function runConfig(address: string, sandboxUrl: string, metricsPort: number, downPort: number, badSecret: string): string {
  return `server: { listen: ["${address}"] }
store: { url: "memory:" }
metrics: { listen: "127.0.0.1:${metricsPort}" }
authorizationServers:
  microsoft: { authorityHost: "${sandboxUrl}", caFile: ca.pem }
  down: { type: generic, issuer: "http://127.0.0.1:${downPort}", scopes: { imap: ["https://mail.example/imap"] } }
mailboxes:
${clientCredentialsMailbox('good', TENANT, APP, SECRET)}${clientCredentialsMailbox('bad-secret', TENANT, APP, badSecret)}  unreachable:
    protocol: imap
    grantType: client-credentials
    authorizationServer: down
    clientId: robot
    clientSecret: robot-secret
    username: robot@example.com
`;
}

const count = (samples: readonly Sample[], name: string, labels: Record<string, string>): number => sampleValue(samples, name, labels) ?? 0;
const states = (samples: readonly Sample[]): Record<string, number | undefined> =>
  Object.fromEntries(['IDLE', 'READY', 'ACQUIRING', 'NEEDS_AUTHORIZATION', 'FAILING'].map((state) => [state, sampleValue(samples, 'token_broker_mailboxes', { state })]));

describe('metrics of a running daemon', () => {
  let env: BrokerEnvironment;
  let url: string;
  let metricsPort: number;
  let downPort: number;

  before(async () => {
    metricsPort = await freePort();
    // Nothing listens there: the generic server's discovery fails with server_unreachable.
    downPort = await freePort();
    env = await startBrokerEnvironment({
      prefix: 'tb-metrics-',
      setup: (sandbox) => sandbox.registerApplication({ tenantId: TENANT, clientId: APP, clientSecret: SECRET }),
      config: ({ sandbox, address }) => runConfig(address, sandbox.url, metricsPort, downPort, WRONG_SECRET),
      serveArgs: ['--no-watch-config'],
    });
    url = `http://127.0.0.1:${metricsPort}`;
  });

  after(async () => {
    await env?.stop();
  });

  test('a scrape during a run with failures, and another after calls and a reload: counters and states move', async () => {
    // The first sweep warms the three mailboxes: one token, one invalid_client, one server_unreachable.
    const first = await eventually(async () => {
      const samples = await scrape(url);
      assert.deepEqual(states(samples), { IDLE: 0, READY: 1, ACQUIRING: 0, NEEDS_AUTHORIZATION: 0, FAILING: 2 });
      assert.ok(count(samples, 'token_broker_token_requests_total', { server: 'down', grant: 'client-credentials', outcome: 'server_unreachable' }) >= 1);
      return samples;
    });
    assert.ok(count(first, 'token_broker_token_requests_total', { server: 'microsoft', grant: 'client-credentials', outcome: 'ok' }) >= 1);
    assert.equal(count(first, 'token_broker_token_requests_total', { server: 'microsoft', grant: 'client-credentials', outcome: 'invalid_client' }), 1);
    assert.ok(count(first, 'token_broker_token_acquisition_seconds_count', { server: 'microsoft', grant: 'client-credentials' }) >= 2);
    const expiresIn = sampleValue(first, 'token_broker_token_expiry_seconds', { mailbox: 'good' }) ?? 0;
    // The sandbox's tokens live an hour (its expiry is rounded to whole seconds, so a hair over 3600 can show).
    assert.ok(expiresIn > 60 && expiresIn < 3605, `seconds until good's token expires: ${expiresIn}`);
    assert.equal(sampleValue(first, 'token_broker_token_expiry_seconds', { mailbox: 'unreachable' }), undefined);
    assert.equal(sampleValue(first, 'token_broker_store_up'), 1);
    assert.equal(sampleValue(first, 'token_broker_watch_streams'), 0);
    assert.ok((sampleValue(first, 'process_resident_memory_bytes') ?? 0) > 0, 'process metrics');

    // Calls: served, refused by the server's answer, unknown; a watch stream held open.
    const calls = (samples: readonly Sample[], status: string): number => count(samples, 'token_broker_grpc_calls_total', { method: 'GetToken', status, client: 'anonymous' });
    await env.client.getToken('good');
    await assert.rejects(env.client.getToken('bad-secret'));
    await assert.rejects(env.client.getToken('nobody'));
    let watch: TokenWatch | undefined;
    const watched = new Promise<void>((resolve) => {
      watch = env.client.watchToken('good', () => resolve(), () => undefined, { reconnect: false });
    });
    await watched;
    const during = await eventually(async () => {
      const samples = await scrape(url);
      assert.equal(sampleValue(samples, 'token_broker_watch_streams'), 1);
      return samples;
    });
    assert.equal(calls(during, 'ok'), calls(first, 'ok') + 1);
    // The status is what token-broker-error-code carried: Entra's AADSTS number for a wrong secret.
    assert.equal(calls(during, 'AADSTS7000215'), calls(first, 'AADSTS7000215') + 1);
    assert.equal(calls(during, 'unknown_mailbox'), calls(first, 'unknown_mailbox') + 1);
    assert.equal(count(during, 'token_broker_grpc_calls_total', { method: 'WatchToken', status: 'ok', client: 'anonymous' }), 1);
    watch?.cancel();

    // The secret fixed and reloaded: bad-secret gets its token; the unreachable server is asked again after its backoff.
    await writeFile(env.configFile, runConfig(env.address, env.sandbox.url, metricsPort, downPort, SECRET));
    env.daemon.child.kill('SIGHUP');
    const second = await eventually(async () => {
      const samples = await scrape(url);
      assert.deepEqual(states(samples), { IDLE: 0, READY: 2, ACQUIRING: 0, NEEDS_AUTHORIZATION: 0, FAILING: 1 });
      assert.equal(sampleValue(samples, 'token_broker_watch_streams'), 0);
      assert.ok(
        count(samples, 'token_broker_token_requests_total', { server: 'down', grant: 'client-credentials', outcome: 'server_unreachable' }) >
          count(first, 'token_broker_token_requests_total', { server: 'down', grant: 'client-credentials', outcome: 'server_unreachable' }),
      );
      return samples;
      // The unreachable server's next request comes after its backoff (up to 16 s after four failures in a row).
    }, 90_000);
    assert.ok((sampleValue(second, 'token_broker_token_expiry_seconds', { mailbox: 'bad-secret' }) ?? 0) > 60);
    assert.ok(calls(second, 'ok') >= calls(during, 'ok'), 'a counter never goes down');
  });

  test('/healthz and /readyz answer while it serves; HEAD answers without a body', async () => {
    assert.deepEqual(await answerOf(url, '/healthz'), [200, 'ok\n']);
    assert.deepEqual(await answerOf(url, '/readyz'), [200, 'ready\n']);
    assert.deepEqual(await answerOf(url, '/metrics', 'HEAD'), [200, '']);
  });

  test('hostile requests: unknown paths 404, other methods 405, a huge target 414 (431 past node\'s header limit); the listener goes on', async () => {
    assert.equal((await httpRequest(url, '/')).status, 404);
    assert.equal((await httpRequest(url, '/metrics/../../etc/passwd')).status, 404);
    assert.equal((await httpRequest(url, '/%00')).status, 404);
    const post = await httpRequest(url, '/metrics', 'POST');
    assert.deepEqual([post.status, post.headers.allow], [405, 'GET, HEAD']);
    assert.equal((await httpRequest(url, '/readyz', 'DELETE')).status, 405);
    assert.equal((await httpRequest(url, `/metrics?${'a'.repeat(4_000)}`)).status, 414);
    const huge = await httpRequest(url, `/${'a'.repeat(100_000)}`).then(
      (answer) => answer.status,
      (error: NodeJS.ErrnoException) => error.code,
    );
    assert.ok(huge === 431 || huge === 'ECONNRESET' || huge === 'EPIPE', `a 100 kB target: ${String(huge)}`);
    for (const body of [(await httpRequest(url, '/nope')).body, post.body]) {
      assert.doesNotMatch(body, new RegExp(`${SECRET}|${WRONG_SECRET}`));
    }
    assert.deepEqual(await answerOf(url, '/healthz'), [200, 'ok\n']);
    const scraped = (await httpRequest(url, '/metrics')).body;
    assert.doesNotMatch(scraped, new RegExp(`${SECRET}|${WRONG_SECRET}|robot-secret`), 'no secret in /metrics');
  });
});

async function answerOf(url: string, target: string, method = 'GET'): Promise<[number, string]> {
  const answer = await httpRequest(url, target, method);
  return [answer.status, answer.body];
}

describe('/readyz follows the token store, on a unix-socket listener', { skip: redisServerBinary.skip }, () => {
  let sandbox: Sandbox;
  let redis: RedisServer;
  let directory: string;
  let daemon: DaemonProcess | undefined;

  before(async () => {
    sandbox = await startSandbox();
    sandbox.registerApplication({ tenantId: TENANT, clientId: APP, clientSecret: SECRET });
    redis = await startRedis({ password: REDIS_PASSWORD });
    directory = await mkdtemp(path.join(tmpdir(), 'tb-metrics-ready-'));
  });

  after(async () => {
    await daemon?.stop();
    await redis?.stop();
    await sandbox?.close();
    await rm(directory, { recursive: true, force: true });
  });

  test('redis killed: 503 saying the store does not answer, store_up 0; redis back: 200, store_up 1', async () => {
    const address = `unix://${path.join(directory, 'broker.sock')}`;
    const metricsUrl = `unix://${path.join(directory, 'metrics.sock')}`;
    const configFile = path.join(directory, 'broker.yaml');
    await writeFile(path.join(directory, 'ca.pem'), sandbox.caCertificatePem);
    await writeFile(path.join(directory, 'store.key'), `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    await writeFile(
      configFile,
      `${sandboxBrokerConfig(address, sandbox.url, redis.urlWithPassword, clientCredentialsMailbox('app-imap', TENANT, APP, SECRET))}metrics:\n  listen: ${metricsUrl}\n  perMailbox: false\n`,
    );
    daemon = await startDaemonProcess(configFile, address, { TOKEN_BROKER_STORE_PROBE_INTERVAL_MS: String(PROBE_INTERVAL_MS) }, ['--no-watch-config']);
    await eventually(async () => assert.deepEqual(await answerOf(metricsUrl, '/readyz'), [200, 'ready\n']));
    const client = new TokenBrokerClient({ address });
    try {
      await client.getToken('app-imap');
    } finally {
      client.close();
    }

    await redis.kill();
    const down = await eventually(async () => {
      const [status, body] = await answerOf(metricsUrl, '/readyz');
      assert.equal(status, 503, body);
      return body;
    });
    // The store named without its password.
    assert.equal(down, `not ready: token store ${redis.url} does not answer its health check (see the broker's log); cached tokens are still served\n`);
    const whileDown = await scrape(metricsUrl);
    assert.doesNotMatch((await httpRequest(metricsUrl, '/metrics')).body, new RegExp(`${REDIS_PASSWORD}|${SECRET}`));
    assert.equal(sampleValue(whileDown, 'token_broker_store_up'), 0);
    assert.ok((sampleValue(whileDown, 'token_broker_store_probe_failures_total') ?? 0) >= 1);
    assert.deepEqual(whileDown.filter((sample) => 'mailbox' in sample.labels), [], 'perMailbox: false');
    assert.deepEqual(await answerOf(metricsUrl, '/healthz'), [200, 'ok\n'], 'alive all the same');

    await redis.start();
    await eventually(async () => assert.deepEqual(await answerOf(metricsUrl, '/readyz'), [200, 'ready\n']));
    assert.equal(sampleValue(await scrape(metricsUrl), 'token_broker_store_up'), 1);
    assert.equal(await daemon.stop(), 0);
  });
});

describe('a metrics listener that cannot listen', () => {
  let sandbox: Sandbox;
  let directory: string;
  let taken: Server;

  before(async () => {
    sandbox = await startSandbox();
    directory = await mkdtemp(path.join(tmpdir(), 'tb-metrics-taken-'));
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  });

  after(async () => {
    await new Promise((resolve) => taken?.close(resolve));
    await sandbox?.close();
    await rm(directory, { recursive: true, force: true });
  });

  test('a port in use stops the start: exit 1, a message naming metrics.listen and what to do, no gRPC socket left', async () => {
    const port = (taken.address() as { port: number }).port;
    const address = `unix://${path.join(directory, 'broker.sock')}`;
    const configFile = path.join(directory, 'broker.yaml');
    await writeFile(path.join(directory, 'ca.pem'), sandbox.caCertificatePem);
    await writeFile(
      configFile,
      `server: { listen: ["${address}"] }\nstore: { url: "memory:" }\nmetrics: { listen: "127.0.0.1:${port}" }\n` +
        `authorizationServers:\n  microsoft: { authorityHost: "${sandbox.url}", caFile: ca.pem }\nmailboxes:\n${clientCredentialsMailbox('app-imap', TENANT, APP, SECRET)}`,
    );
    const result = await runCli(['serve', '--config', configFile]);
    assert.equal(result.code, 1, result.stderr);
    const lines = result.stderr.split('\n').filter((line) => line.startsWith('token-broker: '));
    assert.deepEqual(lines, [
      `token-broker: cannot listen on 127.0.0.1:${port} (metrics.listen): listen EADDRINUSE: address already in use 127.0.0.1:${port}. ` +
        'Check that the address is free and that the broker may bind it, or change metrics.listen (or remove the metrics section).',
    ]);
    await assert.rejects(access(address.slice('unix://'.length)), 'the gRPC socket was removed');
  });
});
