// Injectable time: the clock that says what time it is, the scheduler that runs work later.
export { systemClock, ManualClock } from './clock.js';
export type { Clock } from './clock.js';
export { systemScheduler, ManualScheduler } from './scheduler.js';
export type { ScheduledTimer, Scheduler } from './scheduler.js';
