// Clients that misbehave, on purpose or not, against the real daemon (in
// process, tokens from the sandbox): names built to make the allow-list
// patterns backtrack, names of 63 KB and names with control characters,
// bytes that are no protobuf message, admin calls on unknown mailboxes, and
// connections that never speak HTTP/2 or fall silent. Each gets its status
// code, a short status message, and never holds up the other clients.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import http2 from 'node:http2';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, credentials, Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { TokenBrokerClient } from '../../src/client/index.js';
import { loadConfig } from '../../src/config/index.js';
import { startDaemon } from '../../src/daemon/index.js';
import type { RunningDaemon } from '../../src/daemon/index.js';
import { silentLogger } from '../../src/logging/index.js';
import { startSandbox } from '../../src/sandbox/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { startIdleDaemon } from '../support/idle-daemon.js';

const HOSTILE_KEY = `hostile-${randomUUID()}`;
const CONNECTOR_KEY = `connector-${randomUUID()}`;
const ADMIN_KEY = `admin-${randomUUID()}`;

/** How long a status message may be when a request carried a huge name: the excerpt, and the words around it. */
const SHORT_DETAILS = 400;

/** The status a call ended with. */
async function failure(call: Promise<unknown>): Promise<ServiceError> {
  try {
    await call;
  } catch (error) {
    return error as ServiceError;
  }
  assert.fail('the call succeeded');
}

describe('hostile gRPC clients', () => {
  let directory: string;
  let sandbox: Sandbox;
  let daemon: RunningDaemon;
  let address: string;
  const clients: { close(): void }[] = [];
  const connect = (key?: string): TokenBrokerClient => {
    const client = new TokenBrokerClient({ address, key });
    clients.push(client);
    return client;
  };
  /** A client with no idea of the proto: sends and receives raw bytes. */
  const rawClient = (): Client => {
    const client = new Client(address, credentials.createInsecure());
    clients.push(client);
    return client;
  };
  const identity = (bytes: Buffer): Buffer => bytes;
  const withKey = (key: string): Metadata => {
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${key}`);
    return metadata;
  };
  const rawCall = (client: Client, method: string, bytes: Buffer, key: string): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      client.makeUnaryRequest(method, identity, identity, bytes, withKey(key), (error, value) => (error ? reject(error) : resolve(value ?? Buffer.alloc(0))));
    });
  /** A stream (server-streaming, or bidi with `bytes` as its first message) to its end: rejects with the status it ended with. */
  const rawStream = (client: Client, method: string, bytes: Buffer, key: string, bidi: boolean): Promise<void> =>
    new Promise((resolve, reject) => {
      let stream;
      if (bidi) {
        stream = client.makeBidiStreamRequest(method, identity, identity, withKey(key));
        stream.write(bytes);
      } else {
        stream = client.makeServerStreamRequest(method, identity, identity, bytes, withKey(key));
      }
      stream.on('data', () => undefined);
      stream.once('error', reject);
      stream.once('end', resolve);
    });
  const watchEnd = (client: TokenBrokerClient, mailbox: string): Promise<unknown> =>
    new Promise((resolve, reject) => {
      client.watchToken(mailbox, () => undefined, (error) => (error === undefined ? resolve(undefined) : reject(error)), { reconnect: false });
    });

  before(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'tb-hostile-'));
    sandbox = await startSandbox();
    const tenantId = randomUUID();
    const clientId = randomUUID();
    sandbox.registerApplication({ tenantId, clientId, clientSecret: 'app-secret' });
    await writeFile(path.join(directory, 'ca.pem'), sandbox.caCertificatePem);
    address = `unix://${path.join(directory, 'broker.sock')}`;
    const configFile = path.join(directory, 'broker.yaml');
    await writeFile(
      configFile,
      `server:
  listen: ["${address}"]
  clients:
    - name: hostile
      key: ${HOSTILE_KEY}
      mailboxes: ["sales-*-*-imap"]
    - name: connector-1
      key: ${CONNECTOR_KEY}
      mailboxes: ["sales-*"]
    - name: ops
      key: ${ADMIN_KEY}
      mailboxes: ["*"]
      admin: true
store: { url: "memory:" }
authorizationServers:
  microsoft: { authorityHost: "${sandbox.url}", caFile: ca.pem }
mailboxes:
  sales-eu-1-imap:
    protocol: imap
    grantType: client-credentials
    tenantId: ${tenantId}
    clientId: ${clientId}
    clientSecret: app-secret
    username: sales@contoso.example
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
  });

  after(async () => {
    for (const client of clients) client.close();
    await daemon?.stop(1_000);
    await sandbox?.close();
    await rm(directory, { recursive: true, force: true });
  });

  test('a name built to make sales-*-*-imap backtrack is refused, and another client is served meanwhile', async () => {
    const hostileName = `sales-${'-'.repeat(60_000)}`;
    const hostile = failure(connect(HOSTILE_KEY).getToken(hostileName));
    const other = connect(CONNECTOR_KEY).getToken('sales-eu-1-imap');
    assert.ok(sandbox.verifyAccessToken((await other).accessToken));
    const error = await hostile;
    assert.equal(error.code, GrpcStatus.INVALID_ARGUMENT, `${GrpcStatus[error.code]} ${error.details.slice(0, 200)}`);
    assert.match(error.details, /^GetTokenRequest\.mailbox is 60,006 characters long, longer than any mailbox name \(at most 256\): "sales-{59}… \(60,006 characters\)"/);
    assert.ok(error.details.length < SHORT_DETAILS, `details of ${error.details.length} characters`);
    assert.equal(error.metadata.get('token-broker-error-code')[0], 'invalid_request');
  });

  test('a hostile name within the length limit is matched in linear time and refused PERMISSION_DENIED, cut short', async () => {
    const hostileName = `sales-${'-'.repeat(249)}x`;
    const error = await failure(connect(HOSTILE_KEY).getToken(hostileName));
    assert.equal(error.code, GrpcStatus.PERMISSION_DENIED);
    assert.match(error.details, /^client hostile may not read mailbox sales-{59}… \(256 characters\); see server\.clients/);
  });

  test('a 63 KB name is cut to a short excerpt in the status of every RPC that takes a mailbox', async () => {
    const name = `big-${'x'.repeat(63 * 1024)}`;
    const ops = connect(ADMIN_KEY);
    const connector = connect(CONNECTOR_KEY);
    const calls: readonly [string, () => Promise<unknown>][] = [
      ['GetToken', () => connector.getToken(name)],
      ['WatchToken', () => watchEnd(connector, name)],
      ['ReportRejected', () => connector.reportRejected(name, 'token', 'rejected')],
      ['GetMailboxStatus', () => ops.getMailboxStatus(name)],
      ['StartAuthorization', () => ops.startAuthorization(name)],
      ['CompleteAuthorization', () => ops.completeAuthorization(name, { redirectUrl: 'http://localhost:8400/callback?code=c&state=s' })],
    ];
    for (const [rpc, call] of calls) {
      const error = await failure(call());
      assert.equal(error.code, GrpcStatus.INVALID_ARGUMENT, `${rpc}: ${GrpcStatus[error.code]} ${error.details.slice(0, 200)}`);
      assert.ok(error.details.length < SHORT_DETAILS, `${rpc}: details of ${error.details.length} characters`);
      assert.ok(error.details.startsWith(`${rpc}Request.mailbox is ${name.length.toLocaleString('en-US')} characters long`), `${rpc}: ${error.details}`);
      assert.ok(error.details.includes(`"big-${'x'.repeat(60)}… (${name.length.toLocaleString('en-US')} characters)"`), `${rpc}: ${error.details}`);
    }
  });

  test('control characters in an unknown name are escaped in the NOT_FOUND status', async () => {
    const error = await failure(connect(ADMIN_KEY).getToken('evil\n\u001b[31mred\u202e'));
    assert.equal(error.code, GrpcStatus.NOT_FOUND);
    assert.match(error.details, /^no mailbox named "evil\\n\\u001b\[31mred\\u202e" is configured\./);
  });

  test('StartAuthorization and CompleteAuthorization on an unknown mailbox are NOT_FOUND', async () => {
    const ops = connect(ADMIN_KEY);
    for (const [rpc, call] of [
      ['StartAuthorization', () => ops.startAuthorization('nope')],
      ['CompleteAuthorization', () => ops.completeAuthorization('nope', { code: 'c', state: 's' })],
    ] as const) {
      const error = await failure(call());
      assert.equal(error.code, GrpcStatus.NOT_FOUND, `${rpc}: ${GrpcStatus[error.code]} ${error.details}`);
      assert.match(error.details, /no mailbox named "nope" is configured/, rpc);
      assert.equal(error.metadata.get('token-broker-error-code')[0], 'unknown_mailbox', rpc);
    }
  });

  test('bytes that are no protobuf message are INVALID_ARGUMENT, and the server goes on serving', async () => {
    const raw = rawClient();
    const undecodable: readonly [string, Buffer][] = [
      // Field 1, length-delimited, and then the message ends before its length.
      ['a field cut short', Buffer.from([0x0a])],
      // Field 1 as a varint that never ends.
      ['a varint cut short', Buffer.from([0x08, 0xff])],
      // Field 15 with wire type 7, which does not exist.
      ['an unknown wire type', Buffer.from([0x7f, 0x01])],
    ];
    const methods = ['/tokenbroker.v1.TokenBroker/GetToken', '/tokenbroker.v1.BrokerAdmin/GetMailboxStatus', '/grpc.health.v1.Health/Check'];
    for (const method of methods) {
      for (const [what, bytes] of undecodable) {
        const error = await failure(rawCall(raw, method, bytes, ADMIN_KEY));
        assert.equal(error.code, GrpcStatus.INVALID_ARGUMENT, `${method}, ${what}: ${GrpcStatus[error.code]} ${error.details}`);
        assert.match(error.details, new RegExp(`^the request to ${method.replaceAll('.', '\\.')} is not a valid protobuf message`), `${method}, ${what}`);
      }
    }
    const streams: readonly [string, boolean][] = [
      ['/tokenbroker.v1.TokenBroker/WatchToken', false],
      ['/grpc.health.v1.Health/Watch', false],
      ['/grpc.reflection.v1.ServerReflection/ServerReflectionInfo', true],
    ];
    for (const [method, bidi] of streams) {
      const error = await failure(rawStream(raw, method, Buffer.from([0x7f, 0x01]), ADMIN_KEY, bidi));
      assert.equal(error.code, GrpcStatus.INVALID_ARGUMENT, `${method}: ${GrpcStatus[error.code]} ${error.details}`);
      assert.match(error.details, /is not a valid protobuf message \(invalid wire type 7 at offset 1\)/, method);
    }
    assert.ok(sandbox.verifyAccessToken((await connect(CONNECTOR_KEY).getToken('sales-eu-1-imap')).accessToken));
  });
});

describe('connections that never speak, or fall silent', () => {
  let directory: string;
  let daemon: RunningDaemon;
  let socketPath: string;
  let port: number;
  const MAX_CONCURRENT_STREAMS = 7;

  before(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'tb-silent-'));
    socketPath = path.join(directory, 'broker.sock');
    // Small enough that the test waits for the server, not for minutes.
    daemon = await startIdleDaemon(directory, [`unix://${socketPath}`, 'tcp://127.0.0.1:0'], {
      connectionLimits: { idleMs: 300, keepaliveTimeMs: 300, keepaliveTimeoutMs: 300, maxConcurrentStreams: MAX_CONCURRENT_STREAMS },
    });
    const tcp = daemon.addresses.find((bound) => bound.port !== undefined);
    assert.ok(tcp?.port !== undefined);
    port = tcp.port;
  });

  after(async () => {
    await daemon?.stop(0);
    await rm(directory, { recursive: true, force: true });
  });

  /** Connects, optionally sends the HTTP/2 preface, then neither writes nor answers; resolves once the server closed the connection. */
  function silentConnection(target: { path: string } | { port: number; host: string }, sendPreface: boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(target, () => {
        if (sendPreface) socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
      });
      // Reads what the server sends (its SETTINGS, pings, GOAWAY), so the close is seen, but never answers.
      socket.resume();
      socket.once('error', reject);
      socket.once('close', () => resolve());
    });
  }

  test('the server closes connections that never send the HTTP/2 preface, or send it and go silent', async () => {
    const targets = [{ path: socketPath }, { port, host: '127.0.0.1' }];
    const closed = targets.flatMap((target) => Array.from({ length: 20 }, (_, index) => silentConnection(target, index % 2 === 0)));
    await Promise.all(closed);
  });

  test('the server announces its bound on concurrent streams per connection', async () => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    try {
      const settings = await new Promise<http2.Settings>((resolve, reject) => {
        session.once('remoteSettings', resolve);
        session.once('error', reject);
      });
      assert.equal(settings.maxConcurrentStreams, MAX_CONCURRENT_STREAMS);
    } finally {
      session.destroy();
    }
  });
});
