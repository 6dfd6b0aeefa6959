// WatchToken pushes the current token, then each new one; ReportRejected
// refreshes once per mailbox per 30 s; shutdown ends watches with a status
// the client can act on. Against the real daemon binary and the sandbox.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import type { BrokerToken, TokenBrokerClient } from '../../src/client/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { eventually } from '../support/assertions.js';
import { clientCredentialsMailbox, startBrokerEnvironment } from '../support/broker-environment.js';
import type { BrokerEnvironment } from '../support/broker-environment.js';
import type { DaemonProcess } from '../support/daemon-process.js';

const TENANT = randomUUID();
const APP = randomUUID();

/** Resolves once `received` holds `count` tokens. */
async function waitFor(received: BrokerToken[], count: number): Promise<void> {
  await eventually(() => assert.ok(received.length >= count, `expected ${count} pushed tokens, got ${received.length}`));
}

describe('WatchToken and ReportRejected', () => {
  let environment: BrokerEnvironment;
  let sandbox: Sandbox;
  let daemon: DaemonProcess;
  let client: TokenBrokerClient;

  before(async () => {
    environment = await startBrokerEnvironment({
      prefix: 'tb-watch-',
      setup: (server) => server.registerApplication({ tenantId: TENANT, clientId: APP, clientSecret: 'app-secret' }),
      config: ({ sandbox: server, address }) => `server: { listen: ["${address}"] }
store: { url: "memory:" }
authorizationServers:
  microsoft: { authorityHost: "${server.url}", caFile: ca.pem }
mailboxes:
${clientCredentialsMailbox('sales-imap', TENANT, APP, 'app-secret')}`,
    });
    ({ sandbox, daemon, client } = environment);
  });

  after(() => environment?.stop());

  const received: BrokerToken[] = [];
  let ended: Promise<ServiceError | undefined>;

  test('WatchToken sends the current token at once', async () => {
    ended = new Promise((resolve) => {
      // Without reconnecting, so the last test sees the status shutdown ends the stream with.
      client.watchToken('sales-imap', (token) => received.push(token), resolve, { reconnect: false });
    });
    await waitFor(received, 1);
    assert.ok(sandbox.verifyAccessToken(received[0]?.accessToken ?? ''));
    assert.equal((await client.getToken('sales-imap')).accessToken, received[0]?.accessToken);
  });

  test('ReportRejected refreshes once and the watch receives the new token', async () => {
    sandbox.stats.reset();
    const rejected = received[0]?.accessToken ?? '';
    const fresh = await client.reportRejected('sales-imap', rejected, 'NO AUTHENTICATE failed.');
    assert.notEqual(fresh.accessToken, rejected);
    assert.equal(sandbox.stats.total, 1);
    await waitFor(received, 2);
    assert.equal(received[1]?.accessToken, fresh.accessToken);
    assert.match(daemon.stderr(), /Exchange Online service principal/);
  });

  test('a second report within 30 s, or a report of an old token, gets the current token without a request', async () => {
    sandbox.stats.reset();
    const current = received[1]?.accessToken ?? '';
    assert.equal((await client.reportRejected('sales-imap', current, 'again')).accessToken, current);
    assert.equal((await client.reportRejected('sales-imap', received[0]?.accessToken ?? '', 'old')).accessToken, current);
    assert.equal(sandbox.stats.total, 0);
  });

  test('an unknown mailbox is NOT_FOUND for both', async () => {
    await assert.rejects(client.reportRejected('nope', 'x', 'y'), (error: ServiceError) => error.code === GrpcStatus.NOT_FOUND);
    const status = await new Promise<ServiceError | undefined>((resolve) => {
      client.watchToken('nope', () => undefined, resolve);
    });
    assert.equal(status?.code, GrpcStatus.NOT_FOUND);
  });

  test('SIGTERM ends the watch with UNAVAILABLE at once and exits 0', async () => {
    const code = await daemon.stop();
    assert.equal(code, 0);
    const status = await ended;
    assert.equal(status?.code, GrpcStatus.UNAVAILABLE);
    assert.match(status?.details ?? '', /shutting down; reconnect/);
    assert.doesNotMatch(daemon.stderr(), /grace period ran out/, 'the open stream did not hold shutdown for the grace period');
  });
});
