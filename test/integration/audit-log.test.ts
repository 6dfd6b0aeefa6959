// The audit log end to end (issue 12, point 5): the daemon in-process with an
// allow-list and audit.file; connectors and an admin call it; the file then
// holds one chained line per token handed out, refusal, authorization and
// admin call, with the client's name and the token's SHA-256 (never the
// token), `token-broker audit verify` accepts it and finds a removed line,
// and a file moved away by logrotate is followed by a new one on reload.
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { verifyAuditFiles } from '../../src/audit/index.js';
import type { BrokerToken, TokenBrokerClient } from '../../src/client/index.js';
import { loadConfig } from '../../src/config/index.js';
import { startDaemon } from '../../src/daemon/index.js';
import { silentLogger } from '../../src/logging/index.js';
import { runCli } from '../support/daemon-process.js';
import { clientCredentialsMailbox, startInProcessBroker } from '../support/in-process-broker.js';
import type { InProcessBroker } from '../support/in-process-broker.js';

const CONNECTOR_KEY = `connector-${randomUUID()}`;
const ADMIN_KEY = `admin-${randomUUID()}`;

interface Line {
  readonly seq: number;
  readonly event: string;
  readonly client: string;
  readonly mailbox?: string;
  readonly outcome: string;
  readonly reason?: string;
  readonly tokenSha256?: string;
  readonly tokenExpiresAt?: string;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

describe('audit log', () => {
  let broker: InProcessBroker;
  let directory: string;
  let auditFile: string;
  let connector: TokenBrokerClient;
  let admin: TokenBrokerClient;
  const handedOut: BrokerToken[] = [];

  before(async () => {
    const app = { tenantId: randomUUID(), clientId: randomUUID(), clientSecret: 'app-secret' };
    broker = await startInProcessBroker({
      prefix: 'tb-audit-',
      setup: async (sandbox, folder) => {
        sandbox.registerApplication(app);
        await writeFile(path.join(folder, 'connector.key'), `${CONNECTOR_KEY}\n`, { mode: 0o600 });
        await writeFile(path.join(folder, 'admin.key'), `${ADMIN_KEY}\n`, { mode: 0o600 });
      },
      config: ({ sandbox, address }) => `server:
  listen: ["${address}"]
  clients:
    - { name: connector-1, keyFile: connector.key, mailboxes: ["sales-*"] }
    - { name: ops, keyFile: admin.key, mailboxes: ["*"], admin: true }
store: { url: "memory:" }
audit: { file: audit/audit.jsonl }
authorizationServers:
  microsoft: { authorityHost: "${sandbox.url}", caFile: ca.pem }
mailboxes:
${clientCredentialsMailbox('sales-imap', app)}${clientCredentialsMailbox('finance', app)}`,
    });
    directory = broker.directory;
    auditFile = path.join(directory, 'audit', 'audit.jsonl');
    connector = broker.connect(CONNECTOR_KEY);
    admin = broker.connect(ADMIN_KEY);
  });

  after(async () => {
    await broker?.stop();
  });

  async function readLines(file: string): Promise<Line[]> {
    return (await readFile(file, 'utf8'))
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Line);
  }

  test('every token handed out, refusal and admin call is one chained line naming the client; no token in the file', async () => {
    handedOut.push(await connector.getToken('sales-imap'));
    await assert.rejects(connector.getToken('finance'), (error: ServiceError) => error.code === GrpcStatus.PERMISSION_DENIED);
    await assert.rejects(broker.connect('wrong').getToken('sales-imap'), (error: ServiceError) => error.code === GrpcStatus.UNAUTHENTICATED);
    // A watch: opened, one push, cancelled.
    await new Promise<void>((resolve, reject) => {
      const watch = connector.watchToken(
        'sales-imap',
        (token) => {
          handedOut.push(token);
          watch.cancel();
          resolve();
        },
        (error) => (error === undefined ? undefined : reject(error)),
      );
    });
    handedOut.push(await connector.reportRejected('sales-imap', handedOut[0]!.accessToken, 'AUTHENTICATE failed'));
    await admin.getMailboxStatus('finance');
    assert.equal((await admin.reload()).applied, true);
    await broker.daemon?.stop(1_000);
    broker.daemon = undefined;

    const text = await readFile(auditFile, 'utf8');
    for (const token of handedOut) assert.ok(!text.includes(token.accessToken), 'an access token in the audit log');
    const lines = await readLines(auditFile);
    const summary = lines.map((line) => [line.event, line.client, line.mailbox ?? '-', line.outcome]);
    assert.deepEqual(summary, [
      ['token.get', 'connector-1', 'sales-imap', 'ok'],
      ['token.get', 'connector-1', 'finance', 'PERMISSION_DENIED'],
      ['token.get', 'unauthenticated', 'sales-imap', 'UNAUTHENTICATED'],
      ['token.watch', 'connector-1', 'sales-imap', 'ok'],
      ['token.push', 'connector-1', 'sales-imap', 'ok'],
      ['token.rejected', 'connector-1', 'sales-imap', 'ok'],
      ['admin.status', 'ops', 'finance', 'ok'],
      ['admin.reload', 'ops', '-', 'ok'],
    ]);
    assert.equal(lines[0]!.tokenSha256, sha256(handedOut[0]!.accessToken));
    assert.equal(lines[0]!.tokenExpiresAt, handedOut[0]!.expiresAt.toISOString());
    assert.equal(lines[4]!.tokenSha256, sha256(handedOut[1]!.accessToken));
    assert.equal(lines[5]!.tokenSha256, sha256(handedOut[2]!.accessToken));
    assert.equal(lines[5]!.reason, 'AUTHENTICATE failed');
    assert.equal(lines[1]!.tokenSha256, undefined, 'a refusal hands out no token');
    assert.deepEqual(
      lines.map((line) => line.seq),
      lines.map((_, index) => index + 1),
    );
    const verified = await verifyAuditFiles([auditFile]);
    assert.equal(verified.ok, true, verified.problem);
  });

  test('token-broker audit verify: exit 0 on the file, 1 once a line is removed, naming where', async () => {
    const intact = await runCli(['audit', 'verify', auditFile]);
    assert.equal(intact.code, 0, intact.stderr);
    assert.match(intact.stdout, /chain intact, 8 line\(s\), seq 1 to 8/);
    const lines = (await readFile(auditFile, 'utf8')).split('\n').filter((line) => line !== '');
    const tampered = path.join(directory, 'tampered.jsonl');
    await writeFile(tampered, `${[...lines.slice(0, 2), ...lines.slice(3)].join('\n')}\n`);
    const broken = await runCli(['audit', 'verify', tampered]);
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, /tampered\.jsonl:3: prev does not match the hash of .*tampered\.jsonl:2/);
    assert.match(broken.stderr, /chain BROKEN/);
  });

  test('after logrotate moves the file, a reload starts a new one that continues the chain', async () => {
    const loaded = await loadConfig(broker.configFile);
    assert.ok(loaded.ok);
    const daemon = await startDaemon(loaded.config, { logger: silentLogger() });
    broker.daemon = daemon;
    await connector.getToken('sales-imap');
    const rotated = `${auditFile}.1`;
    await rename(auditFile, rotated);
    assert.equal((await daemon.reload('sighup')).applied, true);
    await connector.getToken('sales-imap');
    await daemon.stop(1_000);
    broker.daemon = undefined;
    const older = await readLines(rotated);
    const newer = await readLines(auditFile);
    assert.ok(newer.length >= 1, 'nothing was written to the new file');
    assert.equal(newer[0]!.seq, older.at(-1)!.seq + 1);
    const across = await verifyAuditFiles([rotated, auditFile]);
    assert.equal(across.ok, true, across.problem);
    assert.equal(across.lines, older.length + newer.length);
  });
});
