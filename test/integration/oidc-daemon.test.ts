// Google-shaped and generic servers over gRPC against the real daemon: the
// Google sandbox (authorization code with a pasted redirect URL, service
// account) and oauth2-mock-server as an independent generic server (client
// credentials, authorization code). Each token is checked against the server
// that issued it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { createLocalJWKSet, jwtVerify } from 'jose';
import type { JSONWebKeySet } from 'jose';
import { OAuth2Server } from 'oauth2-mock-server';
import { TokenBrokerClient } from '../../src/client/index.js';
import { startGoogleSandbox } from '../../src/sandbox/google/index.js';
import type { GoogleSandbox } from '../../src/sandbox/google/index.js';
import { makeCertificate } from '../support/certificates.js';
import { startDaemonProcess } from '../support/daemon-process.js';
import type { DaemonProcess } from '../support/daemon-process.js';
import { followAuthorization } from '../support/oidc-browser.js';

const WEB_CLIENT = '1234-web.apps.googleusercontent.com';
const WEB_SECRET = 'GOCSPX-test-secret';
const GOOGLE_REDIRECT = 'https://broker.example.com/oauth/google';
const SERVICE_ACCOUNT = 'broker@project.iam.gserviceaccount.com';
const GMAIL_USER = 'ada@example.com';
const GENERIC_CLIENT = 'acme-broker';
const GENERIC_SECRET = 'acme-secret';

describe('Google and generic servers through the daemon', () => {
  let directory: string;
  let google: GoogleSandbox;
  const generic = new OAuth2Server();
  let jwks: ReturnType<typeof createLocalJWKSet>;
  let issuer: string;
  let daemon: DaemonProcess;
  let client: TokenBrokerClient;

  before(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'tb-oidc-daemon-'));
    google = await startGoogleSandbox();
    google.registerUser(GMAIL_USER);
    google.registerClient({ clientId: WEB_CLIENT, clientSecret: WEB_SECRET, redirectUris: [GOOGLE_REDIRECT] });
    const serviceAccountKey = makeCertificate(Date.now() - 60_000, Date.now() + 86_400_000, 'service-account');
    google.registerServiceAccount({ clientId: SERVICE_ACCOUNT, certificatePem: serviceAccountKey.certificatePem });
    await generic.issuer.keys.generate('RS256');
    await generic.start(0, 'localhost');
    issuer = generic.issuer.url ?? '';
    jwks = createLocalJWKSet((await (await fetch(`${issuer}/jwks`)).json()) as JSONWebKeySet);

    await writeFile(path.join(directory, 'google-ca.pem'), google.caCertificatePem);
    await writeFile(path.join(directory, 'service-account.pem'), serviceAccountKey.certificatePem + serviceAccountKey.keyPem, { mode: 0o600 });
    const address = `unix://${path.join(directory, 'broker.sock')}`;
    const configFile = path.join(directory, 'broker.yaml');
    await writeFile(
      configFile,
      `server: { listen: ["${address}"] }
store: { url: "memory:" }
authorizationServers:
  google:
    authorizationEndpoint: ${google.endpoints.authorizationEndpoint}
    tokenEndpoint: ${google.endpoints.tokenEndpoint}
    deviceAuthorizationEndpoint: ${google.endpoints.deviceAuthorizationEndpoint}
    caFile: google-ca.pem
  acme:
    type: generic
    issuer: ${issuer}
    scopes: { imap: [mail.read], smtp: [mail.send] }
mailboxes:
  gmail-imap:
    protocol: imap
    authorizationServer: google
    grantType: authorization-code
    clientId: ${WEB_CLIENT}
    clientSecret: ${WEB_SECRET}
    redirectUri: ${GOOGLE_REDIRECT}
    username: ${GMAIL_USER}
  gmail-app:
    protocol: imap
    authorizationServer: google
    grantType: client-credentials
    clientId: ${SERVICE_ACCOUNT}
    authenticationMode: certificate
    certificate: { file: service-account.pem, thumbprint: "${serviceAccountKey.sha1}" }
    username: ${GMAIL_USER}
  acme-app:
    protocol: smtp
    authorizationServer: acme
    grantType: client-credentials
    clientId: ${GENERIC_CLIENT}
    clientSecret: ${GENERIC_SECRET}
    username: robot@acme.example
  acme-user:
    protocol: imap
    authorizationServer: acme
    grantType: authorization-code
    clientId: ${GENERIC_CLIENT}
    clientSecret: ${GENERIC_SECRET}
    redirectUri: http://localhost:8400/callback
    username: johndoe@acme.example
`,
    );
    daemon = await startDaemonProcess(configFile, address);
    client = new TokenBrokerClient({ address });
  });

  after(async () => {
    client?.close();
    await daemon?.stop();
    await google?.close();
    await generic.stop();
    await rm(directory, { recursive: true, force: true });
  });

  test('Google authorization code: offline access asked, pasted redirect URL completes it, forged state refused', async () => {
    await assert.rejects(client.getToken('gmail-imap'), (error: ServiceError) => error.code === GrpcStatus.FAILED_PRECONDITION && /token-broker authorize gmail-imap/.test(error.details));
    const started = await client.startAuthorization('gmail-imap');
    const url = new URL(started.authorizationUrl);
    assert.equal(url.searchParams.get('access_type'), 'offline');
    assert.equal(url.searchParams.get('prompt'), 'consent');
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    const landed = await followAuthorization(started.authorizationUrl, google.caCertificatePem);
    const forged = new URL(landed);
    forged.searchParams.set('state', 'not-the-state');
    await assert.rejects(client.completeAuthorization('gmail-imap', { redirectUrl: forged.href }), (error: ServiceError) => error.code === GrpcStatus.INVALID_ARGUMENT);
    assert.equal((await client.completeAuthorization('gmail-imap', { redirectUrl: landed.href })).state, 'READY');
    const token = await client.getToken('gmail-imap');
    const info = google.verifyAccessToken(token.accessToken);
    assert.ok(info, 'issued by the Google sandbox');
    assert.equal(info.sub, GMAIL_USER);
    assert.equal(info.azp, WEB_CLIENT);
    assert.equal(Buffer.from(token.saslXoauth2, 'base64').toString(), `user=${GMAIL_USER}\x01auth=Bearer ${token.accessToken}\x01\x01`);
  });

  test('Google refresh: a later token comes from the refresh token', async () => {
    google.stats.reset();
    // A token the mail server rejected forces a refresh.
    const current = await client.getToken('gmail-imap');
    const refreshed = await client.reportRejected('gmail-imap', current.accessToken, 'test: AUTHENTICATE failed');
    assert.notEqual(refreshed.accessToken, current.accessToken);
    assert.equal(google.stats.forGrantType('refresh_token'), 1);
  });

  test('Google service account: the JWT bearer grant impersonates the mailbox user', async () => {
    const token = await client.getToken('gmail-app');
    const info = google.verifyAccessToken(token.accessToken);
    assert.ok(info);
    assert.equal(info.sub, GMAIL_USER);
    assert.equal(info.azp, SERVICE_ACCOUNT);
  });

  test('generic server: client credentials by issuer discovery, token signed by that server', async () => {
    const token = await client.getToken('acme-app');
    const { payload } = await jwtVerify(token.accessToken, jwks, { issuer });
    assert.equal(payload['scope'], 'mail.send', 'the scope the broker asked for');
    assert.deepEqual(token.scopes, ['mail.send']);
  });

  test('generic server: authorization code completed with code and state, then served', async () => {
    const started = await client.startAuthorization('acme-user');
    const landed = await followAuthorization(started.authorizationUrl);
    const status = await client.completeAuthorization('acme-user', {
      code: landed.searchParams.get('code') ?? '',
      state: landed.searchParams.get('state') ?? '',
    });
    assert.equal(status.state, 'READY');
    const token = await client.getToken('acme-user');
    await jwtVerify(token.accessToken, jwks, { issuer });
  });
});
