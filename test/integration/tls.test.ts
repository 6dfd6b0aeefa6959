// The gRPC face over TCP with TLS, and with mTLS (server.tls.clientCaFile):
// certificates from throwaway CAs made here, the daemon in-process on
// 127.0.0.1, tokens from the sandbox. Under mTLS a client may be known by its
// certificate's subject (server.clients[].certificateSubject) instead of a key.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { credentials, status as GrpcStatus } from '@grpc/grpc-js';
import type { ChannelCredentials, ServiceError } from '@grpc/grpc-js';
import { TokenBrokerClient } from '../../src/client/index.js';
import { loadConfig } from '../../src/config/index.js';
import { startDaemon } from '../../src/daemon/index.js';
import type { RunningDaemon } from '../../src/daemon/index.js';
import { silentLogger } from '../../src/logging/index.js';
import { startSandbox } from '../../src/sandbox/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { clientCredentialsMailbox } from '../support/broker-environment.js';
import { makeAuthority } from '../support/pki.js';
import type { IssuedCertificate } from '../support/pki.js';

const TENANT = randomUUID();
const APP = randomUUID();
const OPS_KEY = `ops-${randomUUID()}`;

const serverCa = makeAuthority('token-broker test server CA');
const clientCa = makeAuthority('token-broker test client CA');
const otherCa = makeAuthority('some other CA');
const serverCertificate = serverCa.issueServer();

function tlsCredentials(client?: IssuedCertificate, trust = serverCa.certificatePem): ChannelCredentials {
  return client === undefined
    ? credentials.createSsl(Buffer.from(trust))
    : credentials.createSsl(Buffer.from(trust), Buffer.from(client.keyPem), Buffer.from(client.certificatePem));
}

async function rejectsWith(call: Promise<unknown>, code: GrpcStatus, details?: RegExp): Promise<ServiceError> {
  let caught: ServiceError | undefined;
  await assert.rejects(call, (error: ServiceError) => {
    caught = error;
    assert.equal(error.code, code, `${GrpcStatus[error.code]}: ${error.details}`);
    if (details !== undefined) assert.match(error.details, details);
    return true;
  });
  return caught as ServiceError;
}

describe('the gRPC server over TCP with TLS', () => {
  let directory: string;
  let sandbox: Sandbox;
  const clients: TokenBrokerClient[] = [];

  before(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'tb-tls-'));
    sandbox = await startSandbox();
    sandbox.registerApplication({ tenantId: TENANT, clientId: APP, clientSecret: 'app-secret' });
    await writeFile(path.join(directory, 'ca.pem'), sandbox.caCertificatePem);
    await writeFile(path.join(directory, 'server.pem'), serverCertificate.certificatePem);
    await writeFile(path.join(directory, 'server.key'), serverCertificate.keyPem, { mode: 0o600 });
    await writeFile(path.join(directory, 'client-ca.pem'), clientCa.certificatePem);
  });

  after(async () => {
    for (const client of clients) client.close();
    await sandbox?.close();
    await rm(directory, { recursive: true, force: true });
  });

  /** Starts the daemon in-process with `server` as the server section (YAML, indented by two). */
  async function start(name: string, server: string): Promise<{ daemon: RunningDaemon; connect(credentials: ChannelCredentials, key?: string): TokenBrokerClient }> {
    const configFile = path.join(directory, `${name}.yaml`);
    await writeFile(
      configFile,
      `server:
${server}
store: { url: "memory:" }
authorizationServers:
  microsoft: { authorityHost: "${sandbox.url}", caFile: ca.pem }
mailboxes:
${clientCredentialsMailbox('sales-imap', TENANT, APP, 'app-secret')}${clientCredentialsMailbox('finance', TENANT, APP, 'app-secret')}`,
    );
    const loaded = await loadConfig(configFile);
    assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.problems));
    const daemon = await startDaemon(loaded.config, { logger: silentLogger() });
    const port = daemon.addresses[0]?.port;
    assert.ok(port !== undefined && port > 0);
    return {
      daemon,
      connect(channelCredentials, key) {
        const client = new TokenBrokerClient({ address: `tcp://127.0.0.1:${port}`, credentials: channelCredentials, key, deadlineMs: 10_000 });
        clients.push(client);
        return client;
      },
    };
  }

  describe('TLS (server certificate only)', () => {
    let started: Awaited<ReturnType<typeof start>>;
    before(async () => {
      started = await start('tls', '  listen: ["tcp://127.0.0.1:0"]\n  tls: { certFile: server.pem, keyFile: server.key }');
    });
    after(() => started?.daemon.stop(1_000));

    test('a client given the server CA gets a token', async () => {
      const token = await started.connect(tlsCredentials()).getToken('sales-imap');
      assert.ok(sandbox.verifyAccessToken(token.accessToken));
    });

    test('a client that does not trust the server CA cannot connect', async () => {
      await rejectsWith(started.connect(tlsCredentials(undefined, otherCa.certificatePem)).getToken('sales-imap'), GrpcStatus.UNAVAILABLE);
    });

    test('a plaintext client cannot talk to the TLS listener', async () => {
      await rejectsWith(started.connect(credentials.createInsecure()).getToken('sales-imap'), GrpcStatus.UNAVAILABLE);
    });
  });

  describe('mTLS (server.tls.clientCaFile) and certificateSubject clients', () => {
    let started: Awaited<ReturnType<typeof start>>;
    const connector = clientCa.issueClient([
      ['CN', 'connector-1'],
      ['O', 'Acme'],
    ]);
    const stranger = clientCa.issueClient([['CN', 'connector-2']]);
    const impostor = otherCa.issueClient([
      ['CN', 'connector-1'],
      ['O', 'Acme'],
    ]);

    before(async () => {
      started = await start(
        'mtls',
        `  listen: ["tcp://127.0.0.1:0"]
  tls: { certFile: server.pem, keyFile: server.key, clientCaFile: client-ca.pem }
  clients:
    - name: connector-1
      certificateSubject: "O = Acme, CN = connector-1"
      mailboxes: ["sales-*"]
    - name: ops
      key: ${OPS_KEY}
      mailboxes: ["*"]
      admin: true`,
      );
    });
    after(() => started?.daemon.stop(1_000));

    test('a client without a certificate is refused', async () => {
      await rejectsWith(started.connect(tlsCredentials()).getToken('sales-imap'), GrpcStatus.UNAVAILABLE);
    });

    test('a client with a certificate from another CA is refused, whatever its subject', async () => {
      await rejectsWith(started.connect(tlsCredentials(impostor)).getToken('sales-imap'), GrpcStatus.UNAVAILABLE);
    });

    test('the certificate subject is the client: its mailbox patterns apply, without a key', async () => {
      const client = started.connect(tlsCredentials(connector));
      const token = await client.getToken('sales-imap');
      assert.ok(sandbox.verifyAccessToken(token.accessToken));
      assert.deepEqual(
        (await client.listMailboxes()).map((status) => status.mailbox),
        ['sales-imap'],
      );
      await rejectsWith(client.getToken('finance'), GrpcStatus.PERMISSION_DENIED, /client connector-1 may not read mailbox finance/);
      await rejectsWith(client.getMailboxStatus('sales-imap'), GrpcStatus.PERMISSION_DENIED, /client connector-1 may not call BrokerAdmin/);
    });

    test('a good certificate whose subject names no client is UNAUTHENTICATED, naming the subject to configure', async () => {
      await rejectsWith(
        started.connect(tlsCredentials(stranger)).getToken('sales-imap'),
        GrpcStatus.UNAUTHENTICATED,
        /subject CN=connector-2 matches no server\.clients\[\]\.certificateSubject/,
      );
    });

    test('a client key, when sent, decides over the certificate', async () => {
      const status = await started.connect(tlsCredentials(connector), OPS_KEY).getMailboxStatus('finance');
      assert.equal(status.mailbox, 'finance');
      await rejectsWith(started.connect(tlsCredentials(connector), `wrong-${randomUUID()}`).getToken('sales-imap'), GrpcStatus.UNAUTHENTICATED, /unknown client key/);
    });
  });
});
