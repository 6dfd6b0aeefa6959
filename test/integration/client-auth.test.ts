// server.clients: keys, mailbox patterns and the admin flag, over a real
// gRPC server on a unix socket (daemon in-process, tokens from the sandbox);
// and every status code of the contract, RPC by RPC.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { TokenBrokerClient } from '../../src/client/index.js';
import { loadConfig } from '../../src/config/index.js';
import { startDaemon } from '../../src/daemon/index.js';
import type { RunningDaemon } from '../../src/daemon/index.js';
import { silentLogger } from '../../src/logging/index.js';
import { startSandbox } from '../../src/sandbox/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { freePort } from '../support/ports.js';

const CONNECTOR_KEY = `key-${randomUUID()}`;
const ADMIN_KEY = `admin-${randomUUID()}`;

describe('server.clients allow-list', () => {
  let directory: string;
  let sandbox: Sandbox;
  let daemon: RunningDaemon;
  let address: string;
  const clients: TokenBrokerClient[] = [];
  const connect = (key?: string): TokenBrokerClient => {
    const client = new TokenBrokerClient({ address, key });
    clients.push(client);
    return client;
  };

  before(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'tb-clients-'));
    sandbox = await startSandbox();
    const tenantId = randomUUID();
    const clientId = randomUUID();
    sandbox.registerApplication({ tenantId, clientId, clientSecret: 'app-secret' });
    await writeFile(path.join(directory, 'ca.pem'), sandbox.caCertificatePem);
    await writeFile(path.join(directory, 'connector.key'), `${CONNECTOR_KEY}\n`, { mode: 0o600 });
    address = `unix://${path.join(directory, 'broker.sock')}`;
    const mailbox = (name: string) => `  ${name}:
    protocol: imap
    grantType: client-credentials
    tenantId: ${tenantId}
    clientId: ${clientId}
    clientSecret: app-secret
    username: ${name}@contoso.example
`;
    // Nothing listens there: the authorization server is unreachable.
    const downPort = await freePort();
    const configFile = path.join(directory, 'broker.yaml');
    await writeFile(
      configFile,
      `server:
  listen: ["${address}"]
  clients:
    - name: connector-1
      keyFile: connector.key
      mailboxes: ["sales-*", "support"]
    - name: ops
      keySha256: ${createHash('sha256').update(ADMIN_KEY).digest('hex')}
      mailboxes: ["*"]
      admin: true
store: { url: "memory:" }
authorizationServers:
  microsoft: { authorityHost: "${sandbox.url}", caFile: ca.pem }
  down: { type: microsoft, authorityHost: "https://127.0.0.1:${downPort}" }
mailboxes:
${mailbox('sales-imap')}${mailbox('support')}${mailbox('finance')}${mailbox('sales-down')}    authorizationServer: down
  sales-user:
    protocol: imap
    grantType: authorization-code
    tenantId: ${tenantId}
    clientId: ${clientId}
    redirectUri: http://localhost:8400/callback
    redirectPlatform: desktop
    username: alice@contoso.example
`,
    );
    const loaded = await loadConfig(configFile);
    assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.problems));
    daemon = await startDaemon(loaded.config, { logger: silentLogger() });
    // Let the start-up warm-up finish, so counting token requests below sees only the tests' own.
    await Promise.all(['sales-imap', 'support', 'finance'].map((name) => daemon.broker.getToken(name)));
  });

  after(async () => {
    for (const client of clients) client.close();
    await daemon?.stop(1_000);
    await sandbox?.close();
    await rm(directory, { recursive: true, force: true });
  });

  test('no key is UNAUTHENTICATED, saying how to send one', async () => {
    await assert.rejects(connect().getToken('sales-imap'), (error: ServiceError) => {
      assert.equal(error.code, GrpcStatus.UNAUTHENTICATED);
      assert.match(error.details, /authorization: Bearer <client key>/);
      return true;
    });
  });

  test('a wrong key is UNAUTHENTICATED and not echoed', async () => {
    const wrong = `wrong-${randomUUID()}`;
    await assert.rejects(connect(wrong).getToken('sales-imap'), (error: ServiceError) => {
      assert.equal(error.code, GrpcStatus.UNAUTHENTICATED);
      assert.ok(!error.details.includes(wrong));
      return true;
    });
  });

  test('a key from keyFile reads the mailboxes its patterns match', async () => {
    const connector = connect(CONNECTOR_KEY);
    const token = await connector.getToken('sales-imap');
    assert.ok(sandbox.verifyAccessToken(token.accessToken));
    assert.ok(sandbox.verifyAccessToken((await connector.getToken('support')).accessToken));
  });

  test('a mailbox outside the patterns is PERMISSION_DENIED, before any token request', async () => {
    sandbox.stats.reset();
    await assert.rejects(connect(CONNECTOR_KEY).getToken('finance'), (error: ServiceError) => {
      assert.equal(error.code, GrpcStatus.PERMISSION_DENIED);
      assert.match(error.details, /client connector-1 may not read mailbox finance/);
      return true;
    });
    assert.equal(sandbox.stats.total, 0);
  });

  test('ListMailboxes shows only what the client may read', async () => {
    const names = (await connect(CONNECTOR_KEY).listMailboxes()).map((status) => status.mailbox).sort();
    assert.deepEqual(names, ['sales-down', 'sales-imap', 'sales-user', 'support']);
    const all = (await connect(ADMIN_KEY).listMailboxes()).map((status) => status.mailbox).sort();
    assert.deepEqual(all, ['finance', 'sales-down', 'sales-imap', 'sales-user', 'support']);
  });

  test('admin RPCs need admin: true; a keySha256 client works', async () => {
    await assert.rejects(connect(CONNECTOR_KEY).getMailboxStatus('sales-imap'), (error: ServiceError) => {
      assert.equal(error.code, GrpcStatus.PERMISSION_DENIED);
      assert.match(error.details, /admin: true is needed/);
      return true;
    });
    const status = await connect(ADMIN_KEY).getMailboxStatus('sales-imap');
    assert.equal(status.state, 'READY');
    await assert.rejects(connect(ADMIN_KEY).getMailboxStatus('nope'), (error: ServiceError) => error.code === GrpcStatus.NOT_FOUND);
  });

  // Besides the cases above (no key, wrong key, pattern, non-admin) and those
  // of serve.test.ts and watch.test.ts: the remaining codes of CONTRACT.md on
  // each RPC they apply to, as a connector (connector-1) or ops sees them.
  test('every documented status code, RPC by RPC', async () => {
    const connector = connect(CONNECTOR_KEY);
    const ops = connect(ADMIN_KEY);
    const watchEnd = (client: TokenBrokerClient, mailbox: string): Promise<unknown> =>
      new Promise((resolve, reject) => {
        client.watchToken(mailbox, () => undefined, (error) => (error === undefined ? resolve(undefined) : reject(error)));
      });
    const cases: readonly [string, () => Promise<unknown>, GrpcStatus, RegExp][] = [
      ['GetToken, a name inside the patterns but no mailbox', () => connector.getToken('sales-nope'), GrpcStatus.NOT_FOUND, /no mailbox named "sales-nope"/],
      ['GetMailboxStatus, no such mailbox', () => ops.getMailboxStatus('nope'), GrpcStatus.NOT_FOUND, /no mailbox named "nope"/],
      ['WatchToken, outside the patterns', () => watchEnd(connector, 'finance'), GrpcStatus.PERMISSION_DENIED, /client connector-1 may not read mailbox finance/],
      ['ReportRejected, outside the patterns', () => connector.reportRejected('finance', 'x', 'y'), GrpcStatus.PERMISSION_DENIED, /may not read mailbox finance/],
      ['StartAuthorization, not admin', () => connector.startAuthorization('sales-user'), GrpcStatus.PERMISSION_DENIED, /admin: true is needed/],
      ['WatchToken, no key', () => watchEnd(connect(), 'sales-imap'), GrpcStatus.UNAUTHENTICATED, /no client key/],
      ['ListMailboxes, wrong key', () => connect(`wrong-${randomUUID()}`).listMailboxes(), GrpcStatus.UNAUTHENTICATED, /unknown client key/],
      ['GetToken, needs authorization', () => connector.getToken('sales-user'), GrpcStatus.FAILED_PRECONDITION, /token-broker authorize sales-user/],
      ['WatchToken, needs authorization', () => watchEnd(connector, 'sales-user'), GrpcStatus.FAILED_PRECONDITION, /token-broker authorize sales-user/],
      ['GetToken, authorization server unreachable and no token', () => connector.getToken('sales-down'), GrpcStatus.UNAVAILABLE, /\[server_unreachable\]$/],
      ['GetToken, empty mailbox', () => connector.getToken(''), GrpcStatus.INVALID_ARGUMENT, /GetTokenRequest\.mailbox is empty/],
      ['WatchToken, empty mailbox', () => watchEnd(connector, ''), GrpcStatus.INVALID_ARGUMENT, /WatchTokenRequest\.mailbox is empty/],
      ['ReportRejected, empty mailbox', () => connector.reportRejected('', 'x', 'y'), GrpcStatus.INVALID_ARGUMENT, /ReportRejectedRequest\.mailbox is empty/],
      ['GetMailboxStatus, empty mailbox', () => ops.getMailboxStatus(''), GrpcStatus.INVALID_ARGUMENT, /GetMailboxStatusRequest\.mailbox is empty/],
      ['CompleteAuthorization, neither redirect_url nor code', () => ops.completeAuthorization('sales-user', {}), GrpcStatus.INVALID_ARGUMENT, /needs redirect_url, or both code and state/],
    ];
    for (const [name, call, code, details] of cases) {
      await assert.rejects(call(), (error: ServiceError) => {
        assert.equal(error.code, code, `${name}: ${GrpcStatus[error.code]} ${error.details}`);
        assert.match(error.details, details, name);
        return true;
      });
    }
  });
});
