// Row "cold start": spawn to all READY on an empty store, and exactly one
// token request per token line (mailboxes of one cc application share one).
import { coldStart, quietFor } from './daemon.js';
import { startFleet } from './fleet.js';
import type { Row } from './report.js';
import { seconds } from './report.js';

export const coldStartRow: Row = async (options) => {
  const fleet = await startFleet(options);
  let stopDaemon = (): Promise<void> => Promise.resolve();
  try {
    const cold = await coldStart(fleet);
    stopDaemon = () => cold.daemon.stop();
    // A request made after READY (a retry, a duplicate) still counts against "exact".
    await quietFor(fleet, 3_000);
    const requests = fleet.sandbox.stats.total;
    return [
      { figure: 'cold start: spawn to SERVING', value: seconds(cold.servingMs), target: '-', pass: undefined },
      { figure: 'cold start: spawn to all READY', value: seconds(cold.readyMs), target: '< 25 s', pass: cold.readyMs < 25_000 },
      { figure: 'token requests, cold storm', value: `${requests} for ${fleet.lines} lines`, target: 'one per line', pass: requests === fleet.lines },
    ];
  } finally {
    await stopDaemon();
    await fleet.close();
  }
};
