// The authorization-code flow cannot be steered from outside (issue 12,
// point 3): a pasted redirect URL of another site or path is refused, a state
// is bound to its mailbox and used once, and the loopback listener binds
// 127.0.0.1 only, answers only its path, keeps waiting after a stray or
// forged request, and closes after one success or when replaced. Against the
// Entra-shaped sandbox, with the daemon in-process on a unix socket.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { fetch } from 'undici';
import type { TokenBrokerClient } from '../../src/client/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { freePort, signInRedirect } from '../support/browser.js';
import { startInProcessBroker } from '../support/in-process-broker.js';
import type { InProcessBroker } from '../support/in-process-broker.js';

const TENANT = randomUUID();
const WEB_APP = randomUUID();
const PUBLIC_APP = randomUUID();
const WEB_SECRET = `web-${randomUUID()}`;
const ALICE = 'alice@contoso.example';
const WEB_REDIRECT = 'https://broker.contoso.example/oauth/callback';

function rejectsWith(promise: Promise<unknown>, code: GrpcStatus, pattern: RegExp): Promise<void> {
  return assert.rejects(promise, (error: ServiceError) => {
    assert.equal(error.code, code, error.details);
    assert.match(error.details, pattern);
    return true;
  });
}

/** Resolves true when a TCP connection to host:port is accepted, false when refused or unreachable. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('authorization flow safety', () => {
  let broker: InProcessBroker;
  let sandbox: Sandbox;
  let client: TokenBrokerClient;
  let loopbackPort: number;
  let loopbackRedirect: string;

  before(async () => {
    loopbackPort = await freePort();
    loopbackRedirect = `http://127.0.0.1:${loopbackPort}/callback`;
    const web = (name: string): string =>
      `  ${name}:\n    protocol: imap\n    grantType: authorization-code\n    tenantId: ${TENANT}\n    clientId: ${WEB_APP}\n    clientSecret: ${WEB_SECRET}\n    redirectUri: ${WEB_REDIRECT}\n    redirectPlatform: web\n    username: ${ALICE}\n`;
    broker = await startInProcessBroker({
      prefix: 'tb-authz-safety-',
      setup: (world) => {
        world.registerApplication({ tenantId: TENANT, clientId: WEB_APP, clientSecret: WEB_SECRET, redirectUris: [WEB_REDIRECT] });
        world.registerApplication({ tenantId: TENANT, clientId: PUBLIC_APP, publicClient: true, redirectUris: [loopbackRedirect] });
        world.registerUser({ tenantId: TENANT, username: ALICE, password: `pw-${randomUUID()}` });
      },
      config: ({ sandbox: world, address }) => `server: { listen: ["${address}"] }
store: { url: "memory:" }
authorizationServers:
  microsoft: { authorityHost: "${world.url}", caFile: ca.pem }
mailboxes:
${web('alpha')}${web('beta')}${web('gamma')}  loopback:
    protocol: imap
    grantType: authorization-code
    tenantId: ${TENANT}
    clientId: ${PUBLIC_APP}
    redirectUri: ${loopbackRedirect}
    redirectPlatform: desktop
    username: ${ALICE}
`,
    });
    sandbox = broker.sandbox;
    client = broker.connect();
  });

  after(async () => {
    await broker?.stop();
  });

  test('a redirect URL of another site, or another path of the same site, is refused and the authorization stays in progress', async () => {
    const started = await client.startAuthorization('alpha');
    const landed = new URL(await signInRedirect(started.authorizationUrl, sandbox.caCertificatePem));
    const code = landed.searchParams.get('code') ?? '';
    assert.ok(code.length > 0);
    for (const elsewhere of [`https://evil.example/oauth/callback${landed.search}`, `https://broker.contoso.example/other${landed.search}`, `http://broker.contoso.example/oauth/callback${landed.search}`]) {
      await rejectsWith(client.completeAuthorization('alpha', { redirectUrl: elsewhere }), GrpcStatus.INVALID_ARGUMENT, /not to the mailbox's redirect URI https:\/\/broker\.contoso\.example\/oauth\/callback/);
      await assert.rejects(client.completeAuthorization('alpha', { redirectUrl: elsewhere }), (error: ServiceError) => !error.details.includes(code), 'the code is never quoted back');
    }
    const status = await client.completeAuthorization('alpha', { redirectUrl: landed.href });
    assert.equal(status.state, 'READY');
  });

  test("a state is bound to its mailbox: one mailbox's redirect does not complete another's authorization", async () => {
    const forBeta = await client.startAuthorization('beta');
    const forGamma = await client.startAuthorization('gamma');
    const landedForGamma = await signInRedirect(forGamma.authorizationUrl, sandbox.caCertificatePem);
    await rejectsWith(client.completeAuthorization('beta', { redirectUrl: landedForGamma }), GrpcStatus.INVALID_ARGUMENT, /state in the redirect does not match/);
    // Both authorizations are still in progress: each completes with its own redirect.
    const landedForBeta = await signInRedirect(forBeta.authorizationUrl, sandbox.caCertificatePem);
    assert.equal((await client.completeAuthorization('beta', { redirectUrl: landedForBeta })).state, 'READY');
    assert.equal((await client.completeAuthorization('gamma', { redirectUrl: landedForGamma })).state, 'READY');
    // Single use: the same redirect again finds nothing in progress, and redeems nothing.
    const before = sandbox.stats.total;
    await rejectsWith(client.completeAuthorization('gamma', { redirectUrl: landedForGamma }), GrpcStatus.FAILED_PRECONDITION, /no authorization is in progress/);
    assert.equal(sandbox.stats.total, before, 'a replayed redirect reached the token endpoint');
  });

  test('code and state given apart are checked the same way', async () => {
    const started = await client.startAuthorization('alpha');
    const landed = new URL(await signInRedirect(started.authorizationUrl, sandbox.caCertificatePem));
    const code = landed.searchParams.get('code') ?? '';
    await rejectsWith(client.completeAuthorization('alpha', { code, state: 'not-the-state' }), GrpcStatus.INVALID_ARGUMENT, /state in the redirect does not match/);
    assert.equal((await client.completeAuthorization('alpha', { code, state: started.state })).state, 'READY');
  });

  test('the loopback listener: 127.0.0.1 only, its path only, waits through a forged state, closes after success', async () => {
    const started = await client.startAuthorization('loopback');
    assert.equal(await accepts('127.0.0.1', loopbackPort), true, 'the listener is up');
    assert.equal(await accepts('::1', loopbackPort), false, 'the listener must not answer on ::1 (or any address but 127.0.0.1)');

    const stray = await fetch(`http://127.0.0.1:${loopbackPort}/elsewhere?code=x&state=${started.state}`);
    assert.equal(stray.status, 404);
    await stray.text();

    const landed = new URL(await signInRedirect(started.authorizationUrl, sandbox.caCertificatePem));
    const forged = new URL(landed);
    forged.searchParams.set('state', 'forged');
    const refused = await fetch(forged);
    assert.equal(refused.status, 400);
    assert.match(await refused.text(), /does not match/);
    assert.equal(await accepts('127.0.0.1', loopbackPort), true, 'a forged redirect must not close the listener');

    const done = await fetch(landed);
    assert.equal(done.status, 200);
    await done.text();
    assert.equal((await client.getMailboxStatus('loopback')).state, 'READY');
    // close() runs once the answer is written; the port is refused from then on.
    for (let attempt = 0; attempt < 200 && (await accepts('127.0.0.1', loopbackPort)); attempt++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(await accepts('127.0.0.1', loopbackPort), false, 'the listener closes after one successful redirect');
  });

  test('starting again replaces the authorization and closes the earlier listener', async () => {
    const first = await client.startAuthorization('loopback');
    const second = await client.startAuthorization('loopback');
    assert.notEqual(first.state, second.state);
    const landedFirst = new URL(await signInRedirect(first.authorizationUrl, sandbox.caCertificatePem));
    // The new listener on the same port answers: the first state is no longer the one in progress.
    const stale = await fetch(landedFirst);
    assert.equal(stale.status, 400);
    await stale.text();
    const landedSecond = await signInRedirect(second.authorizationUrl, sandbox.caCertificatePem);
    const done = await fetch(landedSecond);
    assert.equal(done.status, 200);
    await done.text();
  });
});
