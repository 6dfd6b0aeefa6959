// End to end: the sandbox authorization server, the real `token-broker serve`
// binary on a unix socket, and a gRPC client asking for tokens as a
// connector does.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { TokenBrokerClient } from '../../src/client/index.js';
import { startSandbox } from '../../src/sandbox/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { healthCheck, startDaemonProcess } from '../support/daemon-process.js';
import type { DaemonProcess } from '../support/daemon-process.js';

const TENANT = randomUUID();
const CLIENT_ID = randomUUID();
/** sales-imap's own application, so its token requests can be counted alone. */
const SALES_CLIENT_ID = randomUUID();
const SECRET = `s3cret-${randomUUID()}`;
const WRONG_SECRET = `wrong-${randomUUID()}`;

describe('token-broker serve with a client-credentials mailbox', () => {
  let directory: string;
  let sandbox: Sandbox;
  let daemon: DaemonProcess;
  let client: TokenBrokerClient;
  let socketPath: string;

  before(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'tb-serve-'));
    sandbox = await startSandbox();
    sandbox.registerApplication({ tenantId: TENANT, clientId: CLIENT_ID, clientSecret: SECRET });
    sandbox.registerApplication({ tenantId: TENANT, clientId: SALES_CLIENT_ID, clientSecret: SECRET });
    socketPath = path.join(directory, 'broker.sock');
    await writeFile(path.join(directory, 'ca.pem'), sandbox.caCertificatePem);
    await writeFile(path.join(directory, 'secret'), `${SECRET}\n`, { mode: 0o600 });
    const configFile = path.join(directory, 'broker.yaml');
    await writeFile(
      configFile,
      `server:
  listen: ["unix://${socketPath}"]
  socketMode: "0600"
store: { url: "memory:" }
authorizationServers:
  entra-test:
    type: microsoft
    authorityHost: ${sandbox.url}
    caFile: ca.pem
  entra-no-ca:
    type: microsoft
    authorityHost: ${sandbox.url}
mailboxes:
  sales-imap:
    protocol: imap
    authorizationServer: entra-test
    grantType: client-credentials
    tenantId: ${TENANT}
    clientId: ${SALES_CLIENT_ID}
    clientSecretFile: secret
    username: sales@contoso.example
  shared-smtp:
    protocol: smtp
    authorizationServer: entra-test
    grantType: client-credentials
    tenantId: ${TENANT}
    clientId: ${CLIENT_ID}
    clientSecret: \${TB_TEST_SECRET}
    username: robot@contoso.example
    sharedMailbox: shared@contoso.example
  untrusted:
    protocol: imap
    authorizationServer: entra-no-ca
    grantType: client-credentials
    tenantId: ${TENANT}
    clientId: ${CLIENT_ID}
    clientSecretFile: secret
    username: sales@contoso.example
  wrong-secret:
    protocol: graph
    authorizationServer: entra-test
    grantType: client-credentials
    tenantId: ${TENANT}
    clientId: ${CLIENT_ID}
    clientSecret: ${WRONG_SECRET}
    username: sales@contoso.example
`,
    );
    daemon = await startDaemonProcess(configFile, `unix://${socketPath}`, { TB_TEST_SECRET: SECRET });
    client = new TokenBrokerClient({ address: `unix://${socketPath}` });
  });

  after(async () => {
    client?.close();
    await daemon?.stop();
    await sandbox?.close();
    await rm(directory, { recursive: true, force: true });
  });

  test('GetToken returns a token issued by the authorization server, then serves it from cache', async () => {
    const token = await client.getToken('sales-imap');
    const claims = sandbox.verifyAccessToken(token.accessToken);
    assert.ok(claims, 'the token must verify against the sandbox signing key');
    assert.equal(claims.appid, SALES_CLIENT_ID);
    assert.equal(claims.tid, TENANT);
    assert.equal(claims.aud, 'https://outlook.office365.com');
    assert.equal(token.mailbox, 'sales-imap');
    assert.equal(token.tokenType, 'Bearer');
    assert.equal(token.protocol, 'IMAP');
    assert.equal(token.username, 'sales@contoso.example');
    assert.deepEqual(token.scopes, ['https://outlook.office365.com/.default']);
    // msal-node computes expiry from its own clock plus expires_in: within a second or two of the claim.
    assert.ok(Math.abs(token.expiresAt.getTime() - claims.exp * 1000) <= 2_000, `expires_at ${token.expiresAt.toISOString()} vs exp ${claims.exp}`);
    assert.equal(
      Buffer.from(token.saslXoauth2, 'base64').toString('utf8'),
      `user=sales@contoso.example\x01auth=Bearer ${token.accessToken}\x01\x01`,
    );

    const again = await client.getToken('sales-imap');
    assert.equal(again.accessToken, token.accessToken);
    // The warm-up at start and both calls share one acquisition: one request in the whole run.
    assert.equal(sandbox.stats.forClient(SALES_CLIENT_ID), 1, 'the second call must be served from the cache');
    assert.equal(sandbox.stats.otherRequests, 0, 'msal-node is handed the authority metadata: no discovery requests');
  });

  test('a shared mailbox is the SASL identity while the token belongs to the application', async () => {
    const token = await client.getToken('shared-smtp');
    assert.ok(sandbox.verifyAccessToken(token.accessToken));
    assert.equal(token.username, 'shared@contoso.example');
    assert.equal(token.protocol, 'SMTP');
    assert.equal(
      Buffer.from(token.saslXoauth2, 'base64').toString('utf8'),
      `user=shared@contoso.example\x01auth=Bearer ${token.accessToken}\x01\x01`,
    );
  });

  test('an unknown mailbox is NOT_FOUND', async () => {
    await assert.rejects(client.getToken('no-such-mailbox'), (error: ServiceError) => {
      assert.equal(error.code, GrpcStatus.NOT_FOUND);
      assert.match(error.details, /no mailbox named "no-such-mailbox"/);
      return true;
    });
  });

  test('an empty mailbox name is INVALID_ARGUMENT', async () => {
    await assert.rejects(client.getToken(''), (error: ServiceError) => error.code === GrpcStatus.INVALID_ARGUMENT);
  });

  test('a wrong client secret names the mailbox and AADSTS7000215, never the secret', async () => {
    await assert.rejects(client.getToken('wrong-secret'), (error: ServiceError) => {
      assert.equal(error.code, GrpcStatus.FAILED_PRECONDITION);
      assert.match(error.details, /mailbox wrong-secret/);
      assert.match(error.details, /AADSTS7000215/);
      assert.match(error.details, /mailboxes\.wrong-secret\.clientSecret/);
      assert.ok(!error.details.includes(WRONG_SECRET), 'the secret must not appear in the message');
      assert.ok(!error.details.includes(SECRET));
      assert.equal(error.metadata.get('token-broker-error-code')[0], 'AADSTS7000215');
      return true;
    });
    assert.ok(!daemon.stderr().includes(WRONG_SECRET), 'the secret must not appear in the log');
    assert.ok(!daemon.stderr().includes(SECRET), 'no secret in the log');
  });

  test('a server whose certificate is not trusted (no caFile) is UNAVAILABLE with tls_untrusted', async () => {
    await assert.rejects(client.getToken('untrusted'), (error: ServiceError) => {
      assert.equal(error.code, GrpcStatus.UNAVAILABLE, error.details);
      assert.match(error.details, /^mailbox untrusted: the TLS certificate of localhost:\d+ is not trusted/);
      assert.match(error.details, /caFile/);
      assert.equal(error.metadata.get('token-broker-error-code')[0], 'tls_untrusted');
      return true;
    });
  });

  test('ListMailboxes reports each mailbox with its state and last error', async () => {
    const statuses = await client.listMailboxes();
    const byName = new Map(statuses.map((status) => [status.mailbox, status]));
    assert.deepEqual([...byName.keys()].sort(), ['sales-imap', 'shared-smtp', 'untrusted', 'wrong-secret']);
    assert.equal(byName.get('sales-imap')?.state, 'READY');
    assert.equal(byName.get('sales-imap')?.grantType, 'CLIENT_CREDENTIALS');
    assert.equal(byName.get('wrong-secret')?.state, 'FAILING');
    assert.equal(byName.get('wrong-secret')?.lastErrorCode, 'AADSTS7000215');
  });

  test('grpc.health.v1 answers SERVING for the server and the TokenBroker service', async () => {
    assert.equal(await healthCheck(`unix://${socketPath}`, ''), 'SERVING');
    assert.equal(await healthCheck(`unix://${socketPath}`, 'tokenbroker.v1.TokenBroker'), 'SERVING');
  });

  test('the socket gets the configured mode', async () => {
    const info = await stat(socketPath);
    assert.equal(info.mode & 0o777, 0o600);
  });

  test('no access token ever appears in the daemon log', async () => {
    const token = await client.getToken('sales-imap');
    assert.ok(!daemon.stderr().includes(token.accessToken));
    assert.ok(!daemon.stderr().includes(token.saslXoauth2));
  });

  test('SIGTERM stops the daemon with exit code 0 and removes its socket', async () => {
    assert.equal(await daemon.stop(), 0);
    await assert.rejects(stat(socketPath), { code: 'ENOENT' });
  });
});
