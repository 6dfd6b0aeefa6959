// Logging (pino).
export { createLogger, silentLogger, isLogLevel, LOG_LEVELS } from './logger.js';
export type { LogLevelName } from './logger.js';
