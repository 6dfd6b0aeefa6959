// The refresh sweep's timer (every refresh.sweepIntervalSeconds, through the
// injected scheduler), replaced by a new one when a reload changes the interval.
import type { ScheduledTimer, Scheduler } from '../time/index.js';

export class SweepSchedule {
  readonly #sweep: () => void;
  readonly #scheduler: Scheduler;
  #seconds: number;
  #timer: ScheduledTimer | undefined;

  constructor(sweep: () => void, seconds: number, scheduler: Scheduler) {
    this.#sweep = sweep;
    this.#seconds = seconds;
    this.#scheduler = scheduler;
  }

  get intervalSeconds(): number {
    return this.#seconds;
  }

  start(): void {
    this.#timer ??= this.#schedule(this.#seconds);
  }

  /** Runs the sweep every `seconds` from now on; the old timer ends first, so no tick runs on both. */
  async reschedule(seconds: number): Promise<void> {
    if (seconds === this.#seconds) return;
    this.#seconds = seconds;
    const old = this.#timer;
    if (old === undefined) return;
    this.#timer = undefined;
    await old.stop();
    this.#timer = this.#schedule(seconds);
  }

  async stop(): Promise<void> {
    const timer = this.#timer;
    this.#timer = undefined;
    await timer?.stop();
  }

  #schedule(seconds: number): ScheduledTimer {
    return this.#scheduler.every(seconds, () => this.#sweep());
  }
}
