// One row of issue 11's fleet table (refresh wave); flags and defaults in bench/fleet/options.ts.
//   npm run build && node dist/bench/fleet-refresh-wave.js [--mailboxes 500]
import { refreshWaveRow } from './fleet/refresh-wave.js';
import { runRows } from './fleet/report.js';

await runRows([{ name: 'refresh wave', row: refreshWaveRow }]);
