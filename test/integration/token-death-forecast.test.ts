// The token-death forecast through the real daemon and command line: a Google
// mailbox authorized against the Google sandbox, which grants time-based
// access (refresh_token_expires_in) to an app in "Testing" (testingApp), with
// a dated client secret. `status --json` carries every death with its basis,
// the table the earliest with its marker, and the daemon's log the warning.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TokenBrokerClient } from '../../src/client/index.js';
import { startGoogleSandbox } from '../../src/sandbox/google/index.js';
import type { GoogleSandbox } from '../../src/sandbox/google/index.js';
import { eventually } from '../support/assertions.js';
import { runCliInProcess } from '../support/cli-in-process.js';
import { startDaemonProcess } from '../support/daemon-process.js';
import type { DaemonProcess } from '../support/daemon-process.js';
import { followAuthorization } from '../support/oidc-browser.js';

const WEB_CLIENT = '1234-web.apps.googleusercontent.com';
const WEB_SECRET = 'GOCSPX-forecast-secret';
const GOOGLE_REDIRECT = 'https://broker.example.com/oauth/google';
const GMAIL_USER = 'ada@example.com';
const DAY = 86_400_000;
/** The access the user granted: three days. */
const GRANTED_SECONDS = 3 * 86_400;

interface JsonForecast {
  readonly credential: string;
  readonly expectedAt: string;
  readonly basis: string;
  readonly reason: string;
}

describe('token-death forecast through the daemon', () => {
  let directory: string;
  let google: GoogleSandbox;
  let daemon: DaemonProcess;
  let client: TokenBrokerClient;
  let address: string;

  before(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'tb-forecast-'));
    google = await startGoogleSandbox({ refreshTokenLifetimeSeconds: GRANTED_SECONDS });
    google.registerUser(GMAIL_USER);
    google.registerClient({ clientId: WEB_CLIENT, clientSecret: WEB_SECRET, redirectUris: [GOOGLE_REDIRECT] });
    await writeFile(path.join(directory, 'google-ca.pem'), google.caCertificatePem);
    address = `unix://${path.join(directory, 'broker.sock')}`;
    const configFile = path.join(directory, 'broker.yaml');
    await writeFile(
      configFile,
      `server: { listen: ["${address}"] }
store: { url: "memory:" }
refresh: { sweepIntervalSeconds: 1 }
authorizationServers:
  google:
    authorizationEndpoint: ${google.endpoints.authorizationEndpoint}
    tokenEndpoint: ${google.endpoints.tokenEndpoint}
    deviceAuthorizationEndpoint: ${google.endpoints.deviceAuthorizationEndpoint}
    caFile: google-ca.pem
    testingApp: true
mailboxes:
  gmail:
    protocol: imap
    authorizationServer: google
    grantType: authorization-code
    clientId: ${WEB_CLIENT}
    clientSecret: ${WEB_SECRET}
    clientSecretExpiresAt: 2099-03-31
    redirectUri: ${GOOGLE_REDIRECT}
    username: ${GMAIL_USER}
`,
    );
    daemon = await startDaemonProcess(configFile, address);
    client = new TokenBrokerClient({ address });
  });

  after(async () => {
    client?.close();
    await daemon?.stop();
    await google?.close();
    await rm(directory, { recursive: true, force: true });
  });

  test('before authorization only the secret is known; after it, the stated lifetime, the testing app\'s 7 days and the secret', async () => {
    const before = await runCliInProcess(['status', '--json', '--socket', address]);
    assert.equal(before.code, 0, before.stderr);
    const [unauthorized] = JSON.parse(before.stdout) as { credentialForecasts: JsonForecast[] }[];
    assert.deepEqual(unauthorized?.credentialForecasts.map((forecast) => [forecast.credential, forecast.basis, forecast.expectedAt]), [
      ['client_secret', 'secret_end_date', '2099-03-31T00:00:00.000Z'],
    ]);

    const started = await client.startAuthorization('gmail');
    const landed = await followAuthorization(started.authorizationUrl, google.caCertificatePem);
    const authorizedAt = Date.now();
    assert.equal((await client.completeAuthorization('gmail', { redirectUrl: landed.href })).state, 'READY');

    const json = await runCliInProcess(['status', '--json', '--socket', address]);
    assert.equal(json.code, 0, json.stderr);
    const [status] = JSON.parse(json.stdout) as { mailbox: string; credentialForecasts: JsonForecast[] }[];
    assert.equal(status?.mailbox, 'gmail');
    const forecasts = status?.credentialForecasts ?? [];
    assert.deepEqual(forecasts.map((forecast) => [forecast.credential, forecast.basis]), [
      ['refresh_token', 'server_stated_lifetime'],
      ['refresh_token', 'google_testing_app'],
      ['client_secret', 'secret_end_date'],
    ]);
    // Within the seconds the authorization took: the sandbox's three days, and seven from the refresh token's issue.
    const near = (at: string | undefined, expected: number): boolean => Math.abs(Date.parse(at ?? '') - expected) < 60_000;
    assert.ok(near(forecasts[0]?.expectedAt, authorizedAt + GRANTED_SECONDS * 1000), `stated lifetime: ${forecasts[0]?.expectedAt ?? ''}`);
    assert.ok(near(forecasts[1]?.expectedAt, authorizedAt + 7 * DAY), `testing app: ${forecasts[1]?.expectedAt ?? ''}`);
    assert.match(forecasts[1]?.reason ?? '', /testingApp/);
    assert.doesNotMatch(json.stdout, new RegExp(WEB_SECRET), 'never the secret');

    const table = await runCliInProcess(['status', '--socket', address]);
    assert.equal(table.code, 0, table.stderr);
    const [header, row] = table.stdout.trim().split('\n');
    assert.match(header ?? '', /\bFORECAST\b/);
    // Three days ahead, less the seconds since: "2d", inside the 7-day threshold.
    assert.match(row ?? '', /\brefresh token 2d !!(?!!)/);

    // The sweep after the authorization warns of both refresh-token deaths within 7 days (once each: the unit tests count).
    const warnings = (): { basis: string; threshold: unknown; msg: string }[] =>
      daemon
        .stderr()
        .split('\n')
        .filter((line) => line.includes('"threshold"'))
        .map((line) => JSON.parse(line) as { basis: string; threshold: unknown; msg: string });
    await waitFor(() => warnings().length >= 2, 'the 7-day warnings in the daemon log');
    assert.deepEqual(warnings().map((line) => [line.basis, line.threshold]), [
      ['server_stated_lifetime', 7],
      ['google_testing_app', 7],
    ]);
    assert.match(warnings()[0]?.msg ?? '', /^mailbox gmail: the refresh token is expected to stop working in 2 days/);
  });
});

/** Waits (polling: the daemon is another process, its log the only signal) until `condition` holds, up to a minute. */
async function waitFor(condition: () => boolean, what: string): Promise<void> {
  await eventually(() => assert.ok(condition(), `waiting for ${what}`), 60_000);
}
