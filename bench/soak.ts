// The soak (issue 12): the daemon for 10 minutes under load, client churn, reloads and faults; flags in bench/soak/options.ts.
//   npm run build && node dist/bench/soak.js [--minutes 2]
import './soak/soak.js';
