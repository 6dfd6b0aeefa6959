// What the Reload RPC needs from whoever owns the config (the daemon injects
// it): one function that re-reads the file and says what became of it.
import type { ReloadSummary } from '../broker/index.js';

export interface ReloadOutcome {
  readonly applied: boolean;
  /** One line per problem (`FILE:LINE:COLUMN: error: PATH: message`), or the engine's refusal; empty when applied. */
  readonly errors: readonly string[];
  /** What the engine changed, when applied. */
  readonly summary?: ReloadSummary;
  /** Changed keys that only a restart applies (server.listen, store, ...); the running values stay. */
  readonly restartRequired: readonly string[];
}

export type ReloadHandler = () => Promise<ReloadOutcome>;
