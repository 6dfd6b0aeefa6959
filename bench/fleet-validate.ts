// One row of issue 11's fleet table (token-broker validate); flags and defaults in bench/fleet/options.ts.
//   npm run build && node dist/bench/fleet-validate.js [--mailboxes 500]
import { validateRow } from './fleet/validate.js';
import { runRows } from './fleet/report.js';

await runRows([{ name: 'token-broker validate', row: validateRow }]);
