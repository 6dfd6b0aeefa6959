// The resource servers' record of every decision, so tests can assert why a
// mail server (through introspection) or Graph refused a token. Tokens are
// never kept: only who, which mailbox, and why.
import type { ResourceDecision } from './types.js';

export class ResourceDecisionLog {
  readonly #decisions: ResourceDecision[] = [];

  record(decision: ResourceDecision): void {
    this.#decisions.push(Object.freeze({ ...decision }));
  }

  /** A copy: a test holding it does not see later decisions appear. */
  all(): readonly ResourceDecision[] {
    return Object.freeze([...this.#decisions]);
  }
}
