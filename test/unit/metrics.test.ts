// The daemon's metrics (src/metrics/broker-metrics.ts) fed by hand: mailbox
// states, token and credential expiry computed at scrape time from statuses
// against a manual clock, the warnings at 14/7/1 days, perMailbox: false,
// the call and token-request counters, the store, one registry per daemon.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { MailboxStatus } from '../../src/broker/index.js';
import type { CredentialDeath } from '../../src/forecast/credential-death.js';
import { BrokerMetrics, exposureWarning } from '../../src/metrics/index.js';
import type { MetricsSources } from '../../src/metrics/index.js';
import { ManualClock } from '../../src/time/index.js';
import { parseExposition, sampleValue } from '../support/metrics-scrape.js';
import type { Sample } from '../support/metrics-scrape.js';

const DAY = 86_400_000;
const clock = new ManualClock(Date.UTC(2027, 2, 1));
const now = clock.now();

function status(mailbox: string, state: MailboxStatus['state'], extra: Partial<MailboxStatus> = {}): MailboxStatus {
  return { mailbox, protocol: 'imap', grantType: 'authorization-code', authorizationServer: 'microsoft', state, ...extra };
}

function death(credential: CredentialDeath['credential'], basis: CredentialDeath['basis'], inDays: number): CredentialDeath {
  return { credential, basis, at: now + inDays * DAY, reason: `${credential} dies (${basis})` };
}

const STATUSES: readonly MailboxStatus[] = [
  status('sales', 'READY', { tokenExpiresAt: now + 3_000_000, credentialDeaths: [death('refresh_token', 'entra_inactivity', 5), death('client_secret', 'secret_end_date', 30)] }),
  status('support', 'READY', { tokenExpiresAt: now - 60_000, credentialDeaths: [death('refresh_token', 'google_testing_app', 0.5)] }),
  status('robot', 'FAILING'),
  status('new-hire', 'NEEDS_AUTHORIZATION'),
  status('archive', 'IDLE'),
];

function sources(overrides: Partial<MetricsSources> = {}): MetricsSources {
  return {
    statuses: () => STATUSES,
    watchStreams: () => 3,
    store: () => ({ available: false, probeFailures: 4 }),
    serverCertificateDeaths: () => [death('server_tls_certificate', 'certificate_not_after', 10)],
    ...overrides,
  };
}

async function scrape(metrics: BrokerMetrics): Promise<Sample[]> {
  return parseExposition(await metrics.metrics());
}

describe('broker metrics', () => {
  test('mailboxes by state, every state present (0 where none)', async () => {
    const samples = await scrape(new BrokerMetrics({ perMailbox: true, clock, sources: sources() }));
    const states = Object.fromEntries(['IDLE', 'READY', 'ACQUIRING', 'NEEDS_AUTHORIZATION', 'FAILING'].map((state) => [state, sampleValue(samples, 'token_broker_mailboxes', { state })]));
    assert.deepEqual(states, { IDLE: 1, READY: 2, ACQUIRING: 0, NEEDS_AUTHORIZATION: 1, FAILING: 1 });
  });

  test('seconds until each token expires, against the clock; no series for a mailbox without a token', async () => {
    const samples = await scrape(new BrokerMetrics({ perMailbox: true, clock, sources: sources() }));
    assert.equal(sampleValue(samples, 'token_broker_token_expiry_seconds', { mailbox: 'sales' }), 3000);
    assert.equal(sampleValue(samples, 'token_broker_token_expiry_seconds', { mailbox: 'support' }), -60);
    assert.equal(sampleValue(samples, 'token_broker_token_expiry_seconds', { mailbox: 'robot' }), undefined);
  });

  test('days until each credential dies, by mailbox, credential and basis; the server certificate under mailbox ""', async () => {
    const samples = await scrape(new BrokerMetrics({ perMailbox: true, clock, sources: sources() }));
    const days = samples.filter((sample) => sample.name === 'token_broker_credential_expiry_days').map(({ labels, value }) => [labels.mailbox, labels.credential, labels.basis, value]);
    assert.deepEqual(
      days.sort((a, b) => String(a[0]).localeCompare(String(b[0])) || String(a[1]).localeCompare(String(b[1]))),
      [
        ['', 'server_tls_certificate', 'certificate_not_after', 10],
        ['sales', 'client_secret', 'secret_end_date', 30],
        ['sales', 'refresh_token', 'entra_inactivity', 5],
        ['support', 'refresh_token', 'google_testing_app', 0.5],
      ],
    );
  });

  test('warnings count the credentials dying within 14, 7 and 1 days, the server certificate included; they follow the clock', async () => {
    const movingClock = new ManualClock(now);
    const metrics = new BrokerMetrics({ perMailbox: true, clock: movingClock, sources: sources() });
    const warnings = async (): Promise<(number | undefined)[]> => {
      const samples = await scrape(metrics);
      return ['14', '7', '1'].map((days) => sampleValue(samples, 'token_broker_credential_warnings', { days }));
    };
    // Deaths in 0.5, 5, 10 and 30 days.
    assert.deepEqual(await warnings(), [3, 2, 1]);
    movingClock.advance(4.5 * DAY);
    assert.deepEqual(await warnings(), [3, 3, 2]);
    movingClock.advance(20 * DAY);
    assert.deepEqual(await warnings(), [4, 4, 3], 'a death already past still counts: it needs action too');
  });

  test('perMailbox false: no series with a mailbox label at all; the warnings still count every death', async () => {
    const text = await new BrokerMetrics({ perMailbox: false, clock, sources: sources() }).metrics();
    const samples = parseExposition(text);
    assert.deepEqual(samples.filter((sample) => 'mailbox' in sample.labels), []);
    assert.doesNotMatch(text, /token_broker_token_expiry_seconds|token_broker_credential_expiry_days/);
    assert.equal(sampleValue(samples, 'token_broker_credential_warnings', { days: '14' }), 3);
    assert.equal(sampleValue(samples, 'token_broker_mailboxes', { state: 'READY' }), 2);
  });

  test('gRPC calls by method, status and client; token requests by server, grant and outcome with their latency', async () => {
    const metrics = new BrokerMetrics({ perMailbox: true, clock, sources: sources() });
    for (let call = 0; call < 3; call++) metrics.onCall('GetToken', 'ok', 'imap-connector');
    metrics.onCall('GetToken', 'unknown_mailbox', 'imap-connector');
    metrics.onCall('WatchToken', 'PERMISSION_DENIED', 'anonymous');
    metrics.onTokenRequest({ server: 'microsoft', grant: 'client-credentials' })('ok');
    metrics.onTokenRequest({ server: 'microsoft', grant: 'client-credentials' })('invalid_client');
    metrics.onTokenRequest({ server: 'google', grant: 'authorization-code' })('ok');
    const samples = await scrape(metrics);
    assert.equal(sampleValue(samples, 'token_broker_grpc_calls_total', { method: 'GetToken', status: 'ok', client: 'imap-connector' }), 3);
    assert.equal(sampleValue(samples, 'token_broker_grpc_calls_total', { method: 'GetToken', status: 'unknown_mailbox', client: 'imap-connector' }), 1);
    assert.equal(sampleValue(samples, 'token_broker_grpc_calls_total', { method: 'WatchToken', status: 'PERMISSION_DENIED', client: 'anonymous' }), 1);
    assert.equal(sampleValue(samples, 'token_broker_token_requests_total', { server: 'microsoft', grant: 'client-credentials', outcome: 'ok' }), 1);
    assert.equal(sampleValue(samples, 'token_broker_token_requests_total', { server: 'microsoft', grant: 'client-credentials', outcome: 'invalid_client' }), 1);
    assert.equal(sampleValue(samples, 'token_broker_token_acquisition_seconds_count', { server: 'microsoft', grant: 'client-credentials' }), 2);
    assert.equal(sampleValue(samples, 'token_broker_token_acquisition_seconds_count', { server: 'google', grant: 'authorization-code' }), 1);
    // A second scrape reports the same totals: counting at scrape time does not add twice.
    assert.equal(sampleValue(await scrape(metrics), 'token_broker_grpc_calls_total', { method: 'GetToken', status: 'ok', client: 'imap-connector' }), 3);
  });

  test('watch streams, store health and probe failures as their sources say; process metrics', async () => {
    let store = { available: false, probeFailures: 4 };
    const metrics = new BrokerMetrics({ perMailbox: true, clock, sources: sources({ store: () => store }) });
    let samples = await scrape(metrics);
    assert.equal(sampleValue(samples, 'token_broker_watch_streams'), 3);
    assert.equal(sampleValue(samples, 'token_broker_store_up'), 0);
    assert.equal(sampleValue(samples, 'token_broker_store_probe_failures_total'), 4);
    assert.ok((sampleValue(samples, 'process_cpu_user_seconds_total') ?? -1) >= 0, 'prom-client process metrics');
    store = { available: true, probeFailures: 4 };
    samples = await scrape(metrics);
    assert.equal(sampleValue(samples, 'token_broker_store_up'), 1);
  });

  test('one registry per daemon: two in one process neither clash nor share counts', async () => {
    const first = new BrokerMetrics({ perMailbox: true, clock, sources: sources() });
    const second = new BrokerMetrics({ perMailbox: true, clock, sources: sources() });
    first.onCall('GetToken', 'ok', 'anonymous');
    assert.equal(sampleValue(await scrape(first), 'token_broker_grpc_calls_total', { method: 'GetToken' }), 1);
    assert.equal(sampleValue(await scrape(second), 'token_broker_grpc_calls_total', { method: 'GetToken' }), undefined);
  });

  test('the statuses are read once per scrape, whatever the number of collectors', async () => {
    let reads = 0;
    const metrics = new BrokerMetrics({ perMailbox: true, clock, sources: sources({ statuses: () => (reads++, STATUSES) }) });
    await metrics.metrics();
    assert.equal(reads, 1);
  });
});

describe('metrics listener exposure', () => {
  test('one warning for a TCP host other hosts may reach, naming the mailboxes only when per-mailbox series are on', () => {
    const tcp = (host: string, url: string) => ({ kind: 'tcp', host, port: 9464, url }) as const;
    assert.equal(exposureWarning(tcp('127.0.0.1', '127.0.0.1:9464'), true), undefined);
    assert.equal(exposureWarning(tcp('::1', '[::1]:9464'), true), undefined);
    assert.equal(exposureWarning(tcp('localhost', 'localhost:9464'), true), undefined);
    assert.equal(exposureWarning({ kind: 'unix', path: '/run/token-broker/metrics.sock', url: 'unix:///run/token-broker/metrics.sock' }, true), undefined);
    assert.equal(
      exposureWarning(tcp('0.0.0.0', '0.0.0.0:9464'), true),
      'metrics.listen 0.0.0.0:9464 is not a loopback address: /metrics has no authentication and its per-mailbox series name every mailbox; let only Prometheus reach it (firewall), or listen on 127.0.0.1 or a unix socket.',
    );
    assert.equal(
      exposureWarning(tcp('10.1.2.3', 'tcp://10.1.2.3:9464'), false),
      'metrics.listen tcp://10.1.2.3:9464 is not a loopback address: /metrics has no authentication; let only Prometheus reach it (firewall), or listen on 127.0.0.1 or a unix socket.',
    );
  });
});
