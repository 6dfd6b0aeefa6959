// The token-death forecast as ops see it while time passes, on a manual clock:
// a daemon in this process whose clock and sweep the test drives, a mailbox
// with a dated client secret (clientSecretExpiresAt). Its death shows in
// MailboxStatus (the gRPC face `status` prints) and in /metrics, and as the
// clock moves past 14, 7 and 1 days ahead, the metric's days fall, the
// warnings gauge counts it, and the daemon logs each threshold once.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TokenBrokerClient } from '../../src/client/index.js';
import { loadConfig } from '../../src/config/index.js';
import { startDaemon } from '../../src/daemon/index.js';
import type { RunningDaemon } from '../../src/daemon/index.js';
import { startSandbox } from '../../src/sandbox/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { ManualClock, ManualScheduler } from '../../src/time/index.js';
import { captureLogs } from '../support/log-capture.js';
import type { CapturedLog } from '../support/log-capture.js';
import { httpRequest, parseExposition, sampleValue } from '../support/metrics-scrape.js';
import { freePort } from '../support/ports.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
/** A whole day, so the dates below are exact. */
const START = Date.UTC(2027, 0, 1);
/** The secret ends 20 days after the start. */
const SECRET_ENDS = START + 20 * DAY;
const SECRET = `web-secret-${randomUUID()}`;
const SERIES = { mailbox: 'sales', credential: 'client_secret', basis: 'secret_end_date' };

describe('token-death forecast on a manual clock: status, metrics and warnings', () => {
  let directory: string;
  let sandbox: Sandbox;
  let daemon: RunningDaemon;
  let client: TokenBrokerClient;
  let logs: CapturedLog;
  const clock = new ManualClock(START);
  const scheduler = new ManualScheduler();

  before(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'tb-forecast-clock-'));
    sandbox = await startSandbox();
    await writeFile(path.join(directory, 'ca.pem'), sandbox.caCertificatePem);
    const address = `unix://${path.join(directory, 'broker.sock')}`;
    const configFile = path.join(directory, 'broker.yaml');
    // An authorization-code mailbox never authorized: the sweep sends nothing to the server, so the manual clock
    // meets no token whose expiry the server computed from real time; the secret's forecast needs no token.
    await writeFile(
      configFile,
      `server: { listen: ["${address}"] }
store: { url: "memory:" }
metrics: { listen: "127.0.0.1:${await freePort()}" }
authorizationServers:
  microsoft: { authorityHost: "${sandbox.url}", caFile: ca.pem }
mailboxes:
  sales:
    protocol: imap
    grantType: authorization-code
    tenantId: ${randomUUID()}
    clientId: ${randomUUID()}
    clientSecret: ${SECRET}
    clientSecretExpiresAt: "${new Date(SECRET_ENDS).toISOString().slice(0, 10)}"
    redirectUri: https://broker.example.com/callback
    redirectPlatform: web
    username: sales@contoso.example
`,
      { mode: 0o600 },
    );
    const loaded = await loadConfig(configFile);
    assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.problems));
    logs = captureLogs('info');
    daemon = await startDaemon(loaded.config, { logger: logs.logger, clock, scheduler });
    client = new TokenBrokerClient({ address });
  });

  after(async () => {
    client.close();
    await daemon.stop(1_000);
    await sandbox.close();
    await rm(directory, { recursive: true, force: true });
  });

  async function scrape(): Promise<ReturnType<typeof parseExposition>> {
    assert.ok(daemon.metricsUrl !== undefined, 'the daemon has a metrics listener');
    const answer = await httpRequest(daemon.metricsUrl, '/metrics');
    assert.equal(answer.status, 200, answer.body);
    return parseExposition(answer.body);
  }

  /** The warning lines about the secret logged so far, as [threshold, level]. */
  function secretWarnings(): [unknown, number][] {
    return logs
      .text()
      .split('\n')
      .filter((line) => line.includes('"threshold"') && line.includes('secret_end_date'))
      .map((line) => JSON.parse(line) as { threshold: unknown; level: number })
      .map((line) => [line.threshold, line.level]);
  }

  /** Moves the clock to `days` before the secret ends and lets the sweep run (the forecast is looked at hourly). */
  function moveTo(daysLeft: number): void {
    clock.set(SECRET_ENDS - daysLeft * DAY);
    scheduler.tick();
  }

  test('the secret end date is in MailboxStatus, with its basis and what to do', async () => {
    const status = await client.getMailboxStatus('sales');
    assert.deepEqual(
      status.credentialForecasts.map((forecast) => [forecast.credential, forecast.basis, forecast.expectedAt.getTime()]),
      [['client_secret', 'secret_end_date', SECRET_ENDS]],
    );
    assert.match(status.credentialForecasts[0]?.reason ?? '', /clientSecretExpiresAt/);
    assert.doesNotMatch(JSON.stringify(status), new RegExp(SECRET), 'never the secret itself');
  });

  test('the metric counts the days down with the clock; the warnings gauge and the log follow at 14, 7 and 1 days', async () => {
    let samples = await scrape();
    assert.equal(sampleValue(samples, 'token_broker_credential_expiry_days', SERIES), 20);
    assert.equal(sampleValue(samples, 'token_broker_credential_warnings', { days: '14' }), 0);
    moveTo(20);
    assert.deepEqual(secretWarnings(), [], 'no warning 20 days ahead');

    moveTo(10);
    samples = await scrape();
    assert.equal(sampleValue(samples, 'token_broker_credential_expiry_days', SERIES), 10);
    assert.equal(sampleValue(samples, 'token_broker_credential_warnings', { days: '14' }), 1);
    assert.equal(sampleValue(samples, 'token_broker_credential_warnings', { days: '7' }), 0);
    assert.deepEqual(secretWarnings(), [[14, 40]], 'warned once at 14 days (warn)');

    // An hour on, the sweep looks again: the same threshold is not said twice.
    clock.set(clock.now() + HOUR);
    scheduler.tick();
    assert.equal(secretWarnings().length, 1);

    moveTo(5);
    samples = await scrape();
    assert.equal(sampleValue(samples, 'token_broker_credential_expiry_days', SERIES), 5);
    assert.equal(sampleValue(samples, 'token_broker_credential_warnings', { days: '7' }), 1);
    assert.deepEqual(secretWarnings(), [[14, 40], [7, 40]]);

    moveTo(0.5);
    samples = await scrape();
    assert.equal(sampleValue(samples, 'token_broker_credential_expiry_days', SERIES), 0.5);
    assert.equal(sampleValue(samples, 'token_broker_credential_warnings', { days: '1' }), 1);
    assert.deepEqual(secretWarnings(), [[14, 40], [7, 40], [1, 50]], 'the last day is an error');
  });
});
