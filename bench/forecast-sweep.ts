// Benchmark: what the engine's forecast costs a large fleet. The sweep runs
// every sweepIntervalSeconds (10 s) and, once an hour, looks at every
// mailbox's token-death forecast (warnOfCredentialDeaths); `status` and the
// metrics read every mailbox's status, forecast included. Measured here on
// the engine alone (a manual clock, grants answered in memory), with every
// mailbox READY and a client secret end date each (a tenth within 14 days,
// so the first look logs warnings). Prints figures; not a test.
//
//   npm run build && node dist/bench/forecast-sweep.js [mailboxes]
import { performance } from 'node:perf_hooks';
import { TokenBroker } from '../src/broker/index.js';
import { Secret } from '../src/config/index.js';
import { HttpTransport } from '../src/http/index.js';
import { silentLogger } from '../src/logging/index.js';
import { ManualClock } from '../src/time/index.js';
import { memoryStore, testMailbox } from '../test/support/mailbox.js';
import { ScriptedGrant } from '../test/support/scripted-grant.js';

const mailboxCount = Number(process.argv[2] ?? 10_000);
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const clock = new ManualClock(Date.UTC(2026, 11, 1));
const logger = silentLogger();
const grants: ScriptedGrant[] = [];
// One application per mailbox: each is a token line of its own, the costliest case (shared lines are looked at once).
const mailboxes = Array.from({ length: mailboxCount }, (_, index) =>
  testMailbox({
    name: `mailbox-${index}`,
    clientId: `00000000-0000-0000-0000-${String(index).padStart(12, '0')}`,
    clientSecret: new Secret(`secret-${index}`, `mailboxes.mailbox-${index}.clientSecret`),
    clientSecretExpiresAt: clock.now() + (index % 10 === 0 ? 10 : 200) * DAY_MS,
    username: `mailbox-${index}@contoso.example`,
  }),
);
const broker = new TokenBroker({
  mailboxes,
  refresh: { leadTimeSeconds: 300, maxConcurrentPerServer: mailboxCount, sweepIntervalSeconds: 10, idleAfterHours: 1, keepAliveDays: 7 },
  clock,
  logger,
  dependencies: { transport: new HttpTransport(), clock, logger },
  store: await memoryStore(),
  grantFactory: () => {
    const grant = new ScriptedGrant();
    grants.push(grant);
    return grant;
  },
});
await broker.restore();

function timed(label: string, runs: number, work: () => unknown): void {
  const times: number[] = [];
  let result: unknown;
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    result = work();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)] ?? Number.NaN;
  console.log(`${label.padEnd(66)} best ${(times[0] ?? Number.NaN).toFixed(1)} ms, median ${median.toFixed(1)} ms${typeof result === 'number' ? ` (returned ${result})` : ''}`);
}

// Every mailbox READY: the first sweep asks each grant once (and takes the first forecast look), answered here.
timed('the first sweep: every acquisition started, the first forecast look', 1, () => broker.sweep());
for (const grant of grants) while (grant.pending > 0) grant.succeed('token', clock.now() + HOUR_MS);
for (let round = 0; round < 10; round++) await new Promise((resolve) => setImmediate(resolve));
const ready = broker.statuses().filter((status) => status.state === 'READY').length;
console.log(`${mailboxCount} mailboxes, ${ready} READY`);

timed('an hourly forecast look (the warnings said already)', 7, () => broker.warnOfCredentialDeaths());
// A sweep at a moment nothing is due, and not the hourly look: what runs every 10 s.
timed('a sweep with nothing due (every sweepIntervalSeconds)', 7, () => {
  clock.advance(1_000);
  return broker.sweep();
});
timed('statuses() of every mailbox, forecast included', 7, () => broker.statuses().length);
// Four days on, the secrets ending in 10 days cross the 7-day threshold: the look that logs (to a silent logger here).
clock.advance(4 * DAY_MS);
timed('the hourly look when a tenth of the fleet crosses 7 days', 1, () => broker.warnOfCredentialDeaths());
