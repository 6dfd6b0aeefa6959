// Hostile pasted redirect URLs, codes and states, property-based (fast-check)
// against the daemon in-process: whatever an operator (or someone with an
// admin key) pastes, CompleteAuthorization answers INVALID_ARGUMENT or
// FAILED_PRECONDITION with a short message, redeems nothing at the token
// endpoint unless the URL is the mailbox's redirect URI with the state of the
// authorization in progress, and leaves that authorization usable.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import fc from 'fast-check';
import type { TokenBrokerClient } from '../../src/client/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { signInRedirect } from '../support/browser.js';
import { startInProcessBroker } from '../support/in-process-broker.js';
import type { InProcessBroker } from '../support/in-process-broker.js';

const SEED = process.env.FC_SEED === undefined ? 20261205 : Number(process.env.FC_SEED);
const RUNS = (fallback: number): number => (process.env.FC_RUNS === undefined ? fallback : Number(process.env.FC_RUNS));

const TENANT = randomUUID();
const WEB_APP = randomUUID();
const WEB_SECRET = `web-${randomUUID()}`;
const WEB_REDIRECT = 'https://broker.contoso.example/oauth/callback';

describe('hostile authorization responses', () => {
  let broker: InProcessBroker;
  let sandbox: Sandbox;
  let client: TokenBrokerClient;

  before(async () => {
    broker = await startInProcessBroker({
      prefix: 'tb-hostile-authz-',
      setup: (world) => {
        world.registerApplication({ tenantId: TENANT, clientId: WEB_APP, clientSecret: WEB_SECRET, redirectUris: [WEB_REDIRECT] });
        world.registerUser({ tenantId: TENANT, username: 'alice@contoso.example', password: `pw-${randomUUID()}` });
      },
      config: ({ sandbox: world, address }) => `server: { listen: ["${address}"] }
store: { url: "memory:" }
authorizationServers:
  microsoft: { authorityHost: "${world.url}", caFile: ca.pem }
mailboxes:
  pasted:
    protocol: imap
    grantType: authorization-code
    tenantId: ${TENANT}
    clientId: ${WEB_APP}
    clientSecret: ${WEB_SECRET}
    redirectUri: ${WEB_REDIRECT}
    redirectPlatform: web
    username: alice@contoso.example
`,
    });
    sandbox = broker.sandbox;
    client = broker.connect();
  });

  after(async () => {
    await broker?.stop();
  });

  test('random redirect URLs, codes and states: refused briefly, nothing redeemed, the real redirect still completes', async () => {
    const started = await client.startAuthorization('pasted');
    const landed = new URL(await signInRedirect(started.authorizationUrl, sandbox.caCertificatePem));
    const realCode = landed.searchParams.get('code') ?? '';
    // URLs of every shape, the redirect URI with wrong states, and raw text.
    const hostileUrl = fc.oneof(
      fc.webUrl({ withQueryParameters: true, withFragments: true }),
      fc.tuple(fc.string({ maxLength: 80 }), fc.string({ maxLength: 40 })).map(([code, state]) => `${WEB_REDIRECT}?code=${encodeURIComponent(code)}&state=${encodeURIComponent(state)}`),
      fc.string({ maxLength: 300 }).map((state) => `${WEB_REDIRECT}?code=${realCode}&state=${encodeURIComponent(state)}`),
      fc.constantFrom(`${WEB_REDIRECT}?code=${realCode}`, `${WEB_REDIRECT}?state=${started.state}`, `${WEB_REDIRECT}?error=access_denied&state=x`, 'javascript:alert(1)', 'file:///etc/passwd', `https://evil.example/oauth/callback${landed.search}`),
      fc.string({ maxLength: 2_000 }),
    );
    const answer = fc.oneof(
      hostileUrl.map((redirectUrl) => ({ redirectUrl })),
      fc.tuple(fc.string({ maxLength: 200 }), fc.string({ maxLength: 200 })).map(([code, state]) => ({ code, state })),
    );
    const before = sandbox.stats.total;
    await fc.assert(
      fc.asyncProperty(answer, async (response) => {
        await assert.rejects(client.completeAuthorization('pasted', response), (error: ServiceError) => {
          assert.ok([GrpcStatus.INVALID_ARGUMENT, GrpcStatus.FAILED_PRECONDITION].includes(error.code), `${GrpcStatus[error.code]}: ${error.details}`);
          assert.ok(error.details.length <= 1_000, `a status message of ${error.details.length} characters`);
          assert.ok(!error.details.includes(realCode), 'the code of the real redirect is quoted back');
          return true;
        });
      }),
      { seed: SEED, numRuns: RUNS(200) },
    );
    assert.equal(sandbox.stats.total, before, 'a hostile answer reached the token endpoint');
    assert.equal((await client.completeAuthorization('pasted', { redirectUrl: landed.href })).state, 'READY');
  });
});
