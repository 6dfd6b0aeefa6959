// A client's call budget (server.clients[].callsPerSecond): a token bucket
// that refills at the rate and holds two seconds' worth, so a connector that
// wakes up and asks for its mailboxes at once is not refused, while one that
// calls in a loop is held to the rate. Pure arithmetic on an injected time:
// nothing on the GetToken path waits or does I/O.
export class CallBudget {
  readonly #perSecond: number;
  readonly #capacity: number;
  #available: number;
  #at: number | undefined;

  constructor(perSecond: number) {
    this.#perSecond = perSecond;
    this.#capacity = 2 * perSecond;
    this.#available = this.#capacity;
  }

  /** Takes one call at `now` (ms). Returns 0 when it may go ahead, else the ms until one is available. */
  take(now: number): number {
    if (this.#at !== undefined && now > this.#at) this.#available = Math.min(this.#capacity, this.#available + ((now - this.#at) * this.#perSecond) / 1000);
    this.#at = Math.max(now, this.#at ?? now);
    if (this.#available >= 1) {
      this.#available -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.#available) * 1000) / this.#perSecond);
  }
}
