// Every row of issue 11's 10,000-mailbox table, in the table's order, and
// one table at the end: npm run bench:fleet [-- --mailboxes 500].
import { cachedGetTokenRow } from './cached-get-token.js';
import { coldStartRow } from './cold-start.js';
import { memoryRow } from './memory.js';
import { refreshWaveRow } from './refresh-wave.js';
import { runRows } from './report.js';
import { validateRow } from './validate.js';
import { warmRestartRow } from './warm-restart.js';

await runRows(
  [
    { name: 'cached GetToken (npm run bench)', row: cachedGetTokenRow },
    { name: 'warm restart', row: warmRestartRow },
    { name: 'resident memory', row: memoryRow },
    { name: 'refresh wave', row: refreshWaveRow },
    { name: 'cold start', row: coldStartRow },
    { name: 'token-broker validate', row: validateRow },
  ],
  60 * 60_000,
);
