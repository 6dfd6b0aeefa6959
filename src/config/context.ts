// What every part of one load shares: where problems go, the environment for
// `${...}`, the folder relative paths start from, and the clock.
import type { ProblemSink } from './problems.js';

export interface LoadContext {
  readonly sink: ProblemSink;
  readonly env: NodeJS.ProcessEnv;
  /** Folder of the config file: relative paths in it are resolved from here. */
  readonly baseDir: string;
  /** Milliseconds since the epoch; injected so certificate-expiry tests are deterministic. */
  readonly now: () => number;
}
