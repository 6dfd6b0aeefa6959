// min_validity_seconds cannot make the broker hammer the authorization
// server, and tokens are judged against it the same way everywhere:
// - a request no token can satisfy (longer than the tokens the server
//   issues) costs one request per token lifetime, not one per call;
// - more than a day is refused before any request (INVALID_ARGUMENT);
// - WatchToken pushes no token valid for less than the stream's min_validity;
// - a token the server issues already expired (expires_in 0 or 1) is the
//   server's fault: a transient authorization_server_error with backoff,
//   never the caller's INVALID_ARGUMENT.
// The engine runs on a manual clock; the gRPC cases go through the real
// server on a unix socket.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { credentials, status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { TokenBroker } from '../../src/broker/index.js';
import type { Grant, GrantState, TokenResult } from '../../src/broker/index.js';
import { TokenBrokerClient } from '../../src/client/index.js';
import { HttpTransport } from '../../src/http/index.js';
import { silentLogger } from '../../src/logging/index.js';
import { loadBrokerProto } from '../../src/proto/index.js';
import type { TokenMessage__Output } from '../../src/proto/index.js';
import { BrokerGrpcServer } from '../../src/server/index.js';
import { ManualClock } from '../../src/time/index.js';
import { eventually, rejection } from '../support/assertions.js';
import { memoryStore, testMailbox } from '../support/mailbox.js';

const HOUR = 3_600_000;

/** A grant that answers at once, each time with the next lifetime of `lifetimesMs` (the last one repeats), and counts its requests. */
class AnsweringGrant implements Grant {
  readonly type = 'authorization-code' as const;
  readonly interactive = false;
  calls = 0;
  readonly refreshTokensUsed: (string | undefined)[] = [];
  readonly #clock: ManualClock;
  readonly #lifetimesMs: number[];

  constructor(clock: ManualClock, lifetimesMs: number[]) {
    this.#clock = clock;
    this.#lifetimesMs = lifetimesMs;
  }

  acquire(state: GrantState): Promise<TokenResult> {
    this.calls++;
    this.refreshTokensUsed.push(state.refreshToken);
    const lifetime = this.#lifetimesMs.length > 1 ? (this.#lifetimesMs.shift() ?? HOUR) : (this.#lifetimesMs[0] ?? HOUR);
    return Promise.resolve({ accessToken: `tok-${this.calls}`, tokenType: 'Bearer', expiresAt: this.#clock.now() + lifetime, scopes: ['s'], refreshToken: `rt-${this.calls}` });
  }
}

function newBroker(lifetimesMs: number[] = [HOUR]): { clock: ManualClock; broker: Promise<TokenBroker>; grant: AnsweringGrant } {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const grant = new AnsweringGrant(clock, lifetimesMs);
  const broker = memoryStore().then(
    (store) =>
      new TokenBroker({
        mailboxes: [testMailbox({ name: 'sales', grantType: 'authorization-code' })],
        refresh: { leadTimeSeconds: 300, maxConcurrentPerServer: 4, sweepIntervalSeconds: 10, idleAfterHours: 24, keepAliveDays: 7 },
        clock,
        logger: silentLogger(),
        dependencies: { transport: new HttpTransport(), clock, logger: silentLogger() },
        store,
        grantFactory: () => grant,
        random: () => 0.5,
      }),
  );
  return { clock, broker, grant };
}

/** The broker behind the real gRPC server on a unix socket, with a client of each kind. */
async function serve(broker: TokenBroker): Promise<{ client: TokenBrokerClient; address: string; stop: () => Promise<void> }> {
  const directory = await mkdtemp(path.join(tmpdir(), 'tb-min-validity-'));
  const socket = path.join(directory, 'broker.sock');
  const address = `unix://${socket}`;
  const server = new BrokerGrpcServer({ config: { listen: [{ kind: 'unix', path: socket, url: address }], socketMode: 0o600 }, broker, logger: silentLogger() });
  await server.start();
  const client = new TokenBrokerClient({ address });
  return {
    client,
    address,
    async stop() {
      client.close();
      await server.stop(0);
      await rm(directory, { recursive: true, force: true });
    },
  };
}

describe('min_validity_seconds', () => {
  test('longer than the tokens the server issues: one request, then answered from what the broker knows until the token is due', async () => {
    const { clock, broker: starting, grant } = newBroker();
    const broker = await starting;
    for (let call = 1; call <= 30; call++) {
      const failure = await rejection(broker.getToken('sales', 7_200));
      assert.equal(failure.code, 'invalid_request', `call ${call}`);
      assert.match(failure.message, /valid for 3600 s/, `call ${call}`);
      assert.match(failure.message, /7200 s/, `call ${call}`);
    }
    assert.equal(grant.calls, 1, '30 calls cost one token request');
    // What a fresh token can satisfy is still served from the cache, with no request.
    assert.equal((await broker.getToken('sales', 3_000)).accessToken, 'tok-1');
    assert.equal(grant.calls, 1);
    // Once the token is due for refresh, the broker refreshes anyway: such a call may ride on that refresh, once.
    clock.advance(HOUR - 200_000);
    await assert.rejects(broker.getToken('sales', 7_200), { code: 'invalid_request' });
    await assert.rejects(broker.getToken('sales', 7_200), { code: 'invalid_request' });
    assert.equal(grant.calls, 2, 'one more request for the refresh that was due, then none');
    assert.equal((await broker.getToken('sales')).accessToken, 'tok-2');
  });

  test('above a day is INVALID_ARGUMENT, for GetToken and WatchToken, before any token request', async () => {
    const { broker: starting, grant } = newBroker();
    const broker = await starting;
    const server = await serve(broker);
    try {
      await assert.rejects(server.client.getToken('sales', { minValiditySeconds: 4_294_967_295 }), (error: ServiceError) => {
        assert.equal(error.code, GrpcStatus.INVALID_ARGUMENT);
        assert.match(error.details, /GetTokenRequest\.min_validity_seconds is 4294967295, more than a day \(86400 s\)/);
        return true;
      });
      await assert.rejects(broker.getToken('sales', 86_401), { code: 'invalid_request' });
      const ended = await new Promise<ServiceError | undefined>((resolve) => {
        server.client.watchToken('sales', () => undefined, resolve, { minValiditySeconds: 86_401, reconnect: false });
      });
      assert.equal(ended?.code, GrpcStatus.INVALID_ARGUMENT);
      assert.match(ended?.details ?? '', /WatchTokenRequest\.min_validity_seconds is 86401/);
      assert.equal(grant.calls, 0, 'no token request for a request no token can satisfy');
      // A day is still a request the engine takes (some servers issue day-long tokens).
      await assert.rejects(server.client.getToken('sales', { minValiditySeconds: 86_400 }), (error: ServiceError) => error.code === GrpcStatus.INVALID_ARGUMENT && /valid for 3600 s/.test(error.details));
      assert.equal(grant.calls, 1);
    } finally {
      await server.stop();
    }
  });

  test('WatchToken never pushes a token valid for less than the stream asked for', async () => {
    // The first token lives an hour, the second 2.5 s (usable: above EXPIRED_ON_ARRIVAL_MS), the third an hour.
    const { clock, broker: starting } = newBroker([HOUR, 2_500, HOUR]);
    const broker = await starting;
    const server = await serve(broker);
    const proto = loadBrokerProto();
    const raw = new proto.TokenBrokerClient(server.address, credentials.createInsecure());
    const pushed: string[] = [];
    const stream = raw.WatchToken({ mailbox: 'sales', min_validity_seconds: 3 });
    stream.on('data', (token: TokenMessage__Output) => pushed.push(token.access_token));
    stream.on('error', () => undefined);
    try {
      await eventually(() => assert.deepEqual(pushed, ['tok-1']));
      // Refreshes the engine makes while the stream is open: the 2.5 s token, then a good one.
      assert.equal((await broker.reportRejected('sales', 'tok-1', 'test')).accessToken, 'tok-2');
      clock.advance(31_000);
      assert.equal((await broker.reportRejected('sales', 'tok-2', 'test')).accessToken, 'tok-3');
      await eventually(() => assert.ok(pushed.includes('tok-3')));
      assert.deepEqual(pushed, ['tok-1', 'tok-3'], 'the 2.5 s token is not pushed to a stream that asked for 3 s');
    } finally {
      stream.cancel();
      raw.close();
      await server.stop();
    }
  });

  // 1.9 s: an expires_in of 1 as msal-node's whole-second expiry can make it look on arrival.
  for (const expiresIn of [0, 1, 1.9]) {
    test(`a token with expires_in ${expiresIn} is the server's fault: transient, with backoff, and its refresh token kept`, async () => {
      const { clock, broker: starting, grant } = newBroker([expiresIn * 1000, HOUR]);
      const broker = await starting;
      const failure = await rejection(broker.getToken('sales', 1));
      assert.equal(failure.code, 'authorization_server_error', 'not the caller\'s invalid_request');
      assert.equal(failure.permanent, false);
      assert.equal(failure.authorizationServer, 'microsoft');
      assert.match(failure.message, /authorization server microsoft/);
      assert.match(failure.message, new RegExp(`expires_in ${Math.round(expiresIn)}\\b`));
      assert.equal(broker.status('sales').lastError?.code, 'authorization_server_error');
      // The pause after a failure: no new request at once.
      await assert.rejects(broker.getToken('sales', 1), { code: 'authorization_server_error' });
      assert.equal(grant.calls, 1);
      clock.advance(10_000);
      assert.equal((await broker.getToken('sales', 1)).accessToken, 'tok-2');
      assert.deepEqual(grant.refreshTokensUsed, [undefined, 'rt-1'], 'the refresh token that came with the expired token was kept');
      assert.equal(broker.status('sales').state, 'READY');
    });
  }
});
