// Starting and stopping the broker as a whole.
export { startDaemon } from './daemon.js';
export type { DaemonOptions, RunningDaemon } from './daemon.js';
export type { ReloadTrigger } from './reloader.js';
export { CONFIG_WATCH_DEBOUNCE_MS } from './config-watcher.js';
export { collectGarbage } from './start-up-garbage.js';
