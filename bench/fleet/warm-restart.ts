// Row "warm restart": with every token in the SQLite store, spawn to SERVING;
// the restarted daemon must serve the stored tokens and ask the server for none.
import { coldStart, quietFor, spawnDaemon, waitAllReady } from './daemon.js';
import type { FleetDaemon } from './daemon.js';
import { startFleet } from './fleet.js';
import type { Row } from './report.js';
import { seconds } from './report.js';

export const warmRestartRow: Row = async (options) => {
  const fleet = await startFleet(options);
  let daemon: FleetDaemon | undefined;
  try {
    const cold = await coldStart(fleet);
    daemon = cold.daemon;
    await daemon.stop();
    const requestsBefore = fleet.sandbox.stats.total;
    daemon = spawnDaemon(fleet);
    const servingMs = (await daemon.serving) - daemon.spawnedAt;
    // No token request is expected, so ListMailboxes is asked at once.
    const readyMs = (await waitAllReady(fleet, 120_000, 0)) - daemon.spawnedAt;
    await quietFor(fleet, 3_000);
    const requests = fleet.sandbox.stats.total - requestsBefore;
    return [
      { figure: 'cold start before the restart: spawn to all READY', value: seconds(cold.readyMs), target: '-', pass: undefined },
      { figure: 'warm restart: spawn to SERVING', value: seconds(servingMs), target: '< 2 s', pass: servingMs < 2_000 },
      { figure: 'warm restart: spawn to all READY', value: seconds(readyMs), target: '-', pass: undefined },
      { figure: 'token requests, warm restart', value: String(requests), target: '0 (stored tokens are valid)', pass: requests === 0 },
    ];
  } finally {
    await daemon?.stop();
    await fleet.close();
  }
};
