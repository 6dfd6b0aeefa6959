// A FIFO queue per lock name inside this process: the whole lock for sqlite
// and memory stores (one broker per store), and the first stage for redis,
// so two callers in one process never both poll redis for the same lock.
import type { HeldLock, Locks } from './coordination.js';

export class InProcessLocks implements Locks {
  /** Per name: settles when the last caller queued so far has released. Removed when nobody is queued. */
  readonly #tails = new Map<string, Promise<void>>();

  /** Waits for as long as earlier callers hold it. */
  async acquire(name: string): Promise<HeldLock> {
    const { turn, held } = this.#enqueue(name);
    await turn;
    return held;
  }

  /** As acquire(), but undefined when its turn has not come within `waitMs` (it then leaves the queue without holding up those behind it). */
  async tryAcquire(name: string, waitMs: number): Promise<HeldLock | undefined> {
    const { turn, held } = this.#enqueue(name);
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), waitMs)));
    const granted = await Promise.race([turn.then(() => true), expired]);
    clearTimeout(timer);
    if (granted) return held;
    await held.release();
    return undefined;
  }

  #enqueue(name: string): { turn: Promise<void>; held: HeldLock } {
    const turn = this.#tails.get(name) ?? Promise.resolve();
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    // Whoever comes next waits for this caller's turn and then its release:
    // a caller that gave up early releases at once but still keeps its place behind the holder.
    const tail = turn.then(() => released);
    this.#tails.set(name, tail);
    // Forgotten only once everyone queued so far is done, and nobody has queued since.
    void tail.then(() => {
      if (this.#tails.get(name) === tail) this.#tails.delete(name);
    });
    const held: HeldLock = {
      release: () => {
        release();
        return Promise.resolve();
      },
    };
    return { turn, held };
  }
}
