// Client policy in server.clients[*] (issue 12, point 6): which protocols a
// client may receive tokens for, whether it may watch and how many streams it
// may hold, and its call budget; each refusal with its code. And the
// configurable request size (server.limits). The daemon
// in-process with a manual clock (the budget is timed by it), the sandbox as
// the authorization server.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import type { BrokerToken, TokenBrokerClient, TokenWatch } from '../../src/client/index.js';
import { ManualClock } from '../../src/time/index.js';
import { clientCredentialsMailbox, startInProcessBroker } from '../support/in-process-broker.js';
import type { InProcessBroker } from '../support/in-process-broker.js';

const KEYS = { sender: `sender-${randomUUID()}`, poller: `poller-${randomUUID()}`, watcher: `watcher-${randomUUID()}`, budgeted: `budgeted-${randomUUID()}` };

function rejectsWith(promise: Promise<unknown>, code: GrpcStatus, pattern: RegExp): Promise<void> {
  return assert.rejects(promise, (error: ServiceError) => {
    assert.equal(error.code, code, `${GrpcStatus[error.code]}: ${error.details}`);
    assert.match(error.details, pattern);
    return true;
  });
}

describe('client policy', () => {
  let broker: InProcessBroker;
  const clock = new ManualClock(Date.now());
  const connect = (key: string): TokenBrokerClient => broker.connect(key);

  /** Opens a watch and resolves once its first token arrived (the stream is open on the server), or rejects with how it ended. */
  function openWatch(client: TokenBrokerClient, mailbox: string): Promise<TokenWatch> {
    return new Promise((resolve, reject) => {
      const watch = client.watchToken(
        mailbox,
        (_token: BrokerToken) => resolve(watch),
        (error) => reject(error ?? new Error('the watch ended without a token')),
        { reconnect: false },
      );
    });
  }

  before(async () => {
    const app = { tenantId: randomUUID(), clientId: randomUUID(), clientSecret: 'app-secret' };
    broker = await startInProcessBroker({
      prefix: 'tb-policy-',
      daemon: { clock },
      setup: async (sandbox, directory) => {
        sandbox.registerApplication(app);
        for (const [name, key] of Object.entries(KEYS)) await writeFile(path.join(directory, `${name}.key`), `${key}\n`, { mode: 0o600 });
      },
      config: ({ sandbox, address }) => `server:
  listen: ["${address}"]
  limits: { maxRequestBytes: 2048 }
  clients:
    - { name: sender, keyFile: sender.key, mailboxes: ["*"], protocols: [smtp] }
    - { name: poller, keyFile: poller.key, mailboxes: ["*"], watch: false }
    - { name: watcher, keyFile: watcher.key, mailboxes: ["*"], maxWatches: 2 }
    - { name: budgeted, keyFile: budgeted.key, mailboxes: ["*"], callsPerSecond: 2 }
store: { url: "memory:" }
authorizationServers:
  microsoft: { authorityHost: "${sandbox.url}", caFile: ca.pem }
mailboxes:
${clientCredentialsMailbox('sales-imap', app)}${clientCredentialsMailbox('sales-smtp', app, 'smtp')}`,
    });
    await broker.daemon?.broker.getToken('sales-imap');
    await broker.daemon?.broker.getToken('sales-smtp');
  });

  after(async () => {
    await broker?.stop();
  });

  test('protocols: an SMTP sender gets SMTP tokens and is refused IMAP ones, on every RPC that hands one out', async () => {
    const sender = connect(KEYS.sender);
    assert.equal((await sender.getToken('sales-smtp')).mailbox, 'sales-smtp');
    const refusal = /client sender may not receive tokens for imap mailboxes such as sales-imap \(its protocols: smtp\)/;
    await rejectsWith(sender.getToken('sales-imap'), GrpcStatus.PERMISSION_DENIED, refusal);
    await rejectsWith(openWatch(sender, 'sales-imap'), GrpcStatus.PERMISSION_DENIED, refusal);
    await rejectsWith(sender.reportRejected('sales-imap', 'x', 'AUTHENTICATE failed'), GrpcStatus.PERMISSION_DENIED, refusal);
  });

  test('watch: false refuses WatchToken and keeps GetToken', async () => {
    const poller = connect(KEYS.poller);
    assert.equal((await poller.getToken('sales-imap')).mailbox, 'sales-imap');
    await rejectsWith(openWatch(poller, 'sales-imap'), GrpcStatus.PERMISSION_DENIED, /client poller may not open WatchToken streams \(server\.clients\[\]\.watch is false\)/);
  });

  test('maxWatches: a third stream is RESOURCE_EXHAUSTED; once one ends another may open', async () => {
    const watcher = connect(KEYS.watcher);
    const first = await openWatch(watcher, 'sales-imap');
    await openWatch(watcher, 'sales-smtp');
    await rejectsWith(openWatch(watcher, 'sales-imap'), GrpcStatus.RESOURCE_EXHAUSTED, /client watcher already holds 2 WatchToken stream\(s\), its limit \(server\.clients\[\]\.maxWatches\)/);
    first.cancel();
    // The server hears of the cancel on its own time: try until it has (each try is answered, nothing sleeps).
    let reopened: TokenWatch | undefined;
    for (let attempt = 0; attempt < 1_000 && reopened === undefined; attempt++) {
      reopened = await openWatch(watcher, 'sales-imap').catch((error: ServiceError) => {
        assert.equal(error.code, GrpcStatus.RESOURCE_EXHAUSTED, error.details);
        return undefined;
      });
    }
    assert.ok(reopened !== undefined, 'a stream ended, yet no new one may open');
  });

  test('callsPerSecond: two seconds of calls at once, then RESOURCE_EXHAUSTED saying when to retry; the budget refills with time', async () => {
    const budgeted = connect(KEYS.budgeted);
    for (let call = 0; call < 4; call++) assert.equal((await budgeted.getToken('sales-imap')).mailbox, 'sales-imap');
    await rejectsWith(budgeted.getToken('sales-imap'), GrpcStatus.RESOURCE_EXHAUSTED, /client budgeted called more than 2 times a second \(server\.clients\[\]\.callsPerSecond\); retry in 500 ms/);
    // Every RPC draws on the same budget, ListMailboxes included.
    await rejectsWith(budgeted.listMailboxes(), GrpcStatus.RESOURCE_EXHAUSTED, /retry in 500 ms/);
    clock.advance(500);
    assert.equal((await budgeted.getToken('sales-imap')).mailbox, 'sales-imap');
    await rejectsWith(budgeted.getToken('sales-imap'), GrpcStatus.RESOURCE_EXHAUSTED, /retry in 500 ms/);
    // Another client's budget is its own.
    assert.equal((await connect(KEYS.poller).getToken('sales-imap')).mailbox, 'sales-imap');
  });

  test('server.limits.maxRequestBytes: a request over it is RESOURCE_EXHAUSTED before any handler reads it', async () => {
    const poller = connect(KEYS.poller);
    await rejectsWith(poller.getToken('x'.repeat(3_000)), GrpcStatus.RESOURCE_EXHAUSTED, /larger than max/i);
    assert.equal((await poller.getToken('sales-imap')).mailbox, 'sales-imap');
  });
});
