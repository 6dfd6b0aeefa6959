// At most N token requests in flight per authorization server
// (refresh.maxConcurrentPerServer): thousands of mailboxes coming due at once
// queue here instead of hammering the server. Written here rather than taken
// from a library: a counter and a FIFO queue, with nothing to configure.

export class ConcurrencyLimit {
  readonly #limit: number;
  #active = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`concurrency limit must be a positive integer, got ${String(limit)}`);
    this.#limit = limit;
  }

  get active(): number {
    return this.#active;
  }

  get queued(): number {
    return this.#waiting.length;
  }

  /** Runs `task` once a place is free; places are handed out in arrival order. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#active >= this.#limit) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#active++;
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      // The place passes straight to the next in line, so `active` never dips and rises again.
      if (next === undefined) this.#active--;
      else next();
    }
  }
}
