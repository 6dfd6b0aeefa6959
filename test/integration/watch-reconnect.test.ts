// The client's WatchToken across broker restarts: against a scripted
// TokenBroker server (each subscription does what the test says), then
// against the real daemon binary restarted on the same socket and store.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Server, ServerCredentials, status as GrpcStatus } from '@grpc/grpc-js';
import type { ServerWritableStream, ServiceError } from '@grpc/grpc-js';
import { TokenBrokerClient } from '../../src/client/index.js';
import type { BrokerToken } from '../../src/client/index.js';
import { loadBrokerProto, toTimestamp } from '../../src/proto/index.js';
import type { TokenMessage, WatchTokenRequest } from '../../src/proto/index.js';
import { eventually as eventuallyHolds, retryWhile } from '../support/assertions.js';
import { clientCredentialsMailbox, startBrokerEnvironment } from '../support/broker-environment.js';
import type { BrokerEnvironment } from '../support/broker-environment.js';
import { startDaemonProcess } from '../support/daemon-process.js';
import type { DaemonProcess } from '../support/daemon-process.js';

/** Retries `call` while it fails with UNAVAILABLE (a channel still reconnecting). */
function untilConnected<T>(call: () => Promise<T>): Promise<T> {
  return retryWhile(call, (error) => (error as ServiceError).code === GrpcStatus.UNAVAILABLE);
}

type WatchCall = ServerWritableStream<WatchTokenRequest, TokenMessage>;

/** A token message that expires `expiresInS` seconds from now. */
function token(accessToken: string, expiresInS: number): TokenMessage {
  return {
    mailbox: 'sales-imap',
    access_token: accessToken,
    token_type: 'Bearer',
    expires_at: toTimestamp(Date.now() + expiresInS * 1000),
    scopes: [],
    username: 'sales@contoso.example',
    sasl_xoauth2: '',
    protocol: 'IMAP',
  };
}

/** Waits until `check` holds, polling; fails with `what` if it never does. */
async function eventually(check: () => boolean, what: string): Promise<void> {
  await eventuallyHolds(() => assert.ok(check(), `timed out waiting for ${what}`));
}

/** Each WatchToken subscription is handed to `script` with its number (1, 2, ...). */
async function startScriptedBroker(socketPath: string, script: (call: WatchCall, subscription: number) => void): Promise<{ server: Server; subscriptions: () => number }> {
  let subscriptions = 0;
  const server = new Server();
  server.addService(loadBrokerProto().tokenBrokerService, {
    WatchToken(call: WatchCall) {
      subscriptions += 1;
      script(call, subscriptions);
    },
  });
  await new Promise<void>((resolve, reject) => server.bindAsync(`unix://${socketPath}`, ServerCredentials.createInsecure(), (error) => (error === null ? resolve() : reject(error))));
  return { server, subscriptions: () => subscriptions };
}

const unavailable = (call: WatchCall): void => void call.emit('error', { code: GrpcStatus.UNAVAILABLE, details: 'token-broker is shutting down; reconnect' });

describe('watchToken reconnects (scripted broker)', () => {
  let directory: string;
  let socketPath: string;
  let server: Server | undefined;
  let client: TokenBrokerClient;

  before(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'tb-watch-reconnect-'));
  });

  after(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  afterEach(() => {
    client?.close();
    server?.forceShutdown();
    server = undefined;
  });

  async function serve(script: (call: WatchCall, subscription: number) => void): Promise<() => number> {
    socketPath = path.join(directory, `${randomUUID()}.sock`);
    const started = await startScriptedBroker(socketPath, script);
    server = started.server;
    client = new TokenBrokerClient({ address: `unix://${socketPath}` });
    return started.subscriptions;
  }

  test('after UNAVAILABLE it resubscribes and delivers only tokens newer than the last one delivered', async () => {
    const subscriptions = await serve((call, subscription) => {
      if (subscription === 1) {
        call.write(token('t1', 100));
        call.write(token('t2', 200));
        setTimeout(() => unavailable(call), 20);
      } else {
        // The broker's current token (already delivered), an older one (a lagging instance), then a new one.
        call.write(token('t2', 200));
        call.write(token('t0', 50));
        call.write(token('t3', 300));
      }
    });
    const delivered: string[] = [];
    const causes: (number | undefined)[] = [];
    const ends: (ServiceError | undefined)[] = [];
    const watch = client.watchToken('sales-imap', (received) => delivered.push(received.accessToken), (error) => ends.push(error), {
      reconnect: { initialDelayMs: 10 },
      onReconnect: (_attempt, _delay, cause) => causes.push(cause?.code),
    });
    await eventually(() => delivered.length === 3, 'three tokens');
    assert.deepEqual(delivered, ['t1', 't2', 't3']);
    assert.deepEqual(causes, [GrpcStatus.UNAVAILABLE]);
    assert.equal(subscriptions(), 2);
    watch.cancel();
    await eventually(() => ends.length === 1, 'the end after cancel');
    assert.deepEqual(ends, [undefined]);
  });

  for (const code of [GrpcStatus.NOT_FOUND, GrpcStatus.PERMISSION_DENIED, GrpcStatus.UNAUTHENTICATED, GrpcStatus.INVALID_ARGUMENT, GrpcStatus.FAILED_PRECONDITION]) {
    test(`${GrpcStatus[code]} ends the watch with that status, without a retry`, async () => {
      const subscriptions = await serve((call) => void call.emit('error', { code, details: `scripted ${GrpcStatus[code]}` }));
      const reconnects: number[] = [];
      const error = await new Promise<ServiceError | undefined>((resolve) => {
        client.watchToken('sales-imap', () => undefined, resolve, { reconnect: { initialDelayMs: 1 }, onReconnect: (attempt) => reconnects.push(attempt) });
      });
      assert.equal(error?.code, code);
      assert.equal(error?.details, `scripted ${GrpcStatus[code]}`);
      assert.deepEqual(reconnects, []);
      assert.equal(subscriptions(), 1);
    });
  }

  test('the delay doubles from initialDelayMs up to maxDelayMs, jittered, and starts over once a stream works', async () => {
    await serve((call, subscription) => {
      if (subscription === 7) call.write(token('fresh', 100));
      setTimeout(() => unavailable(call), subscription === 7 ? 20 : 0);
    });
    const attempts: { attempt: number; delay: number }[] = [];
    const delivered: BrokerToken[] = [];
    const watch = client.watchToken('sales-imap', (received) => delivered.push(received), () => undefined, {
      reconnect: { initialDelayMs: 20, maxDelayMs: 80 },
      onReconnect: (attempt, delay) => {
        attempts.push({ attempt, delay });
        // Stopped right at the seventh, whatever the machine's pace: the watch schedules its retry once this returns.
        if (attempts.length === 7) queueMicrotask(() => watch.cancel());
      },
    });
    await eventually(() => attempts.length >= 7, 'seven reconnects');
    assert.deepEqual(
      delivered.map((received) => received.accessToken),
      ['fresh'],
    );
    // Six failed subscriptions, then one that delivered a token: its end counts as attempt 1 again.
    assert.deepEqual(
      attempts.map(({ attempt }) => attempt),
      [1, 2, 3, 4, 5, 6, 1],
    );
    const ceilings = [20, 40, 80, 80, 80, 80, 20];
    attempts.forEach(({ delay }, index) => {
      const ceiling = ceilings[index] ?? 0;
      assert.ok(delay >= ceiling / 2 && delay <= ceiling, `delay ${delay} of attempt ${index + 1} outside [${ceiling / 2}, ${ceiling}]`);
    });
  });

  test('reconnect: false ends the watch with UNAVAILABLE', async () => {
    const subscriptions = await serve((call) => unavailable(call));
    const error = await new Promise<ServiceError | undefined>((resolve) => {
      client.watchToken('sales-imap', () => undefined, resolve, { reconnect: false });
    });
    assert.equal(error?.code, GrpcStatus.UNAVAILABLE);
    assert.equal(subscriptions(), 1);
  });

  test('a broker that goes away mid-stream and comes back on the same socket is found again', async () => {
    await serve((call) => call.write(token('first', 100)));
    const delivered: string[] = [];
    client.watchToken('sales-imap', (received) => delivered.push(received.accessToken), () => undefined, { reconnect: { initialDelayMs: 10, maxDelayMs: 50 } });
    await eventually(() => delivered.length === 1, 'the first token');
    // Gone without a status: grpc-js resets the stream, the client sees CANCELLED it did not ask for.
    server?.forceShutdown();
    const again = await startScriptedBroker(socketPath, (call) => call.write(token('second', 200)));
    server = again.server;
    await eventually(() => delivered.length === 2, 'the token of the new broker');
    assert.deepEqual(delivered, ['first', 'second']);
  });

  test('watchTokens: an async iterator that yields tokens and throws the status that ends the watch', async () => {
    await serve((call) => {
      call.write(token('a', 100));
      setTimeout(() => {
        call.write(token('b', 200));
        call.emit('error', { code: GrpcStatus.NOT_FOUND, details: 'no mailbox named "sales-imap"' });
      }, 20);
    });
    const seen: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const received of client.watchTokens('sales-imap')) seen.push(received.accessToken);
      })(),
      (error: ServiceError) => error.code === GrpcStatus.NOT_FOUND,
    );
    assert.deepEqual(seen, ['a', 'b']);
  });

  test('watchTokens: break cancels the stream on the broker', async () => {
    let cancelled = false;
    await serve((call) => {
      call.on('cancelled', () => (cancelled = true));
      call.write(token('a', 100));
    });
    for await (const received of client.watchTokens('sales-imap')) {
      assert.equal(received.accessToken, 'a');
      break;
    }
    await eventually(() => cancelled, 'the broker to see the cancellation');
  });
});

describe('watchToken across restarts of the real daemon (same socket, SQLite store)', () => {
  const TENANT = randomUUID();
  const APP = randomUUID();
  let environment: BrokerEnvironment;
  let restarted: DaemonProcess | undefined;

  before(async () => {
    environment = await startBrokerEnvironment({
      prefix: 'tb-watch-restart-',
      setup: (sandbox) => sandbox.registerApplication({ tenantId: TENANT, clientId: APP, clientSecret: 'app-secret' }),
      config: ({ sandbox, address }) => `server: { listen: ["${address}"] }
store:
  url: sqlite://tokens.sqlite
  encryptionKeyFile: store.key
authorizationServers:
  microsoft: { authorityHost: "${sandbox.url}", caFile: ca.pem }
mailboxes:
${clientCredentialsMailbox('sales-imap', TENANT, APP, 'app-secret')}`,
    });
  });

  after(async () => {
    await restarted?.stop();
    await environment?.stop();
  });

  test('the watcher keeps receiving after SIGTERM and after SIGKILL, without duplicates', async () => {
    const { client, sandbox } = environment;
    const delivered: BrokerToken[] = [];
    const reconnects: (number | undefined)[] = [];
    const ends: (ServiceError | undefined)[] = [];
    const watch = client.watchToken('sales-imap', (received) => delivered.push(received), (error) => ends.push(error), {
      reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
      onReconnect: (_attempt, _delay, cause) => reconnects.push(cause?.code),
    });
    await eventually(() => delivered.length === 1, 'the first token');
    const first = delivered[0]?.accessToken ?? '';
    assert.ok(sandbox.verifyAccessToken(first));

    // A graceful restart: the daemon ends the watch with UNAVAILABLE and comes back with the token from its store.
    assert.equal(await environment.daemon.stop(), 0);
    await eventually(() => reconnects.length >= 1, 'a reconnect');
    assert.equal(reconnects[0], GrpcStatus.UNAVAILABLE);
    sandbox.stats.reset();
    restarted = await startDaemonProcess(environment.configFile, environment.address);
    // Unary calls fail fast while the client's channel waits to reconnect; the watch waits for it.
    assert.equal((await untilConnected(() => client.getToken('sales-imap'))).accessToken, first, 'the token survived in the store');
    assert.equal(sandbox.stats.total, 0);
    const second = await client.reportRejected('sales-imap', first, 'NO AUTHENTICATE failed.');
    await eventually(() => delivered.length === 2, 'the token obtained after the restart');
    assert.equal(delivered[1]?.accessToken, second.accessToken);

    // A crash: no status at all, the connection just drops, and the socket file stays behind.
    const crashed = restarted;
    crashed.child.kill('SIGKILL');
    await new Promise((resolve) => crashed.child.once('exit', resolve));
    restarted = await startDaemonProcess(environment.configFile, environment.address);
    const third = await untilConnected(() => client.reportRejected('sales-imap', second.accessToken, 'NO AUTHENTICATE failed.'));
    await eventually(() => delivered.length === 3, 'the token obtained after the crash');
    assert.deepEqual(
      delivered.map((received) => received.accessToken),
      [first, second.accessToken, third.accessToken],
    );
    assert.deepEqual(ends, [], 'the watch never ended');
    watch.cancel();
    await eventually(() => ends.length === 1, 'the end after cancel');
  });
});
