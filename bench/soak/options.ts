// The knobs of the soak: flags (`--minutes 2`) win over environment variables
// (`SOAK_MINUTES=2`), which win over the defaults of issue 12's soak (10 minutes).
import { parseArgs } from 'node:util';

export interface SoakOptions {
  /** How long load, churn, reloads and faults run. */
  readonly minutes: number;
  /** Mailboxes in the config: half client credentials over `applications` apps, half ROPC users. */
  readonly mailboxes: number;
  readonly applications: number;
  /** `expires_in` of issued tokens: short, so that every line refreshes many times. */
  readonly lifetimeSeconds: number;
  /** `refresh.leadTimeSeconds`: above GetToken's default min_validity (60 s), so calls are served from the cache. */
  readonly leadTimeSeconds: number;
  /** Steady GetToken calls per second from the long-lived client. */
  readonly callsPerSecond: number;
  /** A new short-lived client every this many ms. */
  readonly churnIntervalMs: number;
  /** A reload (alternately SIGHUP and the Reload RPC) every this many seconds. */
  readonly reloadIntervalSeconds: number;
  /** A fault window starts every `faultIntervalSeconds` and lasts `faultSeconds`. */
  readonly faultIntervalSeconds: number;
  readonly faultSeconds: number;
}

const FLAGS = {
  minutes: 10,
  mailboxes: 100,
  applications: 5,
  'lifetime-s': 180,
  'lead-s': 90,
  rate: 20,
  'churn-ms': 500,
  'reload-s': 45,
  'fault-every-s': 60,
  'fault-s': 20,
} as const;

type Flag = keyof typeof FLAGS;

export function parseSoakOptions(argv: readonly string[] = process.argv.slice(2)): SoakOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: Object.fromEntries(Object.keys(FLAGS).map((flag) => [flag, { type: 'string' as const }])),
    strict: true,
  });
  const read = (flag: Flag): number => {
    const text = values[flag] ?? process.env[`SOAK_${flag.replace(/-/g, '_').toUpperCase()}`];
    if (text === undefined || text === '') return FLAGS[flag];
    const value = Number(text);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`--${flag} must be a number > 0, got "${String(text)}"`);
    return value;
  };
  const options: SoakOptions = {
    minutes: read('minutes'),
    mailboxes: Math.max(2, Math.round(read('mailboxes'))),
    applications: Math.max(1, Math.round(read('applications'))),
    lifetimeSeconds: read('lifetime-s'),
    leadTimeSeconds: read('lead-s'),
    callsPerSecond: read('rate'),
    churnIntervalMs: read('churn-ms'),
    reloadIntervalSeconds: read('reload-s'),
    faultIntervalSeconds: read('fault-every-s'),
    faultSeconds: read('fault-s'),
  };
  if (options.lifetimeSeconds - options.leadTimeSeconds <= 60) {
    throw new Error(`--lifetime-s minus --lead-s must exceed GetToken's default min_validity (60 s), got ${options.lifetimeSeconds} - ${options.leadTimeSeconds}`);
  }
  if (options.faultSeconds >= options.faultIntervalSeconds) throw new Error('--fault-s must be shorter than --fault-every-s: faults must also be switched off');
  return options;
}
