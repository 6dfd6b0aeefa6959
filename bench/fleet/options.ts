// The knobs of the fleet benchmarks: flags (`--mailboxes 500`) win over
// environment variables (`FLEET_MAILBOXES=500`), which win over the defaults
// of issue 11's 10,000-mailbox table.
import { parseArgs } from 'node:util';

export interface FleetOptions {
  /** Mailboxes in the config: 70 % client credentials, 30 % ROPC users. */
  readonly mailboxes: number;
  /** Client-credentials applications the cc mailboxes are spread over; default 200 per 10,000 mailboxes. */
  readonly applications: number;
  /** How long the sandbox holds each token answer: an Entra-like round trip. */
  readonly delayMs: number;
  /** `expires_in` of issued tokens; undefined: each row's own default. */
  readonly lifetimeSeconds: number | undefined;
  /** `refresh.leadTimeSeconds` written in the config; undefined: the broker's default. */
  readonly leadTimeSeconds: number | undefined;
  readonly maxConcurrentPerServer: number;
  /** Memory row: how long the daemon settles after all READY before RSS is read. */
  readonly settleSeconds: number;
  /** Refresh-wave row: GetToken calls per second from the client. */
  readonly callsPerSecond: number;
  /** Validate row: how many timed runs (the median is the figure). */
  readonly runs: number;
  /** Longest wait for the cold start (all READY); the benchmark fails after it. */
  readonly coldTimeoutSeconds: number;
}

const FLAGS = {
  mailboxes: 10_000,
  applications: undefined,
  'delay-ms': 100,
  'lifetime-s': undefined,
  'lead-s': undefined,
  'max-concurrent': 16,
  'settle-s': 30,
  rate: 100,
  runs: 5,
  'cold-timeout-s': 300,
} as const;

type Flag = keyof typeof FLAGS;

export function parseFleetOptions(argv: readonly string[] = process.argv.slice(2)): FleetOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: Object.fromEntries(Object.keys(FLAGS).map((flag) => [flag, { type: 'string' as const }])),
    strict: true,
  });
  const read = (flag: Flag): number | undefined => {
    const text = values[flag] ?? process.env[`FLEET_${flag.replace(/-/g, '_').toUpperCase()}`];
    const fallback = FLAGS[flag];
    if (text === undefined || text === '') return fallback;
    const value = Number(text);
    if (!Number.isFinite(value) || value < 0) throw new Error(`--${flag} must be a number >= 0, got "${String(text)}"`);
    return value;
  };
  const mailboxes = read('mailboxes') ?? 10_000;
  return {
    mailboxes,
    // The ratio (200 applications for 10,000 mailboxes) keeps lines per application alike on small runs.
    applications: read('applications') ?? Math.max(1, Math.round((mailboxes * 200) / 10_000)),
    delayMs: read('delay-ms') ?? 100,
    lifetimeSeconds: read('lifetime-s'),
    leadTimeSeconds: read('lead-s'),
    maxConcurrentPerServer: read('max-concurrent') ?? 16,
    settleSeconds: read('settle-s') ?? 30,
    callsPerSecond: read('rate') ?? 100,
    runs: Math.max(1, read('runs') ?? 5),
    coldTimeoutSeconds: read('cold-timeout-s') ?? 300,
  };
}

export function describeOptions(options: FleetOptions): string {
  return `${options.mailboxes} mailboxes over ${options.applications} applications, answer delay ${options.delayMs} ms, maxConcurrentPerServer ${options.maxConcurrentPerServer}`;
}
