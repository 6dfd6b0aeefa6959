// A mailbox's last failure survives a restart with the server's own code
// (issue 13, point 6): AADSTS7000215 stays AADSTS7000215 in the status and
// the gRPC metadata, not only invalid_client, and the permanent failure is
// not retried at once. The daemon in-process on SQLite, the sandbox refusing
// the client secret.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { loadConfig } from '../../src/config/index.js';
import { startDaemon } from '../../src/daemon/index.js';
import { silentLogger } from '../../src/logging/index.js';
import { clientCredentialsMailbox, startInProcessBroker } from '../support/in-process-broker.js';
import type { InProcessBroker } from '../support/in-process-broker.js';

describe('a stored failure after a restart', () => {
  let broker: InProcessBroker;

  before(async () => {
    const app = { tenantId: randomUUID(), clientId: randomUUID(), clientSecret: 'app-secret' };
    broker = await startInProcessBroker({
      prefix: 'tb-stored-failure-',
      setup: (sandbox) => {
        sandbox.registerApplication(app);
        sandbox.failNext({ status: 401, error: 'invalid_client', aadsts: 7000215, description: 'Invalid client secret provided.', count: 5 });
      },
      config: ({ sandbox, address }) => `server: { listen: ["${address}"] }
store: { url: "sqlite://tokens.sqlite", encryptionKeyFile: store.key }
authorizationServers:
  microsoft: { authorityHost: "${sandbox.url}", caFile: ca.pem }
mailboxes:
${clientCredentialsMailbox('sales-imap', app)}`,
    });
  });

  after(async () => {
    await broker?.stop();
  });

  test('status and the gRPC error keep AADSTS7000215 across a restart, and nothing is asked again', async () => {
    const first = broker.connect();
    await assert.rejects(first.getToken('sales-imap'), (error: ServiceError) => error.metadata.get('token-broker-error-code')[0] === 'AADSTS7000215');
    assert.equal((await first.getMailboxStatus('sales-imap')).lastErrorCode, 'AADSTS7000215');
    await broker.daemon?.stop(1_000);

    const requests = broker.sandbox.stats.total;
    const loaded = await loadConfig(broker.configFile);
    assert.ok(loaded.ok);
    broker.daemon = await startDaemon(loaded.config, { logger: silentLogger() });
    const second = broker.connect();
    const status = await second.getMailboxStatus('sales-imap');
    assert.equal(status.state, 'FAILING');
    assert.equal(status.lastErrorCode, 'AADSTS7000215', 'the server detail was lost in the store');
    await assert.rejects(second.getToken('sales-imap'), (error: ServiceError) => {
      assert.equal(error.code, GrpcStatus.FAILED_PRECONDITION, error.details);
      assert.equal(error.metadata.get('token-broker-error-code')[0], 'AADSTS7000215');
      return true;
    });
    assert.equal(broker.sandbox.stats.total, requests, 'a permanent failure was retried at once after the restart');
  });
});
