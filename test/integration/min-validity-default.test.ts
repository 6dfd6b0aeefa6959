// A server whose tokens live less than the default min_validity (60 s): a
// GetToken or WatchToken that leaves min_validity_seconds 0 is served a token
// valid for at least half its lifetime, and gets a fresh one once less than
// half is left; an explicit 60 is INVALID_ARGUMENT as before. The sandbox
// issues 20 s tokens; the daemon runs in this process on a manual clock
// (shared with the sandbox) and a manual scheduler, so no sweep refreshes
// behind the test's back and time moves only when the test says.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import type { BrokerToken, TokenBrokerClient } from '../../src/client/index.js';
import { ManualClock, ManualScheduler } from '../../src/time/index.js';
import { eventually } from '../support/assertions.js';
import { clientCredentialsMailbox, startInProcessBroker } from '../support/in-process-broker.js';
import type { InProcessBroker } from '../support/in-process-broker.js';

const MAILBOX = 'quick-imap';
const LIFETIME_SECONDS = 20;

describe('min_validity_seconds 0 with tokens that live 20 s', () => {
  const clock = new ManualClock(Date.now());
  let world: InProcessBroker;
  let client: TokenBrokerClient;

  /** The token the daemon holds now, as the engine sees it (obtainedAt is not on the wire). */
  async function held(): Promise<{ accessToken: string; expiresAt: number; obtainedAt: number }> {
    const engine = world.daemon?.broker;
    assert.ok(engine !== undefined);
    return engine.getToken(MAILBOX, 0);
  }

  before(async () => {
    const app = { tenantId: randomUUID(), clientId: randomUUID(), clientSecret: 'app-secret' };
    world = await startInProcessBroker({
      prefix: 'tb-min-validity-default-',
      sandbox: { clock, accessTokenLifetimeSeconds: LIFETIME_SECONDS },
      daemon: { clock, scheduler: new ManualScheduler() },
      setup: (sandbox) => void sandbox.registerApplication(app),
      config: ({ sandbox, address }) => `server: { listen: ["${address}"] }
store: { url: "memory:" }
authorizationServers:
  microsoft: { authorityHost: "${sandbox.url}", caFile: ca.pem }
mailboxes:
${clientCredentialsMailbox(MAILBOX, app)}`,
    });
    client = world.connect();
  });

  after(async () => {
    await world?.stop();
  });

  test('GetToken with 0 is served the short-lived token, and again from the cache', async () => {
    const token = await client.getToken(MAILBOX);
    assert.ok(world.sandbox.verifyAccessToken(token.accessToken), 'a token the sandbox issued');
    const requests = world.sandbox.stats.total;
    const again = await client.getToken(MAILBOX);
    assert.equal(again.accessToken, token.accessToken);
    assert.equal(world.sandbox.stats.total, requests, 'no token request for it');
    const current = await held();
    assert.ok(current.expiresAt - clock.now() >= (current.expiresAt - current.obtainedAt) / 2, 'at least half its lifetime left');
  });

  test('GetToken with an explicit 60 is INVALID_ARGUMENT as before, without a token request', async () => {
    await client.getToken(MAILBOX);
    const requests = world.sandbox.stats.total;
    await assert.rejects(client.getToken(MAILBOX, { minValiditySeconds: 60 }), (error: ServiceError) => {
      assert.equal(error.code, GrpcStatus.INVALID_ARGUMENT);
      assert.match(error.details, /^mailbox quick-imap: microsoft issues tokens valid for \d+ s, less than the 60 s asked for \(min_validity_seconds\)/);
      return true;
    });
    assert.equal(world.sandbox.stats.total, requests);
  });

  test('WatchToken with an explicit 60 ends with INVALID_ARGUMENT as before', async () => {
    const ended = await new Promise<ServiceError | undefined>((resolve) => {
      client.watchToken(MAILBOX, () => undefined, resolve, { minValiditySeconds: 60, reconnect: false });
    });
    assert.equal(ended?.code, GrpcStatus.INVALID_ARGUMENT);
    assert.match(ended?.details ?? '', /less than the 60 s asked for \(min_validity_seconds\)/);
  });

  test('less than half the lifetime left: GetToken with 0 gets a fresh token, and a WatchToken with 0 is pushed it', async () => {
    const pushed: BrokerToken[] = [];
    // Compared by name: a failing assertion prints no token.
    const names = (tokens: Record<string, string>): string[] => pushed.map((token) => Object.keys(tokens).find((name) => tokens[name] === token.accessToken) ?? 'another token');
    let ended: ServiceError | undefined;
    const watch = client.watchToken(MAILBOX, (token) => pushed.push(token), (error) => (ended = error), { reconnect: false });
    try {
      const old = await held();
      await eventually(() => assert.deepEqual(names({ old: old.accessToken }), ['old'], `the watch's current token (ended: ${ended?.details})`));
      const requests = world.sandbox.stats.total;
      // One second less than half the lifetime left.
      clock.set(old.expiresAt - (old.expiresAt - old.obtainedAt) / 2 + 1_000);
      const fresh = await client.getToken(MAILBOX);
      assert.ok(fresh.accessToken !== old.accessToken, 'a new token');
      assert.ok(world.sandbox.verifyAccessToken(fresh.accessToken), 'a token the sandbox issued');
      assert.equal(world.sandbox.stats.total, requests + 1, 'one token request');
      await eventually(() => assert.deepEqual(names({ old: old.accessToken, fresh: fresh.accessToken }), ['old', 'fresh']));
      assert.equal(ended, undefined, 'the watch is still open');
    } finally {
      watch.cancel();
    }
  });
});
