// The refresh sweep's timer (node-cron, every refresh.sweepIntervalSeconds),
// replaced by a new one when a reload changes the interval.
import cron from 'node-cron';
import type { ScheduledTask } from 'node-cron';

export class SweepSchedule {
  readonly #sweep: () => void;
  #seconds: number;
  #task: ScheduledTask | undefined;

  constructor(sweep: () => void, seconds: number) {
    this.#sweep = sweep;
    this.#seconds = seconds;
  }

  get intervalSeconds(): number {
    return this.#seconds;
  }

  start(): void {
    this.#task ??= this.#schedule(this.#seconds);
  }

  /** Runs the sweep every `seconds` from now on; the old timer ends first, so no tick runs on both. */
  async reschedule(seconds: number): Promise<void> {
    if (seconds === this.#seconds) return;
    this.#seconds = seconds;
    const old = this.#task;
    if (old === undefined) return;
    this.#task = undefined;
    await old.destroy();
    this.#task = this.#schedule(seconds);
  }

  async stop(): Promise<void> {
    await this.#task?.stop();
  }

  #schedule(seconds: number): ScheduledTask {
    // noOverlap: a slow sweep is not started again before the last one ends.
    return cron.schedule(`*/${seconds} * * * * *`, () => this.#sweep(), { noOverlap: true });
  }
}
