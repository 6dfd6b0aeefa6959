// Timers are injected like the clock: the refresh sweep and the config
// watch's debounce ask a Scheduler, so tests fire them by hand instead of
// sleeping for the real timer, and what runs when stays observable.
import cron from 'node-cron';

/** A repeating or one-shot timer; stop() ends it (a repeating one: after the tick in progress). */
export interface ScheduledTimer {
  stop(): Promise<void> | void;
}

export interface Scheduler {
  /** Calls `tick` every `seconds` (aligned to the clock's seconds); a slow tick is not started again before it ends. */
  every(seconds: number, tick: () => void): ScheduledTimer;
  /** Calls `fire` once after `ms`; the timer alone never keeps the process alive. */
  after(ms: number, fire: () => void): ScheduledTimer;
}

/** Real time: node-cron for repeating work (its noOverlap keeps ticks apart), setTimeout for one-shot timers. */
export const systemScheduler: Scheduler = {
  every(seconds, tick) {
    const task = cron.schedule(`*/${seconds} * * * * *`, tick, { noOverlap: true });
    return { stop: async () => void (await task.destroy()) };
  },
  after(ms, fire) {
    const timer = setTimeout(fire, ms);
    timer.unref();
    return { stop: () => clearTimeout(timer) };
  },
};

interface ManualTimer {
  readonly ms: number;
  readonly fire: () => void;
}

interface ManualRepeating {
  readonly seconds: number;
  readonly tick: () => void;
}

/** A scheduler that only runs what it is told to; for tests. */
export class ManualScheduler implements Scheduler {
  readonly #repeating = new Set<ManualRepeating>();
  readonly #timers = new Set<ManualTimer>();

  every(seconds: number, tick: () => void): ScheduledTimer {
    const entry = { seconds, tick };
    this.#repeating.add(entry);
    return { stop: () => void this.#repeating.delete(entry) };
  }

  after(ms: number, fire: () => void): ScheduledTimer {
    const entry = { ms, fire };
    this.#timers.add(entry);
    return { stop: () => void this.#timers.delete(entry) };
  }

  /** The interval (s) of every running repeating timer, in the order they were started. */
  get intervals(): number[] {
    return [...this.#repeating].map((entry) => entry.seconds);
  }

  /** The delay (ms) of every pending one-shot timer, in the order they were set. */
  get pending(): number[] {
    return [...this.#timers].map((entry) => entry.ms);
  }

  /** Runs every repeating timer once, as if its interval had passed. */
  tick(): void {
    for (const entry of [...this.#repeating]) entry.tick();
  }

  /** Fires the one-shot timers pending now (not those they set in turn); returns how many fired. */
  fireTimers(): number {
    const due = [...this.#timers];
    this.#timers.clear();
    for (const entry of due) entry.fire();
    return due.length;
  }
}
