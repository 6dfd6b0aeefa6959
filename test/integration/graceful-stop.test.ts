// SIGTERM while 200 GetToken calls wait on slow token requests: the daemon
// stops accepting connections, ends streams (WatchToken, health Watch) with
// UNAVAILABLE, lets every call in flight finish, writes the tokens to the
// SQLite store before it closes it, and exits 0; restarted on the same file it
// serves them without a request. A second signal cuts what is left at once;
// when the grace period runs out the calls left are answered UNAVAILABLE but
// the token request still finishes and is stored. Real binary and sandbox,
// except the grace-period case (in-process, to choose a short grace).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { credentials, makeClientConstructor, status as GrpcStatus } from '@grpc/grpc-js';
import type { Client, ClientReadableStream, ServiceError } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { TokenBrokerClient } from '../../src/client/index.js';
import type { BrokerToken } from '../../src/client/index.js';
import { loadConfig } from '../../src/config/index.js';
import { startDaemon } from '../../src/daemon/index.js';
import { createLogger } from '../../src/logging/index.js';
import { startSandbox } from '../../src/sandbox/index.js';
import type { Sandbox, TokenResponseInfo } from '../../src/sandbox/index.js';
import { eventually } from '../support/assertions.js';
import { clientCredentialsMailbox, startBrokerEnvironment } from '../support/broker-environment.js';
import type { BrokerEnvironment } from '../support/broker-environment.js';
import { startDaemonProcess } from '../support/daemon-process.js';
import type { DaemonProcess } from '../support/daemon-process.js';

const TENANT = randomUUID();
const APPS = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
const PUBLIC_APP = randomUUID();
const USERS = ['alice', 'bob', 'dave', 'erin'].map((name) => ({ username: `${name}@contoso.example`, password: `pw-${randomUUID()}` }));
/** How long the sandbox holds each token answer after SIGTERM: the calls are still in flight when the daemon starts stopping. */
const SLOW_ANSWER_MS = 1_500;

/** Mailboxes the warm-up at start acquires (so their requests are held from the start). */
const WARMED = ['cc-1', 'cc-2', 'cc-3', 'cc-4', 'ropc-alice', 'ropc-bob'];
/**
 * ropc-deprecated mailboxes are acquired only when asked: each connector asks
 * for its own last, so the sandbox seeing that request proves the daemon has
 * received every call the connector sent before it.
 */
const LAST_OF = { connectorA: { mailbox: 'legacy-dave', username: USERS[2]?.username ?? '' }, connectorB: { mailbox: 'legacy-erin', username: USERS[3]?.username ?? '' } };

function userMailbox(name: string, grantType: string, user: { username: string; password: string } | undefined): string {
  return `  ${name}:
    protocol: graph
    grantType: ${grantType}
    tenantId: ${TENANT}
    clientId: ${PUBLIC_APP}
    username: ${user?.username ?? ''}
    password: ${user?.password ?? ''}
`;
}

/** A promise the test resolves when it chooses. */
function gate(): { readonly opened: Promise<void>; open(): void } {
  let open = (): void => undefined;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  await eventually(() => assert.ok(condition(), `timed out waiting for ${what}`));
}

/** What a connection attempt to the unix socket gets: 'connected' or the error code. */
function tryConnect(socketPath: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

const HealthClient = makeClientConstructor(healthService, 'grpc.health.v1.Health');

/** Opens grpc.health.v1.Health/Watch, as a load balancer would; resolves with the status the stream ends with. */
function watchHealth(address: string): { readonly client: Client; readonly ended: Promise<ServiceError | undefined> } {
  const client = new HealthClient(address, credentials.createInsecure()) as unknown as Client & {
    watch(request: { service: string }): ClientReadableStream<unknown>;
  };
  const stream = client.watch({ service: '' });
  stream.on('data', () => undefined);
  const ended = new Promise<ServiceError | undefined>((resolve) => {
    stream.on('error', (error: ServiceError) => resolve(error));
    stream.on('end', () => resolve(undefined));
  });
  return { client, ended };
}

function exitOf(daemon: DaemonProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const { child } = daemon;
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

describe('graceful stop: SIGTERM during 200 in-flight GetToken calls', () => {
  let environment: BrokerEnvironment;
  let sandbox: Sandbox;
  /** Token answers wait for this once `holding` is set. */
  const answers = gate();
  let holding = true;
  const entered: TokenResponseInfo[] = [];
  let restarted: DaemonProcess | undefined;

  before(async () => {
    environment = await startBrokerEnvironment({
      prefix: 'tb-graceful-',
      setup: (server) => {
        for (const app of APPS) server.registerApplication({ tenantId: TENANT, clientId: app, clientSecret: `secret-${app}` });
        server.registerApplication({ tenantId: TENANT, clientId: PUBLIC_APP, publicClient: true });
        for (const user of USERS) server.registerUser({ tenantId: TENANT, ...user });
        // Installed before the daemon starts: the warm-up's requests are held too, so no mailbox has a token yet.
        server.hooks.beforeTokenResponse = async (info) => {
          entered.push(info);
          if (holding) await answers.opened;
        };
      },
      config: ({ sandbox: server, address }) => `server: { listen: ["${address}"] }
store: { url: "sqlite://tokens.sqlite", encryptionKeyFile: store.key }
authorizationServers:
  microsoft: { authorityHost: "${server.url}", caFile: ca.pem }
mailboxes:
${APPS.map((app, index) => clientCredentialsMailbox(`cc-${index + 1}`, TENANT, app, `secret-${app}`)).join('')}${userMailbox('ropc-alice', 'ropc', USERS[0])}${userMailbox('ropc-bob', 'ropc', USERS[1])}${userMailbox(LAST_OF.connectorA.mailbox, 'ropc-deprecated', USERS[2])}${userMailbox(LAST_OF.connectorB.mailbox, 'ropc-deprecated', USERS[3])}`,
    });
    ({ sandbox } = environment);
  });

  after(async () => {
    answers.open();
    if (restarted !== undefined && restarted.child.exitCode === null) restarted.child.kill('SIGKILL');
    await environment?.stop();
  });

  const obtained = new Map<string, string>();

  test('every call finishes with a valid token, the watch ends UNAVAILABLE, new connections are refused, exit 0', async () => {
    const { daemon, address } = environment;
    const socketPath = address.slice('unix://'.length);
    // The warm-up's requests have reached the sandbox and are held there.
    await until(() => entered.length >= WARMED.length, 'the warm-up token requests');

    const health = watchHealth(address);
    const watcher = new TokenBrokerClient({ address });
    const watched: BrokerToken[] = [];
    const watchEnded = new Promise<ServiceError | undefined>((resolve) => {
      watcher.watchToken('cc-1', (token) => watched.push(token), resolve, { reconnect: false });
    });

    // Two connectors, 100 calls each, on six mailboxes without a token; each ends with its own on-demand mailbox.
    const connectors = [new TokenBrokerClient({ address, deadlineMs: 60_000 }), new TokenBrokerClient({ address, deadlineMs: 60_000 })];
    const lasts = [LAST_OF.connectorA, LAST_OF.connectorB];
    const calls: { mailbox: string; result: Promise<BrokerToken> }[] = [];
    let settled = 0;
    for (const [index, connector] of connectors.entries()) {
      for (let call = 0; call < 99; call++) {
        const mailbox = WARMED[call % WARMED.length] ?? '';
        calls.push({ mailbox, result: connector.getToken(mailbox) });
      }
      const last = lasts[index]?.mailbox ?? '';
      calls.push({ mailbox: last, result: connector.getToken(last) });
    }
    assert.equal(calls.length, 200);
    for (const call of calls) call.result.then(() => settled++, () => settled++);
    const outcomes = Promise.allSettled(calls.map((call) => call.result));
    await until(() => lasts.every((last) => entered.some((info) => info.username === last.username)), 'the on-demand requests of both connectors');
    // Each connector's calls arrive in order on its connection: the last one reached the sandbox, so all reached the daemon.
    // No event says "has not finished": a call that wrongly finished gets a moment to show.
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(settled, 0, 'no call can have finished: every token answer is held');
    assert.equal(sandbox.stats.total, WARMED.length + lasts.length, 'one token request per mailbox, however many calls wait for it');

    const exited = exitOf(daemon);
    daemon.child.kill('SIGTERM');
    const sentAt = Date.now();

    const watchStatus = await watchEnded;
    assert.equal(watchStatus?.code, GrpcStatus.UNAVAILABLE, watchStatus?.details);
    assert.match(watchStatus?.details ?? '', /shutting down; reconnect/);
    // A health Watch never ends by itself either: left open it would hold the stop for the whole grace period.
    assert.equal((await health.ended)?.code, GrpcStatus.UNAVAILABLE);
    assert.ok(['ECONNREFUSED', 'ENOENT'].includes(await tryConnect(socketPath)), 'a new connection must be refused once stopping');
    const newcomer = new TokenBrokerClient({ address, deadlineMs: 5_000 });
    await assert.rejects(newcomer.getToken('cc-2'), (error: ServiceError) => {
      assert.equal(error.code, GrpcStatus.UNAVAILABLE, error.details);
      return true;
    });
    newcomer.close();
    assert.equal(settled, 0, 'the calls in flight are still waiting for the sandbox');
    assert.equal(daemon.child.exitCode, null, 'the daemon waits for the calls in flight');

    await new Promise((resolve) => setTimeout(resolve, Math.max(0, sentAt + SLOW_ANSWER_MS - Date.now())));
    answers.open();

    const results = await outcomes;
    const failures = results.flatMap((result, index) => (result.status === 'rejected' ? [`${calls[index]?.mailbox}: ${String((result.reason as ServiceError).details ?? result.reason)}`] : []));
    assert.deepEqual(failures, [], `calls lost:\n${failures.slice(0, 5).join('\n')}`);
    for (const [index, result] of results.entries()) {
      assert.equal(result.status, 'fulfilled');
      const token = result.value;
      assert.equal(token.mailbox, calls[index]?.mailbox);
      assert.ok(sandbox.verifyAccessToken(token.accessToken), `the token of ${token.mailbox} verifies`);
      const earlier = obtained.get(token.mailbox);
      assert.ok(earlier === undefined || earlier === token.accessToken, `one token for all calls of ${token.mailbox}`);
      obtained.set(token.mailbox, token.accessToken);
    }
    assert.equal(obtained.size, WARMED.length + lasts.length);

    assert.deepEqual(await exited, { code: 0, signal: null }, daemon.stderr().slice(-3000));
    assert.doesNotMatch(daemon.stderr(), /grace period ran out/, 'once the calls are answered nothing holds the stop');
    assert.match(daemon.stderr(), /"signal":"SIGTERM".*"msg":"stopping/);
    assert.match(daemon.stderr(), /all 200 calls in flight finished/);
    assert.doesNotMatch(daemon.stderr(), /could not be written to the store/);
    assert.equal(sandbox.stats.total, WARMED.length + lasts.length, 'no call was answered by a request of its own');
    for (const client of [watcher, ...connectors]) client.close();
    health.client.close();
  });

  test('restarted on the same SQLite file, the daemon serves those tokens without asking the server', async () => {
    holding = false;
    sandbox.stats.reset();
    restarted = await startDaemonProcess(environment.configFile, environment.address);
    const client = new TokenBrokerClient({ address: environment.address });
    try {
      for (const [mailbox, accessToken] of obtained) {
        assert.equal((await client.getToken(mailbox)).accessToken, accessToken, `mailbox ${mailbox} served from the store`);
      }
      assert.equal(sandbox.stats.total, 0, 'the store held every token: no request after the restart');
    } finally {
      client.close();
    }
    assert.equal(await restarted.stop(), 0);
  });
});

describe('graceful stop: a second signal cuts the calls still in flight at once', () => {
  let environment: BrokerEnvironment;
  const answers = gate();
  let requests = 0;

  before(async () => {
    const app = randomUUID();
    environment = await startBrokerEnvironment({
      prefix: 'tb-forced-',
      setup: (server) => {
        server.registerApplication({ tenantId: TENANT, clientId: app, clientSecret: 'app-secret' });
        server.hooks.beforeTokenResponse = async () => {
          requests++;
          await answers.opened;
        };
      },
      config: ({ sandbox: server, address }) => `server: { listen: ["${address}"] }
store: { url: "sqlite://tokens.sqlite", encryptionKeyFile: store.key }
authorizationServers:
  microsoft: { authorityHost: "${server.url}", caFile: ca.pem }
mailboxes:
${clientCredentialsMailbox('held', TENANT, app, 'app-secret')}`,
    });
  });

  after(async () => {
    answers.open();
    await environment?.stop();
  });

  test('SIGTERM, then SIGINT during the grace period: the held calls end UNAVAILABLE and the daemon exits 0 at once', async () => {
    const { daemon, client } = environment;
    await until(() => requests >= 1, 'the warm-up token request');
    const calls = Array.from({ length: 20 }, () => client.getToken('held'));
    const outcomes = Promise.allSettled(calls);
    // The answer they wait for is held for good. A call sent after them on the same connection is taken
    // after them: once it is answered, all 20 are in flight on the daemon.
    await client.listMailboxes();
    const exited = exitOf(daemon);
    daemon.child.kill('SIGTERM');
    await until(() => /"msg":"stopping/.test(daemon.stderr()), 'the first signal to be taken');
    daemon.child.kill('SIGINT');
    assert.deepEqual(await exited, { code: 0, signal: null }, daemon.stderr().slice(-3000));
    assert.doesNotMatch(daemon.stderr(), /grace period ran out/, 'the second signal must not wait for the grace period');
    const results = await outcomes;
    for (const result of results) {
      assert.equal(result.status, 'rejected');
      assert.equal((result.reason as ServiceError).code, GrpcStatus.UNAVAILABLE);
    }
    assert.match(daemon.stderr(), /"signal":"SIGINT".*second signal/);
    assert.match(daemon.stderr(), /20 calls in flight cut/);
  });
});

describe('graceful stop: the grace period runs out while a token request is slow', () => {
  test('the calls still waiting are answered UNAVAILABLE, the token request still finishes and is stored before the store closes', async () => {
    const directory = await mkdtemp(path.join(tmpdir(), 'tb-grace-'));
    const sandbox = await startSandbox();
    const answers = gate();
    let requests = 0;
    const app = randomUUID();
    sandbox.registerApplication({ tenantId: TENANT, clientId: app, clientSecret: 'app-secret' });
    sandbox.hooks.beforeTokenResponse = async () => {
      requests++;
      await answers.opened;
    };
    const address = `unix://${path.join(directory, 'broker.sock')}`;
    const log: string[] = [];
    try {
      await writeFile(path.join(directory, 'ca.pem'), sandbox.caCertificatePem);
      const configFile = path.join(directory, 'broker.yaml');
      await writeFile(
        configFile,
        `server: { listen: ["${address}"] }
store: { url: "sqlite://tokens.sqlite", encryptionKeyFile: store.key }
authorizationServers:
  microsoft: { authorityHost: "${sandbox.url}", caFile: ca.pem }
mailboxes:
${clientCredentialsMailbox('slow', TENANT, app, 'app-secret')}`,
      );
      const loaded = await loadConfig(configFile);
      assert.ok(loaded.ok);
      const sink = new Writable({
        write(chunk: Buffer, _encoding, callback) {
          log.push(chunk.toString());
          callback();
        },
      });
      const daemon = await startDaemon(loaded.config, { logger: createLogger('info', sink) });
      const client = new TokenBrokerClient({ address });
      await until(() => requests >= 1, 'the warm-up token request');
      const calls = Promise.allSettled(Array.from({ length: 5 }, () => client.getToken('slow')));
      // Sent after them on the same connection, so taken after them: once answered, all 5 are in flight.
      await client.listMailboxes();
      let stopped = false;
      const stopping = daemon.stop(500).then(() => (stopped = true));
      for (const result of await calls) {
        assert.equal(result.status, 'rejected');
        const error = result.reason as ServiceError;
        assert.equal(error.code, GrpcStatus.UNAVAILABLE);
        assert.match(error.details, /stopped before this call was answered \(the 0\.5 s grace period ran out\); retry/);
      }
      assert.match(log.join(''), /"cut":5,.*"msg":"5 calls in flight cut \(the 0\.5 s grace period ran out\), answered UNAVAILABLE; 0 finished"/);
      // The token request is not cut: its answer (a rotated refresh token, for other grants) must reach the store.
      // No event says "has not stopped": a stop that wrongly went ahead gets a moment to show.
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(stopped, false, 'the stop waits for the token request in flight');
      answers.open();
      await stopping;
      client.close();

      const restarted = await startDaemon(loaded.config, { logger: createLogger('info', sink) });
      const again = new TokenBrokerClient({ address });
      try {
        assert.ok(sandbox.verifyAccessToken((await again.getToken('slow')).accessToken));
        assert.equal(requests, 1, 'the token the stop waited for was stored: no request after the restart');
      } finally {
        again.close();
        await restarted.stop(0);
      }
    } finally {
      answers.open();
      await sandbox.close();
      await rm(directory, { recursive: true, force: true });
    }
  });
});
