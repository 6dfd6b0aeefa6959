// Benchmark: what one /metrics scrape costs for a large fleet, with and
// without the per-mailbox series (metrics.perMailbox), and what counting one
// gRPC call costs on the GetToken path (a figure that, unlike a throughput
// ratio, holds on a busy machine). The registry is fed statuses built here
// (READY mailboxes with a token and two forecast deaths each), so it
// measures the metrics alone. Prints figures; not a test.
//
//   npm run build && node dist/bench/metrics-scrape.js [mailboxes]
import { performance } from 'node:perf_hooks';
import { Counter, Registry } from 'prom-client';
import type { MailboxStatus } from '../src/broker/index.js';
import { BrokerMetrics } from '../src/metrics/index.js';
import { systemClock } from '../src/time/index.js';

const mailboxes = Number(process.argv[2] ?? 10_000);
const DAY_MS = 86_400_000;
const now = Date.now();
const statuses: MailboxStatus[] = Array.from({ length: mailboxes }, (_, index) => ({
  mailbox: `mailbox-${index}`,
  protocol: 'imap',
  grantType: 'authorization-code',
  authorizationServer: 'microsoft',
  state: 'READY',
  tokenExpiresAt: now + 3_600_000,
  credentialDeaths: [
    { credential: 'refresh_token', basis: 'entra_inactivity', at: now + (index % 90) * DAY_MS, reason: 'bench' },
    { credential: 'client_secret', basis: 'secret_end_date', at: now + 400 * DAY_MS, reason: 'bench' },
  ],
}));

for (const perMailbox of [true, false]) {
  const metrics = new BrokerMetrics({
    perMailbox,
    clock: systemClock,
    sources: { statuses: () => statuses, watchStreams: () => 0, store: () => ({ available: true, probeFailures: 0 }) },
  });
  await metrics.metrics(); // warm
  const times: number[] = [];
  let bytes = 0;
  for (let run = 0; run < 5; run++) {
    const started = performance.now();
    bytes = Buffer.byteLength(await metrics.metrics());
    times.push(performance.now() - started);
  }
  console.log(`${mailboxes} mailboxes, perMailbox ${String(perMailbox).padEnd(5)}: scrape best ${Math.min(...times).toFixed(1)} ms, median ${times.sort((a, b) => a - b)[2]?.toFixed(1)} ms, ${(bytes / 1024).toFixed(0)} KiB`);
}

{
  const metrics = new BrokerMetrics({
    perMailbox: true,
    clock: systemClock,
    sources: { statuses: () => [], watchStreams: () => 0, store: () => ({ available: true, probeFailures: 0 }) },
  });
  const calls = 5_000_000;
  let best = Infinity;
  for (let run = 0; run < 5; run++) {
    const started = performance.now();
    for (let call = 0; call < calls; call++) metrics.onCall('GetToken', 'ok', 'anonymous');
    best = Math.min(best, performance.now() - started);
  }
  console.log(`one GetToken counted (CallObserver): ${((best * 1e6) / calls).toFixed(1)} ns (best of 5 x ${calls.toLocaleString('en')} calls)`);
  // For comparison: prom-client's own labelled counter, which hashes the label set into a string on every inc.
  const counter = new Counter({ name: 'bench_calls_total', help: 'bench', labelNames: ['method', 'status', 'client'], registers: [new Registry()] });
  best = Infinity;
  for (let run = 0; run < 5; run++) {
    const started = performance.now();
    for (let call = 0; call < calls; call++) counter.inc({ method: 'GetToken', status: 'ok', client: 'anonymous' });
    best = Math.min(best, performance.now() - started);
  }
  console.log(`the same with prom-client Counter.inc(labels): ${((best * 1e6) / calls).toFixed(1)} ns`);
}
