// One request for many callers, against the real daemon and the Entra-shaped
// sandbox: 500 concurrent GetToken calls on a mailbox without a token share
// one acquisition, and 100 client-credentials mailboxes of one application
// share one token (each with its own SASL user).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { TokenBrokerClient } from '../../src/client/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { clientCredentialsMailbox, startBrokerEnvironment } from '../support/broker-environment.js';
import type { BrokerEnvironment } from '../support/broker-environment.js';

const TENANT = randomUUID();
const SHARED_APP = randomUUID();
const COLD_APP = randomUUID();
const OTHER_APP = randomUUID();
const SHARED_MAILBOXES = Array.from({ length: 100 }, (_, index) => `shared-${String(index).padStart(3, '0')}`);
/** Long enough that 500 calls made after the daemon is up all arrive while the first request is still out. */
const SLOW_SERVER_MS = 1_500;

describe('one token request for many callers', () => {
  let environment: BrokerEnvironment;
  let sandbox: Sandbox;
  let client: TokenBrokerClient;

  before(async () => {
    environment = await startBrokerEnvironment({
      prefix: 'tb-shared-',
      setup: (server) => {
        for (const clientId of [SHARED_APP, COLD_APP, OTHER_APP]) server.registerApplication({ tenantId: TENANT, clientId, clientSecret: 'app-secret' });
        // Every token request takes a while, so callers pile up on the one in flight.
        server.hooks.beforeTokenResponse = () => new Promise((resolve) => setTimeout(resolve, SLOW_SERVER_MS));
      },
      config: ({ sandbox: server, address }) => `server: { listen: ["${address}"] }
store: { url: "memory:" }
authorizationServers:
  microsoft: { authorityHost: "${server.url}", caFile: ca.pem }
mailboxes:
${SHARED_MAILBOXES.map((name) => clientCredentialsMailbox(name, TENANT, SHARED_APP, 'app-secret')).join('')}
${clientCredentialsMailbox('cold', TENANT, COLD_APP, 'app-secret')}
${clientCredentialsMailbox('other', TENANT, OTHER_APP, 'app-secret')}`,
    });
    ({ sandbox, client } = environment);
  });

  after(() => environment?.stop());

  test('500 concurrent GetToken calls on a mailbox without a token cause exactly one token request', async () => {
    const calls = Array.from({ length: 500 }, () => client.getToken('cold'));
    const tokens = await Promise.all(calls);
    assert.equal(new Set(tokens.map((token) => token.accessToken)).size, 1, 'all callers got the same token');
    assert.ok(sandbox.verifyAccessToken(tokens[0]?.accessToken ?? ''), 'issued by the sandbox');
    assert.equal(sandbox.stats.forClient(COLD_APP), 1);
  });

  test('100 client-credentials mailboxes of one application cause one token request, each token with its own user', async () => {
    const tokens = await Promise.all(SHARED_MAILBOXES.map((name) => client.getToken(name)));
    assert.equal(new Set(tokens.map((token) => token.accessToken)).size, 1, 'one token for the application');
    for (const [index, token] of tokens.entries()) {
      const name = SHARED_MAILBOXES[index];
      assert.equal(token.mailbox, name);
      assert.equal(token.username, `${name}@contoso.example`);
      assert.equal(Buffer.from(token.saslXoauth2, 'base64').toString(), `user=${name}@contoso.example\x01auth=Bearer ${token.accessToken}\x01\x01`);
    }
    assert.equal(sandbox.stats.forClient(SHARED_APP), 1);
    await client.getToken('other');
    assert.equal(sandbox.stats.forClient(OTHER_APP), 1, 'another application has a token of its own');
  });
});
