// SOCKS5 proxies end to end: the real daemon fetches a token from the sandbox
// through a real Dante server (its log shows the tunnel to the sandbox's
// port), and a SOCKS5 server refusing our credentials is proxy_auth_failed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { TokenBrokerClient } from '../../src/client/index.js';
import { startSandbox } from '../../src/sandbox/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { startDaemonProcess } from '../support/daemon-process.js';
import type { DaemonProcess } from '../support/daemon-process.js';
import { BrokerError } from '../../src/errors/index.js';
import { HttpTransport } from '../../src/http/index.js';
import { danteBinary, startDante } from '../support/dante.js';
import { startSocks5AuthServer } from '../support/socks5-auth-server.js';
import type { Socks5AuthServer } from '../support/socks5-auth-server.js';
import type { Dante } from '../support/dante.js';

const TENANT = randomUUID();
const CLIENT_ID = randomUUID();
const SECRET = `s3cret-${randomUUID()}`;
const SOCKS_USER = 'broker-test';
const SOCKS_PASSWORD = `socks-pw-${randomUUID()}`;

const needsDante = { skip: danteBinary.skip };

describe('token-broker serve behind a Dante SOCKS5 proxy', () => {
  let directory: string;
  let sandbox: Sandbox;
  let open: Dante;
  let authenticating: Dante;
  let daemon: DaemonProcess;
  let client: TokenBrokerClient;

  before(async () => {
    if (needsDante.skip !== false) return;
    open = await startDante({ method: 'none' });
    authenticating = await startDante({ method: 'username' });
    directory = await mkdtemp(path.join(tmpdir(), 'tb-socks-'));
    sandbox = await startSandbox();
    sandbox.registerApplication({ tenantId: TENANT, clientId: CLIENT_ID, clientSecret: SECRET });
    const socketPath = path.join(directory, 'broker.sock');
    await writeFile(path.join(directory, 'ca.pem'), sandbox.caCertificatePem);
    await writeFile(path.join(directory, 'secret'), `${SECRET}\n`, { mode: 0o600 });
    const mailbox = (name: string, proxy: string) => `  ${name}:
    protocol: imap
    authorizationServer: sandbox
    grantType: client-credentials
    tenantId: ${TENANT}
    clientId: ${CLIENT_ID}
    clientSecretFile: secret
    username: sales@contoso.example
    proxy: ${proxy}
`;
    const configFile = path.join(directory, 'broker.yaml');
    await writeFile(
      configFile,
      `server:
  listen: ["unix://${socketPath}"]
  socketMode: "0600"
store: { url: "memory:" }
authorizationServers:
  sandbox:
    type: microsoft
    authorityHost: https://localhost:${sandbox.port}
    caFile: ca.pem
proxies:
  socks:
    url: ${open.url.replace('socks5:', 'socks5h:')}
  socks-auth:
    url: ${authenticating.url}
    username: ${SOCKS_USER}
    password: ${SOCKS_PASSWORD}
mailboxes:
${mailbox('via-socks', 'socks')}${mailbox('socks-refused', 'socks-auth')}`,
    );
    daemon = await startDaemonProcess(configFile, `unix://${socketPath}`);
    client = new TokenBrokerClient({ address: `unix://${socketPath}` });
  });

  after(async () => {
    client?.close();
    await daemon?.stop();
    await open?.stop();
    await authenticating?.stop();
    await sandbox?.close();
    if (directory !== undefined) await rm(directory, { recursive: true, force: true });
  });

  test('GetToken succeeds through the SOCKS5 proxy, and Dante logs the tunnel to the sandbox', needsDante, async () => {
    const token = await client.getToken('via-socks');
    const claims = sandbox.verifyAccessToken(token.accessToken);
    assert.ok(claims, 'the token must verify against the sandbox signing key');
    assert.equal(claims.appid, CLIENT_ID);
    // Dante: "pass(1): tcp/connect [: 127.0.0.1.CLIENTPORT 127.0.0.1.SOCKSPORT -> 127.0.0.1.X 127.0.0.1.SANDBOXPORT"
    const line = await open.waitForLogLine((entry) => entry.includes('tcp/connect') && entry.includes(`.${sandbox.port}`));
    assert.match(line, new RegExp(`127\\.0\\.0\\.1\\.${open.port} .*127\\.0\\.0\\.1\\.${sandbox.port}\\b`), line);
  });

  test('a SOCKS5 server refusing our credentials is proxy_auth_failed, names the proxy, and leaks no password', needsDante, async () => {
    const before = sandbox.stats.total;
    await assert.rejects(client.getToken('socks-refused'), (error: ServiceError) => {
      assert.equal(error.code, GrpcStatus.UNAVAILABLE, error.details);
      assert.equal(error.metadata.get('token-broker-error-code')[0], 'proxy_auth_failed', error.details);
      assert.match(error.details, /mailbox socks-refused: SOCKS5 proxy socks-auth \(socks5:\/\/127\.0\.0\.1:\d+\) refused our credentials/);
      assert.match(error.details, /Check proxies\.socks-auth\.username and password/);
      assert.ok(!error.details.includes(SOCKS_PASSWORD), 'no proxy password in the message');
      return true;
    });
    assert.equal(sandbox.stats.total, before, 'no request may reach the sandbox past a refusing proxy');
    assert.ok(!daemon.stderr().includes(SOCKS_PASSWORD), 'no proxy password in the daemon log');
    // Dante saw the username offered (RFC 1929), so the broker did send credentials.
    await authenticating.waitForLogLine((entry) => entry.includes(SOCKS_USER));
  });
});

// Dante checks SOCKS5 passwords against system users and the tests create
// none, so the accepted login is played by a minimal server of the tests'.
describe('a SOCKS5 proxy with username and password', () => {
  const PROXY_ONLY_HOST = 'entra.test';
  let sandbox: Sandbox;
  let socks: Socks5AuthServer;
  const transport = new HttpTransport();

  before(async () => {
    sandbox = await startSandbox({ hostnames: [PROXY_ONLY_HOST] });
    sandbox.registerApplication({ tenantId: TENANT, clientId: CLIENT_ID, clientSecret: SECRET });
    socks = await startSocks5AuthServer({ username: SOCKS_USER, password: SOCKS_PASSWORD, hostnames: [PROXY_ONLY_HOST] });
  });

  after(async () => {
    await transport.close();
    await socks?.close();
    await sandbox?.close();
  });

  function discovery(password: string) {
    return transport.send(
      { method: 'GET', url: `https://${PROXY_ONLY_HOST}:${sandbox.port}/${TENANT}/v2.0/.well-known/openid-configuration` },
      {
        proxy: { name: 'socks', url: socks.url.replace('socks5:', 'socks5h:'), username: SOCKS_USER, password: { reveal: () => password } },
        caCertificates: [sandbox.caCertificatePem],
        mailbox: 'sales',
      },
    );
  }

  test('the right credentials open a tunnel to a host only the proxy resolves', async () => {
    const response = await discovery(SOCKS_PASSWORD);
    assert.equal(response.status, 200, response.body);
    assert.deepEqual(socks.tunnels, [{ target: `${PROXY_ONLY_HOST}:${sandbox.port}`, username: SOCKS_USER }]);
  });

  test('a wrong password is proxy_auth_failed, permanent', async () => {
    const wrong = `wrong-${randomUUID()}`;
    const error: unknown = await discovery(wrong).then(
      () => assert.fail('the request must fail'),
      (failure: unknown) => failure,
    );
    assert.ok(error instanceof BrokerError, String(error));
    assert.equal(error.code, 'proxy_auth_failed', error.message);
    assert.equal(error.permanent, true);
    assert.equal(socks.refusals, 1);
    assert.ok(!error.message.includes(wrong));
  });
});
