// The GetToken load of the refresh-wave row, run in a worker thread: the
// sandbox shares the benchmark's main thread, and its work during the wave
// (token answers, JWT signing) would delay the client reading its answers,
// adding the benchmark's own stalls to the daemon's latency. In a thread of
// its own the client's loop only waits for the daemon (the two still share
// the machine's cores, as co-located connectors would).
import { Worker } from 'node:worker_threads';

export interface LoadRequest {
  readonly address: string;
  readonly mailboxes: readonly string[];
  readonly callsPerSecond: number;
}

export interface LoadSample {
  /** When the call was sent, in milliseconds since the epoch (fractional). */
  readonly sentAtEpochMs: number;
  readonly ms: number;
  readonly ok: boolean;
}

export interface LoadReport {
  readonly samples: readonly LoadSample[];
  /** The client thread's own event-loop delay: near zero unless the machine ran out of CPU. */
  readonly ownDelayP99Ms: number;
  readonly ownDelayMaxMs: number;
}

export interface Sample {
  /** performance.now() of this thread when the call was sent. */
  readonly sentAt: number;
  readonly ms: number;
  readonly ok: boolean;
}

export interface GetTokenLoad {
  /** Stops sending, waits for the calls in flight, and returns every sample. */
  stop(): Promise<{ samples: Sample[]; ownDelayP99Ms: number; ownDelayMaxMs: number }>;
}

export function startGetTokenLoad(request: LoadRequest): GetTokenLoad {
  const worker = new Worker(new URL('./get-token-load-worker.js', import.meta.url), { workerData: request });
  const report = new Promise<LoadReport>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the GetToken load thread exited (${code}) without a report`)));
  });
  report.catch(() => undefined); // awaited in stop(); an early failure must not be unhandled meanwhile
  return {
    async stop() {
      worker.postMessage('stop');
      const { samples, ownDelayP99Ms, ownDelayMaxMs } = await report;
      return {
        samples: samples.map((sample) => ({ sentAt: sample.sentAtEpochMs - performance.timeOrigin, ms: sample.ms, ok: sample.ok })),
        ownDelayP99Ms,
        ownDelayMaxMs,
      };
    },
  };
}
