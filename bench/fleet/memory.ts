// Row "resident memory": VmRSS of the daemon once the cold storm is over and
// it has settled, and VmHWM (the peak RSS since spawn), read from /proc.
// The live JS heap is not visible from outside without an inspector session,
// so it is not part of this row.
import { setTimeout as sleep } from 'node:timers/promises';
import { coldStart } from './daemon.js';
import type { FleetDaemon } from './daemon.js';
import { startFleet } from './fleet.js';
import type { Row } from './report.js';
import { seconds } from './report.js';

export const memoryRow: Row = async (options) => {
  const fleet = await startFleet(options);
  let daemon: FleetDaemon | undefined;
  try {
    const cold = await coldStart(fleet);
    daemon = cold.daemon;
    const atReady = daemon.memory();
    await sleep(options.settleSeconds * 1000);
    const settled = daemon.memory();
    const mb = (value: number): string => `${value.toFixed(0)} MB`;
    return [
      { figure: 'cold start before the reading: spawn to all READY', value: seconds(cold.readyMs), target: '-', pass: undefined },
      { figure: 'resident memory at all READY', value: mb(atReady.rssMb), target: '-', pass: undefined },
      { figure: `resident memory after settling ${options.settleSeconds} s`, value: mb(settled.rssMb), target: '< 250 MB', pass: settled.rssMb < 250 },
      { figure: 'peak resident memory (VmHWM)', value: mb(settled.peakMb), target: '< 300 MB', pass: settled.peakMb < 300 },
    ];
  } finally {
    await daemon?.stop();
    await fleet.close();
  }
};
