// Faults of the authorization server, switched on for a window and off
// again, one kind after another: 500s, Entra's throttling (429 with
// Retry-After), answers lost after the tokens were minted (the connection is
// dropped), and answers held for 20 s. The sandbox's hook is wrapped, so the
// soak's own bookkeeping of answers keeps running under every fault.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Sandbox, TokenResponseInfo } from '../../src/sandbox/index.js';

export type FaultKind = 'server-errors' | 'throttling' | 'lost-answers' | 'slow-answers';

export const FAULT_KINDS: readonly FaultKind[] = ['server-errors', 'throttling', 'lost-answers', 'slow-answers'];

/** How many token requests a queued fault (500s, 429s) fails at most: about what a window of 20 s sees. */
const QUEUED_FAILURES = 30;
const SLOW_ANSWER_MS = 20_000;

export class FaultSwitch {
  readonly #sandbox: Sandbox;
  #active: FaultKind | undefined;
  /** Windows switched on so far, per kind. */
  readonly windows = new Map<FaultKind, number>();

  constructor(sandbox: Sandbox, onAnswer: (info: TokenResponseInfo) => void) {
    this.#sandbox = sandbox;
    sandbox.hooks.beforeTokenResponse = async (info) => {
      onAnswer(info);
      if (this.#active === 'lost-answers') throw new Error('soak: answer lost');
      if (this.#active === 'slow-answers') await sleep(SLOW_ANSWER_MS);
    };
  }

  get active(): FaultKind | undefined {
    return this.#active;
  }

  on(kind: FaultKind): void {
    this.#active = kind;
    this.windows.set(kind, (this.windows.get(kind) ?? 0) + 1);
    // Queued faults end when consumed; they are sized to a window, and the broker's backoff consumes them slowly.
    if (kind === 'server-errors') this.#sandbox.failNext({ status: 500, error: 'server_error', aadsts: 50000, description: 'soak: the service is failing', count: QUEUED_FAILURES });
    if (kind === 'throttling') this.#sandbox.throttleNext({ status: 429, retryAfter: 5, count: QUEUED_FAILURES });
  }

  off(): void {
    this.#active = undefined;
  }
}
