// At most N token requests in flight per authorization server
// (refresh.maxConcurrentPerServer): thousands of mailboxes coming due at once
// queue here instead of hammering the server. Written here rather than taken
// from a library: a counter and a FIFO queue, with nothing to configure.

export class ConcurrencyLimit {
  #limit: number;
  #active = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`concurrency limit must be a positive integer, got ${String(limit)}`);
    this.#limit = limit;
  }

  /** A reload changed refresh.maxConcurrentPerServer: a higher limit lets queued tasks start at once. */
  resize(limit: number): void {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`concurrency limit must be a positive integer, got ${String(limit)}`);
    this.#limit = limit;
    while (this.#active < this.#limit) {
      const next = this.#waiting.shift();
      if (next === undefined) break;
      this.#active++;
      next();
    }
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
      // The place passes straight to the next in line, so `active` never dips and rises again;
      // unless the limit was lowered meanwhile: then the place goes away.
      const next = this.#active > this.#limit ? undefined : this.#waiting.shift();
      if (next === undefined) this.#active--;
      else next();
    }
  }
}
