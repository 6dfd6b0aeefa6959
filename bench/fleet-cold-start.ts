// One row of issue 11's fleet table (cold start); flags and defaults in bench/fleet/options.ts.
//   npm run build && node dist/bench/fleet-cold-start.js [--mailboxes 500]
import { coldStartRow } from './fleet/cold-start.js';
import { runRows } from './fleet/report.js';

await runRows([{ name: 'cold start', row: coldStartRow }]);
