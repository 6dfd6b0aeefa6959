// Short-lived tokens (6 s) with a 3 s lead time and a 1 s sweep: the broker
// refreshes ahead of each expiry by itself, WatchToken receives every new
// token before the previous one expires, and GetToken never waits on the
// authorization server after the first token. The sandbox answers token
// requests 800 ms late, so a GetToken that waited on it would show.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { BrokerToken, TokenBrokerClient } from '../../src/client/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { clientCredentialsMailbox, startBrokerEnvironment } from '../support/broker-environment.js';
import type { BrokerEnvironment } from '../support/broker-environment.js';

const TENANT = randomUUID();
const APP = randomUUID();
const OBSERVE_MS = 11_000;
const SLOW_SERVER_MS = 800;

describe('proactive refresh of short-lived tokens', () => {
  let environment: BrokerEnvironment;
  let sandbox: Sandbox;
  let client: TokenBrokerClient;

  before(async () => {
    environment = await startBrokerEnvironment({
      prefix: 'tb-proactive-',
      sandbox: { accessTokenLifetimeSeconds: 6 },
      setup: (server) => server.registerApplication({ tenantId: TENANT, clientId: APP, clientSecret: 'app-secret' }),
      config: ({ sandbox: server, address }) => `server: { listen: ["${address}"] }
store: { url: "memory:" }
refresh: { leadTimeSeconds: 3, sweepIntervalSeconds: 1 }
authorizationServers:
  microsoft: { authorityHost: "${server.url}", caFile: ca.pem }
mailboxes:
${clientCredentialsMailbox('fast', TENANT, APP, 'app-secret')}`,
    });
    ({ sandbox, client } = environment);
  });

  after(() => environment?.stop());

  test('each new token arrives on the watch before the previous one expires; GetToken never blocks', async () => {
    await client.getToken('fast', { minValiditySeconds: 1 });
    sandbox.hooks.beforeTokenResponse = () => new Promise((resolve) => setTimeout(resolve, SLOW_SERVER_MS));
    const pushed: { token: BrokerToken; at: number; verified: boolean }[] = [];
    const watch = client.watchToken(
      'fast',
      (token) => pushed.push({ token, at: Date.now(), verified: sandbox.verifyAccessToken(token.accessToken) !== undefined }),
      () => undefined,
      { minValiditySeconds: 1 },
    );
    const waits: number[] = [];
    const until = Date.now() + OBSERVE_MS;
    try {
      while (Date.now() < until) {
        const started = Date.now();
        const token = await client.getToken('fast', { minValiditySeconds: 1 });
        waits.push(Date.now() - started);
        assert.ok(token.expiresAt.getTime() - Date.now() >= 1_000, 'never a token about to expire');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      watch.cancel();
      sandbox.hooks.beforeTokenResponse = undefined;
    }
    assert.ok(pushed.length >= 3, `expected at least 3 tokens in ${OBSERVE_MS} ms, got ${pushed.length}`);
    for (let index = 1; index < pushed.length; index++) {
      const previous = pushed[index - 1];
      const current = pushed[index];
      assert.ok(previous !== undefined && current !== undefined);
      assert.notEqual(current.token.accessToken, previous.token.accessToken);
      assert.ok(current.at < previous.token.expiresAt.getTime(), `token ${index} came after the previous one expired`);
      assert.ok(current.verified, 'issued by the sandbox');
    }
    // Every refresh came from the sweep: no call waited for the slow server.
    const longest = Math.max(...waits);
    assert.ok(longest < SLOW_SERVER_MS, `a GetToken took ${longest} ms: it waited on the authorization server`);
  });
});
