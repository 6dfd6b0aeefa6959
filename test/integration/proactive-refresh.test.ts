// Short-lived tokens (10 s) with a 6 s lead time and a 1 s sweep: the broker
// refreshes ahead of each expiry by itself, WatchToken receives every new
// token before the previous one expires, and GetToken never waits on the
// authorization server after the first token. The sandbox holds every token
// request until the test lets it go, and the test calls GetToken while one is
// held: a GetToken that waited on the server would not answer then.
// The default suite watches 2 refreshes; TOKEN_BROKER_SOAK=1 (npm run test:soak) 6.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { BrokerToken, TokenBrokerClient } from '../../src/client/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { eventually } from '../support/assertions.js';
import { clientCredentialsMailbox, startBrokerEnvironment } from '../support/broker-environment.js';
import type { BrokerEnvironment } from '../support/broker-environment.js';

const TENANT = randomUUID();
const APP = randomUUID();
const REFRESHES = process.env.TOKEN_BROKER_SOAK === '1' ? 6 : 2;

describe('proactive refresh of short-lived tokens', () => {
  let environment: BrokerEnvironment;
  let sandbox: Sandbox;
  let client: TokenBrokerClient;

  before(async () => {
    environment = await startBrokerEnvironment({
      prefix: 'tb-proactive-',
      sandbox: { accessTokenLifetimeSeconds: 10 },
      setup: (server) => server.registerApplication({ tenantId: TENANT, clientId: APP, clientSecret: 'app-secret' }),
      config: ({ sandbox: server, address }) => `server: { listen: ["${address}"] }
store: { url: "memory:" }
refresh: { leadTimeSeconds: 6, sweepIntervalSeconds: 1 }
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
    /** Token requests the sandbox holds: each answers when the test calls its function. */
    const held: (() => void)[] = [];
    sandbox.hooks.beforeTokenResponse = () => new Promise<void>((resolve) => held.push(resolve));
    const pushed: { token: BrokerToken; at: number; verified: boolean }[] = [];
    const watch = client.watchToken(
      'fast',
      (token) => pushed.push({ token, at: Date.now(), verified: sandbox.verifyAccessToken(token.accessToken) !== undefined }),
      () => undefined,
      { minValiditySeconds: 1 },
    );
    try {
      await eventually(() => assert.equal(pushed.length, 1, 'the watch sends the current token at once'));
      for (let refresh = 1; refresh <= REFRESHES; refresh++) {
        // The sweep asks the server for a new token ahead of expiry, by itself.
        await eventually(() => assert.equal(held.length, 1, 'the broker did not start a refresh'));
        const sentAt = Date.now();
        const token = await client.getToken('fast', { minValiditySeconds: 1 });
        assert.equal(held.length, 1, 'GetToken answered while the token request was still unanswered');
        assert.ok(token.expiresAt.getTime() >= sentAt + 1_000, 'never a token about to expire');
        assert.equal(token.accessToken, pushed.at(-1)?.token.accessToken, 'the current token, not a new one');
        held.shift()?.();
        await eventually(() => assert.equal(pushed.length, refresh + 1, `the refreshed token ${refresh} on the watch`));
      }
    } finally {
      watch.cancel();
      sandbox.hooks.beforeTokenResponse = undefined;
      for (const release of held) release();
    }
    for (let index = 1; index < pushed.length; index++) {
      const previous = pushed[index - 1];
      const current = pushed[index];
      assert.ok(previous !== undefined && current !== undefined);
      assert.notEqual(current.token.accessToken, previous.token.accessToken);
      assert.ok(current.at < previous.token.expiresAt.getTime(), `token ${index} came after the previous one expired`);
      assert.ok(current.verified, 'issued by the sandbox');
    }
  });
});
