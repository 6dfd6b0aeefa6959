// Every Entra answer of issue 13 through the real path: the Entra-shaped
// sandbox answers it over HTTPS to msal-node (ROPC for the user's errors,
// client credentials for the application's), the engine classifies it, and
// both the gRPC error (status, message, `token-broker-error-code`) and the
// mailbox status (last error code and message) carry the AADSTS code and the
// remediation. One daemon, a manual clock (to pass each failure's pause
// without waiting) and a manual scheduler (no sweep takes an injected answer
// meant for a GetToken).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import type { TokenBrokerClient } from '../../src/client/index.js';
import { ManualClock, ManualScheduler } from '../../src/time/index.js';
import { eventually } from '../support/assertions.js';
import { ENTRA_ANSWER_CASES, placesOf } from '../support/entra-answer-cases.js';
import type { EntraCaseGrant } from '../support/entra-answer-cases.js';
import { startInProcessBroker } from '../support/in-process-broker.js';
import type { InProcessBroker } from '../support/in-process-broker.js';

const TENANT = randomUUID();
const APP = randomUUID();
const PUBLIC_APP = randomUUID();
/** Longer than any pause after a failure (an hour after a permanent one). */
const PAST_ANY_PAUSE_MS = 2 * 3_600_000;

/** The mailbox of each grant; neither ever gets a token, so every GetToken asks the sandbox. */
const MAILBOX: Readonly<Record<EntraCaseGrant, string>> = { ropc: 'user-graph', 'client-credentials': 'app-imap' };
const SERVER = 'entra';

describe('Entra answers through the sandbox, the engine and gRPC', () => {
  const clock = new ManualClock(Date.now());
  let world: InProcessBroker;
  let client: TokenBrokerClient;

  before(async () => {
    world = await startInProcessBroker({
      prefix: 'tb-entra-answers-',
      // The user is never registered and the application's secret is not the configured one, so the
      // warm-up fails for good: the only answers either mailbox gets from then on are the injected ones.
      setup: (sandbox) => {
        sandbox.registerApplication({ tenantId: TENANT, clientId: APP, clientSecret: `registered-${randomUUID()}` });
        sandbox.registerApplication({ tenantId: TENANT, clientId: PUBLIC_APP, publicClient: true });
      },
      config: ({ sandbox, address }) => `server:
  listen: ["${address}"]
store: { url: "memory:" }
authorizationServers:
  ${SERVER}: { type: microsoft, authorityHost: "${sandbox.url}", caFile: ca.pem }
mailboxes:
  ${MAILBOX['client-credentials']}:
    protocol: imap
    authorizationServer: ${SERVER}
    grantType: client-credentials
    tenantId: ${TENANT}
    clientId: ${APP}
    clientSecret: configured-${randomUUID()}
    username: shared@contoso.example
  ${MAILBOX.ropc}:
    protocol: graph
    authorizationServer: ${SERVER}
    grantType: ropc
    tenantId: ${TENANT}
    clientId: ${PUBLIC_APP}
    username: alice@contoso.example
    password: pw-${randomUUID()}
`,
      daemon: { clock, scheduler: new ManualScheduler() },
    });
    client = world.connect();
    // The warm-up's requests are over before any answer is injected.
    const daemon = world.daemon;
    assert.ok(daemon !== undefined);
    await eventually(() => {
      for (const mailbox of Object.values(MAILBOX)) assert.ok(daemon.broker.status(mailbox).lastError !== undefined, `${mailbox} warmed up`);
    });
  });

  after(async () => {
    await world?.stop();
  });

  test('each AADSTS answer reaches the gRPC error and the mailbox status with its code and remediation', async () => {
    for (const entry of ENTRA_ANSWER_CASES) {
      const mailbox = MAILBOX[entry.grant];
      const label = `AADSTS${entry.aadsts} (${entry.grant})`;
      const requestsBefore = world.sandbox.stats.forClient(entry.grant === 'ropc' ? PUBLIC_APP : APP);
      // Queued before the pause ends, so whichever acquisition comes next meets it.
      world.sandbox.failNext({ status: entry.status, error: entry.error, aadsts: entry.aadsts, description: `Entra's own words for ${entry.aadsts}.` });
      clock.advance(PAST_ANY_PAUSE_MS);

      const refused = await client.getToken(mailbox).then(
        () => assert.fail(`${label}: a token instead of the refusal`),
        (error: unknown) => error as ServiceError,
      );
      assert.equal(refused.code, entry.code === 'authorization_server_error' ? GrpcStatus.UNAVAILABLE : GrpcStatus.FAILED_PRECONDITION, `${label}: ${refused.details}`);
      assert.deepEqual(refused.metadata.get('token-broker-error-code'), [`AADSTS${entry.aadsts}`], label);
      assert.match(refused.details, new RegExp(`^mailbox ${mailbox}: authorization server ${SERVER} refused the ${entry.grant} token request: AADSTS${entry.aadsts}: Entra's own words`), label);
      assert.match(refused.details, entry.what, label);
      for (const place of placesOf(entry, mailbox, SERVER)) assert.ok(refused.details.includes(place), `${label}: "${place}" missing from ${refused.details}`);
      assert.ok(world.sandbox.stats.forClient(entry.grant === 'ropc' ? PUBLIC_APP : APP) > requestsBefore, `${label}: the sandbox answered it`);

      const status = (await client.listMailboxes()).find((candidate) => candidate.mailbox === mailbox);
      assert.ok(status !== undefined, label);
      assert.equal(status.lastErrorCode, `AADSTS${entry.aadsts}`, label);
      assert.equal(status.state, entry.code === 'needs_authorization' ? 'NEEDS_AUTHORIZATION' : 'FAILING', label);
      assert.match(status.lastErrorMessage, entry.what, label);
      for (const place of placesOf(entry, mailbox, SERVER)) assert.ok(status.lastErrorMessage.includes(place), `${label}: "${place}" missing from the status`);
    }
  });
});
