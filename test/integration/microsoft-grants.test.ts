// Every grant type on a Microsoft-type server, over gRPC against the real
// daemon binary, with the Entra-shaped sandbox as the authorization server:
// ROPC (and its deprecated variant), authorization code (pasted redirect URL
// and loopback listener, forged state refused), device code, and client
// credentials with a certificate.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { fetch } from 'undici';
import { TokenBrokerClient } from '../../src/client/index.js';
import { startSandbox } from '../../src/sandbox/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { eventually } from '../support/assertions.js';
import { freePort, signInRedirect } from '../support/browser.js';
import { makeCertificate, pfx } from '../support/certificates.js';
import { startCli, startDaemonProcess } from '../support/daemon-process.js';
import type { DaemonProcess } from '../support/daemon-process.js';

const TENANT = randomUUID();
const PUBLIC_APP = randomUUID();
const WEB_APP = randomUUID();
const CERT_APP = randomUUID();
const WEB_SECRET = `web-${randomUUID()}`;
const ALICE = 'alice@contoso.example';
const ALICE_PASSWORD = `pw-${randomUUID()}`;
const BOB = 'bob@contoso.example';
const CAROL = 'carol@contoso.example';
const WEB_REDIRECT = 'https://broker.contoso.example/oauth/callback';

function assertRejects(promise: Promise<unknown>, code: GrpcStatus, pattern: RegExp): Promise<void> {
  return assert.rejects(promise, (error: ServiceError) => {
    assert.equal(error.code, code, error.details);
    assert.match(error.details, pattern);
    return true;
  });
}

describe('Microsoft grants through the daemon', () => {
  let directory: string;
  let sandbox: Sandbox;
  let daemon: DaemonProcess;
  let client: TokenBrokerClient;
  let address: string;
  let loopbackRedirect: string;
  let cliLoopbackRedirect: string;

  before(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'tb-ms-grants-'));
    sandbox = await startSandbox({ deviceCodeIntervalSeconds: 1 });
    loopbackRedirect = `http://localhost:${await freePort()}/callback`;
    cliLoopbackRedirect = `http://127.0.0.1:${await freePort()}/done`;
    const certificate = makeCertificate(Date.now() - 3_600_000, Date.now() + 365 * 86_400_000, 'broker-app');
    const pfxCertificate = makeCertificate(Date.now() - 3_600_000, Date.now() + 365 * 86_400_000, 'broker-app-pfx');
    const expiringCertificate = makeCertificate(Date.now() - 3_600_000, Date.now() + 10 * 86_400_000 + 3_600_000, 'broker-app-expiring');
    sandbox.registerApplication({ tenantId: TENANT, clientId: PUBLIC_APP, publicClient: true, redirectUris: [loopbackRedirect, cliLoopbackRedirect] });
    sandbox.registerApplication({ tenantId: TENANT, clientId: WEB_APP, clientSecret: WEB_SECRET, redirectUris: [WEB_REDIRECT] });
    sandbox.registerApplication({
      tenantId: TENANT,
      clientId: CERT_APP,
      certificates: [certificate.certificatePem, pfxCertificate.certificatePem, expiringCertificate.certificatePem],
    });
    sandbox.registerUser({ tenantId: TENANT, username: ALICE, password: ALICE_PASSWORD });
    sandbox.registerUser({ tenantId: TENANT, username: BOB, password: 'bob-pw', kind: 'mfa' });
    sandbox.registerUser({ tenantId: TENANT, username: CAROL, password: 'carol-pw', kind: 'federated' });

    await writeFile(path.join(directory, 'ca.pem'), sandbox.caCertificatePem);
    await writeFile(path.join(directory, 'alice-password'), `${ALICE_PASSWORD}\n`, { mode: 0o600 });
    await writeFile(path.join(directory, 'app.pem'), `${certificate.certificatePem}${certificate.keyPem}`, { mode: 0o600 });
    await writeFile(path.join(directory, 'app.pfx'), pfx(pfxCertificate, 'pfx-password'), { mode: 0o600 });
    await writeFile(path.join(directory, 'expiring.pem'), `${expiringCertificate.certificatePem}${expiringCertificate.keyPem}`, { mode: 0o600 });
    address = `unix://${path.join(directory, 'broker.sock')}`;
    const user = (name: string, fields: string): string => `  ${name}:\n${fields.trim().split('\n').map((line) => `    ${line.trim()}`).join('\n')}\n`;
    const configFile = path.join(directory, 'broker.yaml');
    await writeFile(
      configFile,
      `server: { listen: ["${address}"] }
store: { url: "memory:" }
authorizationServers:
  microsoft: { authorityHost: "${sandbox.url}", caFile: ca.pem }
mailboxes:
${user('graph-ropc', `protocol: graph\ngrantType: ropc\ntenantId: ${TENANT}\nclientId: ${PUBLIC_APP}\nusername: ${ALICE}\npasswordFile: alice-password`)}
${user('graph-ropc-organizations', `protocol: graph\ngrantType: ropc\nclientId: ${PUBLIC_APP}\nusername: ${ALICE}\npasswordFile: alice-password`)}
${user('graph-ropc-confidential', `protocol: graph\ngrantType: ropc\ntenantId: ${TENANT}\nclientId: ${WEB_APP}\nclientSecret: ${WEB_SECRET}\nusername: ${ALICE}\npasswordFile: alice-password`)}
${user('graph-ropc-mfa', `protocol: graph\ngrantType: ropc\ntenantId: ${TENANT}\nclientId: ${PUBLIC_APP}\nusername: ${BOB}\npassword: bob-pw`)}
${user('graph-ropc-federated', `protocol: graph\ngrantType: ropc\ntenantId: ${TENANT}\nclientId: ${PUBLIC_APP}\nusername: ${CAROL}\npassword: carol-pw`)}
${user('graph-ropc-legacy', `protocol: graph\ngrantType: ropc-deprecated\ntenantId: ${TENANT}\nclientId: ${PUBLIC_APP}\nusername: ${ALICE}\npasswordFile: alice-password`)}
${user('imap-pasted', `protocol: imap\ngrantType: authorization-code\ntenantId: ${TENANT}\nclientId: ${WEB_APP}\nclientSecret: ${WEB_SECRET}\nredirectUri: ${WEB_REDIRECT}\nredirectPlatform: web\nusername: ${ALICE}\nsharedMailbox: team@contoso.example`)}
${user('imap-loopback', `protocol: imap\ngrantType: authorization-code\ntenantId: ${TENANT}\nclientId: ${PUBLIC_APP}\nredirectUri: ${loopbackRedirect}\nredirectPlatform: desktop\nusername: ${ALICE}`)}
${user('pop-cli', `protocol: pop3\ngrantType: authorization-code\ntenantId: ${TENANT}\nclientId: ${PUBLIC_APP}\nredirectUri: ${cliLoopbackRedirect}\nredirectPlatform: desktop\nusername: ${ALICE}`)}
${user('smtp-device', `protocol: smtp\ngrantType: device-code\ntenantId: ${TENANT}\nclientId: ${PUBLIC_APP}\nusername: ${ALICE}`)}
${user('pop-device-declined', `protocol: pop3\ngrantType: device-code\ntenantId: ${TENANT}\nclientId: ${PUBLIC_APP}\nusername: ${ALICE}`)}
${user('imap-cert-pfx', `protocol: imap\ngrantType: client-credentials\ntenantId: ${TENANT}\nclientId: ${CERT_APP}\nauthenticationMode: certificate\ncertificate: { file: app.pfx, thumbprint: "${pfxCertificate.sha256}", password: pfx-password }\nusername: shared-box@contoso.example`)}
${user('imap-cert-expiring', `protocol: imap\ngrantType: client-credentials\ntenantId: ${TENANT}\nclientId: ${CERT_APP}\nauthenticationMode: certificate\ncertificate: { file: expiring.pem, thumbprint: "${expiringCertificate.sha1}" }\nusername: shared-box@contoso.example`)}
${user('imap-cert', `protocol: imap\ngrantType: client-credentials\ntenantId: ${TENANT}\nclientId: ${CERT_APP}\nauthenticationMode: certificate\ncertificate: { file: app.pem, thumbprint: "${certificate.sha1}" }\nusername: shared-box@contoso.example`)}
`,
    );
    daemon = await startDaemonProcess(configFile, address);
    client = new TokenBrokerClient({ address });
  });

  after(async () => {
    client?.close();
    await daemon?.stop();
    await sandbox?.close();
    await rm(directory, { recursive: true, force: true });
  });

  test('ROPC: the password buys a user token for Graph', async () => {
    const token = await client.getToken('graph-ropc');
    const claims = sandbox.verifyAccessToken(token.accessToken);
    assert.ok(claims, 'issued by the sandbox');
    assert.equal((claims as unknown as { upn?: string }).upn, ALICE);
    assert.equal(token.protocol, 'GRAPH');
    assert.equal(token.username, ALICE);
    assert.equal((await client.getToken('graph-ropc')).accessToken, token.accessToken, 'served from cache');
  });

  test('ROPC with a confidential client sends its secret', async () => {
    const token = await client.getToken('graph-ropc-confidential');
    const claims = sandbox.verifyAccessToken(token.accessToken);
    assert.equal(claims?.appid, WEB_APP);
    assert.equal(claims?.appidacr, '1', 'the client authenticated with its secret');
  });

  test('ROPC without a tenant uses the organizations authority', async () => {
    const token = await client.getToken('graph-ropc-organizations');
    const claims = sandbox.verifyAccessToken(token.accessToken);
    assert.equal(claims?.tid, TENANT, 'the user\'s home tenant issued it');
  });

  test('ROPC for an MFA user says ROPC cannot work and which grant to use', async () => {
    await assertRejects(client.getToken('graph-ropc-mfa'), GrpcStatus.FAILED_PRECONDITION, /AADSTS50076.*ROPC cannot do MFA: use grantType authorization-code or device-code/s);
  });

  test('ROPC for a federated user points at the grants that work', async () => {
    await assertRejects(client.getToken('graph-ropc-federated'), GrpcStatus.FAILED_PRECONDITION, /AADSTS50126.*federated/s);
  });

  test('ROPC (deprecated) gets a Graph token on demand with the password', async () => {
    sandbox.stats.reset();
    const token = await client.getToken('graph-ropc-legacy');
    const claims = sandbox.verifyAccessToken(token.accessToken);
    assert.ok(claims);
    assert.equal(claims.aud, 'https://graph.microsoft.com');
    assert.equal(sandbox.stats.forGrantType('password'), 1);
  });

  test('authorization code: unauthorized first, then completed with the pasted redirect URL; a forged state is refused', async () => {
    await assertRejects(client.getToken('imap-pasted'), GrpcStatus.FAILED_PRECONDITION, /token-broker authorize imap-pasted/);
    const started = await client.startAuthorization('imap-pasted');
    const url = new URL(started.authorizationUrl);
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    assert.ok((url.searchParams.get('code_challenge') ?? '').length >= 43);
    assert.equal(url.searchParams.get('state'), started.state);
    assert.equal(url.searchParams.get('redirect_uri'), WEB_REDIRECT);

    const landed = await signInRedirect(started.authorizationUrl, sandbox.caCertificatePem);
    assert.ok(landed.startsWith(WEB_REDIRECT));
    const forged = new URL(landed);
    forged.searchParams.set('state', 'forged-state');
    await assertRejects(client.completeAuthorization('imap-pasted', { redirectUrl: forged.href }), GrpcStatus.INVALID_ARGUMENT, /state in the redirect does not match/);

    const status = await client.completeAuthorization('imap-pasted', { redirectUrl: landed });
    assert.equal(status.state, 'READY');
    const token = await client.getToken('imap-pasted');
    const claims = sandbox.verifyAccessToken(token.accessToken) as unknown as { upn?: string; scp?: string };
    assert.equal(claims.upn, ALICE);
    assert.match(claims.scp ?? '', /IMAP\.AccessAsUser\.All/);
    assert.equal(token.username, 'team@contoso.example', 'the shared mailbox is the SASL identity');

    await assertRejects(client.completeAuthorization('imap-pasted', { redirectUrl: landed }), GrpcStatus.FAILED_PRECONDITION, /no authorization is in progress/);
  });

  test('authorization code: the refresh token is used (and rotated) for later tokens', async () => {
    sandbox.stats.reset();
    const first = await client.getToken('imap-pasted');
    // A token the mail server rejected forces an acquisition: by refresh token.
    const second = await client.reportRejected('imap-pasted', first.accessToken, 'test: AUTHENTICATE failed');
    assert.equal(sandbox.stats.forGrantType('refresh_token'), 1);
    assert.notEqual(second.accessToken, first.accessToken);
    assert.equal((await client.getToken('imap-pasted')).accessToken, second.accessToken);
    // More validity than the server's tokens have costs no request: the broker knows from the token it just got.
    await assert.rejects(client.getToken('imap-pasted', { minValiditySeconds: 3_500 + 3_600 }), (error: ServiceError) => error.code === GrpcStatus.INVALID_ARGUMENT);
    assert.equal(sandbox.stats.forGrantType('refresh_token'), 1);
    assert.equal((await client.getMailboxStatus('imap-pasted')).state, 'READY');
  });

  test('authorization code: the loopback listener completes the flow by itself and closes', async () => {
    const started = await client.startAuthorization('imap-loopback');
    const landed = await signInRedirect(started.authorizationUrl, sandbox.caCertificatePem);
    assert.ok(landed.startsWith(loopbackRedirect));
    const page = await fetch(landed).catch((error: Error) => {
      throw new Error(`the loopback listener did not answer (${String(error.cause)}); daemon log:\n${daemon.stderr().slice(-3000)}`);
    });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Mailbox imap-loopback is authorized/);
    const token = await client.getToken('imap-loopback');
    assert.ok(sandbox.verifyAccessToken(token.accessToken));
    await assert.rejects(fetch(landed), 'the listener is closed after one redirect');
  });

  test('device code: the user code is shown, the broker polls, the token arrives', async () => {
    const started = await client.startAuthorization('smtp-device');
    assert.match(started.userCode, /^\S{6,}$/);
    assert.match(started.verificationUri, /devicelogin/);
    assert.equal(started.authorizationUrl, '');
    sandbox.approveDeviceCode(started.userCode, ALICE);
    await eventually(async () => assert.equal((await client.getMailboxStatus('smtp-device')).state, 'READY'));
    const token = await client.getToken('smtp-device');
    assert.match((sandbox.verifyAccessToken(token.accessToken) as unknown as { scp?: string }).scp ?? '', /SMTP\.Send/);
  });

  test('device code: a declined sign-in leaves the mailbox needing authorization, with the reason', async () => {
    const started = await client.startAuthorization('pop-device-declined');
    sandbox.declineDeviceCode(started.userCode);
    const status = await eventually(async () => {
      const current = await client.getMailboxStatus('pop-device-declined');
      assert.notEqual(current.lastErrorCode, '', 'the broker has not heard of the declined sign-in yet');
      return current;
    });
    assert.equal(status.state, 'NEEDS_AUTHORIZATION');
    assert.equal(status.lastErrorCode, 'authorization_declined');
    assert.match(status.lastErrorMessage, /declined the sign-in\. Run: token-broker authorize pop-device-declined/);
  });

  test('client credentials with a certificate: the assertion is verified by the server', async () => {
    const token = await client.getToken('imap-cert');
    const claims = sandbox.verifyAccessToken(token.accessToken);
    assert.ok(claims);
    assert.equal(claims.appid, CERT_APP);
    assert.equal(claims.appidacr, '2', 'authenticated with a certificate');
  });

  test('client credentials with a PFX certificate (password-protected, SHA-256 thumbprint)', async () => {
    const token = await client.getToken('imap-cert-pfx');
    assert.equal(sandbox.verifyAccessToken(token.accessToken)?.appidacr, '2');
  });

  test('a certificate that expires within 30 days warns at every token request', async () => {
    const token = await client.getToken('imap-cert-expiring');
    assert.ok(sandbox.verifyAccessToken(token.accessToken));
    assert.match(daemon.stderr(), /mailbox imap-cert-expiring: the client certificate expires in 10 days; renew it/);
  });

  test('authorize (CLI): the URL is printed, the pasted redirect URL completes it', async () => {
    const cli = startCli(['authorize', 'imap-pasted', '--socket', address]);
    const output = await cli.waitForStdout(/^\s+(https:\S+)$/m);
    const landed = await signInRedirect(output[1] ?? '', sandbox.caCertificatePem);
    cli.write(`${landed}\n`);
    const result = await cli.exit;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Mailbox imap-pasted is authorized/);
  });

  test('authorize (CLI): with a loopback redirect URI it waits for the browser and reports success', async () => {
    const cli = startCli(['authorize', 'pop-cli', '--socket', address]);
    const output = await cli.waitForStdout(/^\s+(https:\S+)$/m);
    await cli.waitForStdout(/Waiting for the browser to come back to http:\/\/127\.0\.0\.1:\d+\/done/);
    const landed = await signInRedirect(output[1] ?? '', sandbox.caCertificatePem);
    assert.equal((await fetch(landed)).status, 200);
    const result = await cli.exit;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Mailbox pop-cli is authorized; token expires at \d{4}-/);
  });
});
