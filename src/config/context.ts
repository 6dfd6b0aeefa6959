// What every part of one load shares: where problems go, the environment for
// `${...}`, the folder relative paths start from, the clock, and what the
// permission checks (file-permissions.ts) need to know across sections.
import type { Position, ProblemSink } from './problems.js';

export interface LoadContext {
  readonly sink: ProblemSink;
  readonly env: NodeJS.ProcessEnv;
  /** Folder of the config file: relative paths in it are resolved from here. */
  readonly baseDir: string;
  /** Milliseconds since the epoch; injected so certificate-expiry tests are deterministic. */
  readonly now: () => number;
  /** `--strict`: a secret file others may read (or a world-readable config file holding secrets) is an error, not a warning. */
  readonly strict: boolean;
  /** Secret files already reported as readable by others: a file named by 10,000 mailboxes is reported once. */
  readonly filesReported: Set<string>;
  /** Secrets written in the config file itself (not `${NAME}`, not a file), in file order. */
  readonly inlineSecrets: { readonly path: string; readonly at: Position }[];
}
