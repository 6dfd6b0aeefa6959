// The GetToken client of the refresh-wave row, in a thread of its own (see
// get-token-load.ts): calls at a fixed rate until told to stop, then posts
// every sample and its own event-loop delay.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { TokenBrokerClient } from '../../src/client/index.js';
import type { LoadReport, LoadRequest, LoadSample } from './get-token-load.js';

const request = workerData as LoadRequest;
const client = new TokenBrokerClient({ address: request.address, deadlineMs: 10_000 });
const samples: LoadSample[] = [];
const inFlight = new Set<Promise<void>>();
const interval = 1000 / request.callsPerSecond;
const ownDelay = monitorEventLoopDelay({ resolution: 1 });
ownDelay.enable();
let running = true;
parentPort?.once('message', () => (running = false));

// Open loop: calls are sent on schedule whether or not earlier ones have answered (as independent connectors
// would), at most 1,000 in flight.
let next = performance.now();
while (running) {
  const wait = next - performance.now();
  if (wait > 0) await sleep(wait);
  next += interval;
  if (inFlight.size >= 1_000) continue;
  const mailbox = request.mailboxes[Math.floor(Math.random() * request.mailboxes.length)] ?? '';
  const sentAt = performance.now();
  const call: Promise<void> = client
    .getToken(mailbox)
    .then(
      () => true,
      () => false,
    )
    .then((ok) => {
      // Epoch milliseconds: this thread's performance.now() has another origin than the main thread's.
      samples.push({ sentAtEpochMs: performance.timeOrigin + sentAt, ms: performance.now() - sentAt, ok });
      inFlight.delete(call);
    });
  inFlight.add(call);
}
await Promise.all(inFlight);
client.close();
ownDelay.disable();
const report: LoadReport = { samples, ownDelayP99Ms: ownDelay.percentile(99) / 1e6, ownDelayMaxMs: ownDelay.max / 1e6 };
parentPort?.postMessage(report);
