// One row of issue 11's fleet table (warm restart); flags and defaults in bench/fleet/options.ts.
//   npm run build && node dist/bench/fleet-warm-restart.js [--mailboxes 500]
import { warmRestartRow } from './fleet/warm-restart.js';
import { runRows } from './fleet/report.js';

await runRows([{ name: 'warm restart', row: warmRestartRow }]);
