// Proxies end to end: the real daemon reaches the sandbox only through a real
// squid with basic authentication, and proxy failures reach the connector as clear gRPC errors.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { TokenBrokerClient } from '../../src/client/index.js';
import { startSandbox } from '../../src/sandbox/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { startGoogleSandbox } from '../../src/sandbox/google/index.js';
import type { GoogleSandbox } from '../../src/sandbox/google/index.js';
import { makeCertificate } from '../support/certificates.js';
import { startDaemonProcess } from '../support/daemon-process.js';
import type { DaemonProcess } from '../support/daemon-process.js';
import { squidBinary, startSquid } from '../support/squid.js';
import type { Squid } from '../support/squid.js';
import { freePort } from '../support/ports.js';

// Resolvable inside squid only (its hosts_file): a token fetched for this name
// cannot have come over a direct connection.
const PROXY_ONLY_HOST = 'entra.test';
/** The Google-shaped server's name, also resolvable only inside squid: the openid-client path. */
const GOOGLE_PROXY_ONLY_HOST = 'google.test';
const SERVICE_ACCOUNT = 'broker@project.iam.gserviceaccount.com';
const GMAIL_USER = 'user@example.com';
const TENANT = randomUUID();
const CLIENT_ID = randomUUID();
const SECRET = `s3cret-${randomUUID()}`;
const PROXY_USER = 'broker-test';
const PROXY_PASSWORD = `proxy-pw-${randomUUID()}`;
const WRONG_PROXY_PASSWORD = `wrong-pw-${randomUUID()}`;

function errorCodeOf(error: ServiceError): unknown {
  return error.metadata.get('token-broker-error-code')[0];
}


// Skipped per test, not per suite: node:test counts skipped tests in its summary, not skipped suites.
const needsSquid = { skip: squidBinary.skip };

describe('token-broker serve behind a squid proxy with basic authentication', () => {
  let directory: string;
  let sandbox: Sandbox;
  let squid: Squid;
  let daemon: DaemonProcess;
  let client: TokenBrokerClient;
  let downProxyPort: number;
  let google: GoogleSandbox;

  before(async () => {
    if (needsSquid.skip !== false) return;
    // squid first: in CI without squid, this is where the suite fails, with the install hint.
    squid = await startSquid({ username: PROXY_USER, password: PROXY_PASSWORD, hostnames: [PROXY_ONLY_HOST, GOOGLE_PROXY_ONLY_HOST] });
    directory = await mkdtemp(path.join(tmpdir(), 'tb-proxy-'));
    sandbox = await startSandbox({ hostnames: [PROXY_ONLY_HOST] });
    sandbox.registerApplication({ tenantId: TENANT, clientId: CLIENT_ID, clientSecret: SECRET });
    downProxyPort = await freePort();
    google = await startGoogleSandbox({ hostnames: [GOOGLE_PROXY_ONLY_HOST] });
    const serviceAccountKey = makeCertificate(Date.now() - 60_000, Date.now() + 86_400_000, 'service-account');
    google.registerUser(GMAIL_USER);
    google.registerServiceAccount({ clientId: SERVICE_ACCOUNT, certificatePem: serviceAccountKey.certificatePem });
    await writeFile(path.join(directory, 'google-ca.pem'), google.caCertificatePem);
    await writeFile(path.join(directory, 'service-account.pem'), serviceAccountKey.certificatePem + serviceAccountKey.keyPem, { mode: 0o600 });
    const behindProxy = (endpoint: string): string => endpoint.replace('//localhost:', `//${GOOGLE_PROXY_ONLY_HOST}:`);
    const gmail = (name: string, proxy: string): string => `  ${name}:
    protocol: imap
    authorizationServer: google
    grantType: client-credentials
    clientId: ${SERVICE_ACCOUNT}
    authenticationMode: certificate
    certificate: { file: service-account.pem, thumbprint: "${serviceAccountKey.sha1}" }
    username: ${GMAIL_USER}
    proxy: ${proxy}
`;
    const googleServer = `  google:
    tokenEndpoint: ${behindProxy(google.endpoints.tokenEndpoint)}
    authorizationEndpoint: ${behindProxy(google.endpoints.authorizationEndpoint)}
    deviceAuthorizationEndpoint: ${behindProxy(google.endpoints.deviceAuthorizationEndpoint)}
    caFile: google-ca.pem
`;
    const socketPath = path.join(directory, 'broker.sock');
    await writeFile(path.join(directory, 'ca.pem'), sandbox.caCertificatePem);
    await writeFile(path.join(directory, 'secret'), `${SECRET}\n`, { mode: 0o600 });
    await writeFile(path.join(directory, 'proxy-password'), `${PROXY_PASSWORD}\n`, { mode: 0o600 });
    const mailbox = (name: string, proxy: string | undefined) => `  ${name}:
    protocol: imap
    authorizationServer: entra-behind-proxy
    grantType: client-credentials
    tenantId: ${TENANT}
    clientId: ${CLIENT_ID}
    clientSecretFile: secret
    username: sales@contoso.example
${proxy === undefined ? '' : `    proxy: ${proxy}\n`}`;
    const configFile = path.join(directory, 'broker.yaml');
    await writeFile(
      configFile,
      `server:
  listen: ["unix://${socketPath}"]
  socketMode: "0600"
store: { url: "memory:" }
authorizationServers:
  entra-behind-proxy:
    type: microsoft
    authorityHost: https://${PROXY_ONLY_HOST}:${sandbox.port}
    caFile: ca.pem
${googleServer}proxies:
  corp:
    url: ${squid.url}
    username: ${PROXY_USER}
    passwordFile: proxy-password
  corp-bad:
    url: ${squid.url}
    username: ${PROXY_USER}
    password: ${WRONG_PROXY_PASSWORD}
  corp-down:
    url: http://127.0.0.1:${downProxyPort}
    username: ${PROXY_USER}
    passwordFile: proxy-password
mailboxes:
${mailbox('via-proxy', 'corp')}${mailbox('direct', undefined)}${mailbox('bad-proxy-password', 'corp-bad')}${mailbox('proxy-down', 'corp-down')}${gmail('gmail-via-proxy', 'corp')}${gmail('gmail-bad-proxy-password', 'corp-bad')}`,
    );
    daemon = await startDaemonProcess(configFile, `unix://${socketPath}`);
    client = new TokenBrokerClient({ address: `unix://${socketPath}` });
  });

  after(async () => {
    client?.close();
    await daemon?.stop();
    await squid?.stop();
    await sandbox?.close();
    await google?.close();
    if (directory !== undefined) await rm(directory, { recursive: true, force: true });
  });

  test(`${PROXY_ONLY_HOST} does not resolve on this host (so only squid can reach it)`, needsSquid, async () => {
    await assert.rejects(lookup(PROXY_ONLY_HOST), (error: NodeJS.ErrnoException) => {
      assert.ok(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL'].includes(String(error.code)), `unexpected lookup failure ${String(error.code)}`);
      return true;
    });
  });

  test('GetToken succeeds through the authenticating proxy, as the configured proxy user', needsSquid, async () => {
    const token = await client.getToken('via-proxy');
    const claims = sandbox.verifyAccessToken(token.accessToken);
    assert.ok(claims, 'the token must verify against the sandbox signing key');
    assert.equal(claims.appid, CLIENT_ID);
    assert.equal(claims.tid, TENANT);
    // Only via-proxy can reach the sandbox (the others fail on the way): its warm-up and this call share one request.
    assert.equal(sandbox.stats.forClient(CLIENT_ID), 1, 'the sandbox must have answered exactly one token request');

    // squid logs a CONNECT when its tunnel closes, i.e. once the daemon's keep-alive lapses.
    const line = await squid.waitForAccessLine(
      (entry) => entry.includes(`CONNECT ${PROXY_ONLY_HOST}:${sandbox.port} `) && entry.includes('TCP_TUNNEL/200'),
    );
    const fields = line.split(/\s+/);
    assert.equal(fields[5], 'CONNECT', line);
    assert.equal(fields[6], `${PROXY_ONLY_HOST}:${sandbox.port}`, line);
    assert.equal(fields[7], PROXY_USER, `squid must log the tunnel as user ${PROXY_USER}: ${line}`);
  });

  test('the same server without a proxy is unreachable: the name only resolves inside squid', needsSquid, async () => {
    const before = sandbox.stats.total;
    await assert.rejects(client.getToken('direct'), (error: ServiceError) => {
      assert.equal(error.code, GrpcStatus.UNAVAILABLE, error.details);
      assert.equal(errorCodeOf(error), 'server_unreachable', error.details);
      assert.match(error.details, /^mailbox direct: cannot reach entra\.test:\d+/);
      return true;
    });
    assert.equal(sandbox.stats.total, before, 'no request may reach the sandbox without the proxy');
  });

  test('a wrong proxy password is proxy_auth_failed, names the mailbox and proxy, and leaks no password', needsSquid, async () => {
    const before = sandbox.stats.total;
    await assert.rejects(client.getToken('bad-proxy-password'), (error: ServiceError) => {
      assert.equal(error.code, GrpcStatus.UNAVAILABLE, error.details);
      assert.equal(
        errorCodeOf(error),
        'proxy_auth_failed',
        `squid's 407 must be classified as proxy_auth_failed (undici 7 throws TypeError "fetch failed" <- DOMException "Request was cancelled." <- RequestAbortedError UND_ERR_ABORTED "Proxy response (407) !== 200 when HTTP Tunneling"); got: ${error.details}`,
      );
      assert.match(error.details, /mailbox bad-proxy-password/);
      assert.match(error.details, /proxy corp-bad/);
      assert.match(error.details, /407/);
      assert.match(error.details, /Check proxies\.corp-bad\.username and password/);
      for (const password of [WRONG_PROXY_PASSWORD, PROXY_PASSWORD]) {
        assert.ok(!error.details.includes(password), 'no proxy password in the message');
      }
      return true;
    });
    assert.equal(sandbox.stats.total, before, 'squid must not let the request through');
    const log = daemon.stderr();
    for (const secret of [WRONG_PROXY_PASSWORD, PROXY_PASSWORD, SECRET]) {
      assert.ok(!log.includes(secret), 'no password or secret in the daemon log');
      // Nor the Proxy-Authorization header value that carries it.
      assert.ok(!log.includes(Buffer.from(`${PROXY_USER}:${secret}`).toString('base64')), 'no Basic credentials in the daemon log');
    }
    const denied = await squid.waitForAccessLine((entry) => entry.includes('TCP_DENIED/407') && entry.includes(`CONNECT ${PROXY_ONLY_HOST}:`));
    assert.match(denied, new RegExp(`CONNECT ${PROXY_ONLY_HOST}:${sandbox.port} `));
  });

  test('a proxy that is not running is proxy_unreachable and names the proxy', needsSquid, async () => {
    await assert.rejects(client.getToken('proxy-down'), (error: ServiceError) => {
      assert.equal(error.code, GrpcStatus.UNAVAILABLE, error.details);
      assert.equal(errorCodeOf(error), 'proxy_unreachable', error.details);
      assert.match(error.details, /mailbox proxy-down/);
      assert.match(error.details, /proxy corp-down/);
      assert.match(error.details, /ECONNREFUSED/);
      return true;
    });
  });

  test('openid-client requests (Google service account) go through the proxy too', needsSquid, async () => {
    const token = await client.getToken('gmail-via-proxy');
    const info = google.verifyAccessToken(token.accessToken);
    assert.ok(info, 'the token must come from the Google-shaped server');
    assert.equal(info.sub, GMAIL_USER);
    const line = await squid.waitForAccessLine(
      (entry) => entry.includes(`CONNECT ${GOOGLE_PROXY_ONLY_HOST}:${new URL(google.url).port} `) && entry.includes('TCP_TUNNEL/200'),
    );
    assert.match(line, new RegExp(` ${PROXY_USER} `));
  });

  test('a wrong proxy password on the openid-client path is proxy_auth_failed too', needsSquid, async () => {
    await assert.rejects(client.getToken('gmail-bad-proxy-password'), (error: ServiceError) => {
      assert.equal(error.code, GrpcStatus.UNAVAILABLE, error.details);
      assert.equal(error.metadata.get('token-broker-error-code')[0], 'proxy_auth_failed');
      assert.match(error.details, /mailbox gmail-bad-proxy-password: proxy corp-bad/);
      assert.ok(!error.details.includes(WRONG_PROXY_PASSWORD));
      return true;
    });
  });
});
