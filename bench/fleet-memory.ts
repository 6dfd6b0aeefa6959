// One row of issue 11's fleet table (resident memory); flags and defaults in bench/fleet/options.ts.
//   npm run build && node dist/bench/fleet-memory.js [--mailboxes 500]
import { memoryRow } from './fleet/memory.js';
import { runRows } from './fleet/report.js';

await runRows([{ name: 'resident memory', row: memoryRow }]);
