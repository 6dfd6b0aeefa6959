// Row "GetToken p99 during a refresh wave": tokens live `--lifetime-s`
// (default 300 s) with a lead time of `--lead-s` (default 120 s), so every
// token of the cold storm comes due together some minutes later. The lead
// must stay well above GetToken's default min_validity (60 s): otherwise
// calls wait for a new token instead of being served while the wave runs. A client
// calls GetToken at `--rate` calls/s (default 100) over random mailboxes from
// all READY until the wave is over; p99 before and during the wave, and the
// token requests of the wave (exactly one per line).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { coldStart, quietFor } from './daemon.js';
import type { FleetDaemon } from './daemon.js';
import { startFleet } from './fleet.js';
import { startGetTokenLoad } from './get-token-load.js';
import type { Sample } from './get-token-load.js';
import type { Row } from './report.js';
import { seconds } from './report.js';

function p99(samples: readonly Sample[]): number {
  const sorted = samples.map((sample) => sample.ms).sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(sorted.length * 0.99) - 1)] ?? NaN;
}

export const refreshWaveRow: Row = async (options) => {
  const lifetimeSeconds = options.lifetimeSeconds ?? 300;
  const leadTimeSeconds = options.leadTimeSeconds ?? 120;
  // A token is due at the earliest this long after it was issued (src/broker/refresh-timing.ts: lead window, plus up to 20 % jitter).
  const window = Math.min(leadTimeSeconds, lifetimeSeconds / 2);
  const reDueMs = (lifetimeSeconds - 1.2 * window) * 1000;
  const fleet = await startFleet({ ...options, leadTimeSeconds }, lifetimeSeconds);
  let daemon: FleetDaemon | undefined;
  try {
    const cold = await coldStart(fleet);
    daemon = cold.daemon;
    const readyAt = daemon.spawnedAt + cold.readyMs;
    const coldAnswers = fleet.answers.length;
    const coldRequests = fleet.sandbox.stats.total;
    // The sandbox's thread: its event-loop delay is printed beside, though the client no longer runs on it.
    const ownDelay = monitorEventLoopDelay({ resolution: 1 });
    ownDelay.enable();
    const load = startGetTokenLoad({ address: fleet.address, mailboxes: fleet.mailboxes, callsPerSecond: options.callsPerSecond });
    let samples: Sample[] = [];
    let clientDelay = { p99: NaN, max: NaN };
    try {
      // The wave is over once every line has been answered once more; bounded by the tokens' life.
      const deadline = daemon.spawnedAt + (lifetimeSeconds + 120) * 1000;
      const linesOf = (): number => new Set(fleet.answers.slice(coldAnswers).map((answer) => answer.line)).size;
      while (linesOf() < fleet.lines && performance.now() < deadline) await sleep(250);
      // A second request for a line would come now, if at all.
      await quietFor(fleet, 5_000);
    } finally {
      const report = await load.stop();
      samples = report.samples;
      clientDelay = { p99: report.ownDelayP99Ms, max: report.ownDelayMaxMs };
      ownDelay.disable();
    }
    // Per line: its first answer in the wave is the refresh; another one before that new token could be due is a duplicate.
    // (On a slow machine a wave longer than reDueMs legitimately sees early lines come due again: the next cycle.)
    const lastAnswer = new Map<string, number>();
    let duplicates = 0;
    let nextCycle = 0;
    let waveEnd = -Infinity;
    for (const answer of fleet.answers.slice(coldAnswers)) {
      const previous = lastAnswer.get(answer.line);
      if (previous === undefined) waveEnd = answer.at;
      else if (answer.at - previous < reDueMs) duplicates++;
      else nextCycle++;
      lastAnswer.set(answer.line, answer.at);
    }
    const waveStart = fleet.answers[coldAnswers]?.at ?? Infinity;
    const failedRequests = fleet.sandbox.stats.total - coldRequests - (fleet.answers.length - coldAnswers);
    // The first seconds after READY are the end of the cold start (GC, stores), not the quiet state.
    const before = samples.filter((sample) => sample.sentAt >= readyAt + 5_000 && sample.sentAt < waveStart);
    const during = samples.filter((sample) => sample.sentAt >= waveStart && sample.sentAt <= waveEnd);
    if (before.length < 100) throw new Error(`only ${before.length} calls before the wave: the cold start (${seconds(cold.readyMs)}) ran into it; pass a longer --lifetime-s`);
    const failedCalls = during.filter((sample) => !sample.ok).length;
    const beforeP99 = p99(before);
    const duringP99 = p99(during);
    const exact = lastAnswer.size === fleet.lines && duplicates === 0 && failedRequests === 0;
    return [
      { figure: 'cold start before the wave: spawn to all READY', value: seconds(cold.readyMs), target: '-', pass: undefined },
      { figure: 'GetToken p99 before the wave', value: `${beforeP99.toFixed(1)} ms (${before.length} calls)`, target: '-', pass: undefined },
      {
        figure: 'GetToken p99 during the refresh wave',
        value: `${duringP99.toFixed(1)} ms (${during.length} calls over ${seconds(waveEnd - waveStart)})`,
        target: `< 20 ms and < 2 x ${beforeP99.toFixed(1)} ms`,
        pass: duringP99 < 20 && duringP99 < 2 * beforeP99,
      },
      {
        figure: "the benchmark's own event-loop delay (1 ms resolution)",
        value: `client thread p99 ${clientDelay.p99.toFixed(1)} ms, max ${clientDelay.max.toFixed(1)} ms; sandbox thread p99 ${(ownDelay.percentile(99) / 1e6).toFixed(1)} ms, max ${(ownDelay.max / 1e6).toFixed(1)} ms`,
        target: '-',
        pass: undefined,
      },
      { figure: 'GetToken calls failed during the wave', value: String(failedCalls), target: '0', pass: failedCalls === 0 },
      {
        figure: 'token requests, refresh wave',
        value: `${lastAnswer.size} of ${fleet.lines} lines refreshed, ${duplicates} duplicates, ${failedRequests} failed` + (nextCycle > 0 ? ` (+${nextCycle} lines due again: the wave outlasted a token's refresh period)` : ''),
        target: 'one per line',
        pass: exact,
      },
    ];
  } finally {
    await daemon?.stop();
    await fleet.close();
  }
};
