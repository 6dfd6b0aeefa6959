// One line per figure: what was measured, the target, PASS or MISS; and the
// runner every fleet script shares (hard timeout, cleanup on signals, the
// table at the end).
import os from 'node:os';
import { runEmergencyCleanups } from './fleet.js';
import type { FleetOptions } from './options.js';
import { describeOptions, parseFleetOptions } from './options.js';

export interface Figure {
  readonly figure: string;
  readonly value: string;
  readonly target: string;
  /** undefined: informational, no target. */
  readonly pass: boolean | undefined;
}

export type Row = (options: FleetOptions) => Promise<Figure[]>;

export function printFigure(figure: Figure): void {
  const verdict = figure.pass === undefined ? '' : figure.pass ? 'PASS' : 'MISS';
  console.log(`  ${figure.figure}: ${figure.value} (target ${figure.target}) ${verdict}`);
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

function loadAverage(): string {
  return os
    .loadavg()
    .map((load) => load.toFixed(2))
    .join(', ');
}

/**
 * Runs rows one after another, prints each figure as it comes and one table
 * at the end. A row that throws is reported and the next one still runs.
 * `hardTimeoutMs` ends the process (daemons killed, temp folders removed)
 * whatever hangs.
 */
export async function runRows(rows: readonly { name: string; row: Row }[], hardTimeoutMs = 30 * 60_000): Promise<void> {
  const options = parseFleetOptions();
  const abort = (code: number) => (): void => {
    runEmergencyCleanups();
    process.exit(code);
  };
  process.once('SIGINT', abort(130));
  process.once('SIGTERM', abort(143));
  const hardTimeout = setTimeout(() => {
    console.error(`fleet benchmark still running after ${hardTimeoutMs / 60_000} min: stopping`);
    abort(1)();
  }, hardTimeoutMs);
  hardTimeout.unref();

  console.log(`fleet: ${describeOptions(options)}; ${os.cpus().length} cores; load average ${loadAverage()}`);
  const table: Figure[] = [];
  let failed = false;
  for (const { name, row } of rows) {
    console.log(`\n== ${name}`);
    try {
      const figures = await row(options);
      figures.forEach(printFigure);
      table.push(...figures);
    } catch (error) {
      failed = true;
      console.error(`  ${name} failed: ${error instanceof Error ? error.message : String(error)}`);
      table.push({ figure: name, value: 'failed', target: '-', pass: false });
    }
    console.log(`  (load average ${loadAverage()})`);
  }
  clearTimeout(hardTimeout);
  if (rows.length > 1) {
    console.log('\n| figure | measured | target | |');
    console.log('|---|---|---|---|');
    for (const figure of table) console.log(`| ${figure.figure} | ${figure.value} | ${figure.target} | ${figure.pass === undefined ? '' : figure.pass ? 'PASS' : 'MISS'} |`);
  }
  console.log(`\nload average at the end: ${loadAverage()}`);
  if (failed) process.exitCode = 1;
}
