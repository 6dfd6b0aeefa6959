// Row "token-broker validate": the CLI run on the fleet's config, start to
// exit as an operator sees it (node start-up included); median of a few runs.
import { CLI_PATH, runCli } from '../../test/support/daemon-process.js';
import { startFleet } from './fleet.js';
import type { Row } from './report.js';
import { seconds } from './report.js';

export const validateRow: Row = async (options) => {
  const fleet = await startFleet(options);
  try {
    const times: number[] = [];
    for (let run = 0; run < options.runs; run++) {
      const started = performance.now();
      const result = await runCli(['validate', '--config', fleet.configFile], {}, 60_000);
      times.push(performance.now() - started);
      if (result.code !== 0) throw new Error(`${CLI_PATH} validate exited ${String(result.code)}: ${result.stderr.slice(0, 2_000)}`);
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)] ?? NaN;
    return [
      {
        figure: `token-broker validate (median of ${times.length})`,
        value: `${seconds(median)} (${times.map((time) => (time / 1000).toFixed(2)).join(', ')})`,
        target: '< 1.5 s',
        pass: median < 1_500,
      },
    ];
  } finally {
    await fleet.close();
  }
};
