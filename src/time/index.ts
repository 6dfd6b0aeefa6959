// Injectable time.
export { systemClock, ManualClock } from './clock.js';
export type { Clock } from './clock.js';
