// `token-broker serve`: run the daemon until SIGTERM/SIGINT; SIGHUP (and any
// change of the config file) reloads the config.
import { formatProblem, loadConfig } from '../../config/index.js';
import { collectGarbage, startDaemon } from '../../daemon/index.js';
import { BrokerError } from '../../errors/index.js';
import { createLogger, isLogLevel, LOG_LEVELS } from '../../logging/index.js';
import { configPath } from '../config-path.js';
import { CommandFailure, ExitCode } from '../exit-codes.js';
import type { Terminal } from '../terminal.js';

export interface ServeOptions {
  readonly config?: string;
  readonly logLevel?: string;
  /** Reload when the config file changes; default true (`--no-watch-config` turns it off). */
  readonly watchConfig?: boolean;
  /** `--strict`: secret files others may read are errors (exit 78; a reload is refused), not warnings. */
  readonly strict?: boolean;
}

export async function serveCommand(options: ServeOptions, terminal: Terminal): Promise<ExitCode> {
  const level = options.logLevel ?? process.env.TOKEN_BROKER_LOG_LEVEL ?? 'info';
  if (!isLogLevel(level)) {
    throw new CommandFailure(`--log-level ${level} is not one of ${LOG_LEVELS.join('|')}.`, ExitCode.usage);
  }
  const storeProbeIntervalMs = millisecondsFromEnvironment('TOKEN_BROKER_STORE_PROBE_INTERVAL_MS', 10);
  const httpTimeoutMs = millisecondsFromEnvironment('TOKEN_BROKER_HTTP_TIMEOUT_MS', 100);
  const logger = createLogger(level);
  // Registered first: SIGHUP's default action ends the process, and a reload sent during start-up must not.
  let onHangup = (): void => logger.warn('SIGHUP during start-up: ignored; the config file read at start applies (send SIGHUP again once serving)');
  const hangup = (): void => onHangup();
  process.on('SIGHUP', hangup);
  // Likewise SIGTERM/SIGINT: during start-up they are remembered, and the daemon stops (gracefully, exit 0) once it is up.
  let stopRequested: NodeJS.Signals | undefined;
  let onStop = (signal: NodeJS.Signals): void => {
    if (stopRequested === undefined) {
      stopRequested = signal;
      logger.info({ signal }, `${signal} during start-up: stopping as soon as start-up is done (send it again to exit at once)`);
      return;
    }
    // Nothing is serving yet and nothing was handed out: exiting at once loses nothing.
    logger.warn({ signal }, `second ${signal} during start-up: exiting at once`);
    process.exit(ExitCode.failed);
  };
  const stopSignal = (signal: NodeJS.Signals): void => onStop(signal);
  process.on('SIGTERM', stopSignal);
  process.on('SIGINT', stopSignal);
  const file = configPath(options.config);
  const strictConfig = options.strict === true;
  const result = await loadConfig(file, { strict: strictConfig });
  if (stopRequested !== undefined) return ExitCode.ok;
  if (!result.ok) {
    for (const problem of result.problems) terminal.err(formatProblem(problem, file));
    logger.error({ config: file, problems: result.problems.length }, 'configuration invalid; not starting (fix the file, then `token-broker validate`)');
    return ExitCode.configInvalid;
  }
  for (const warning of result.warnings) logger.warn({ config: file, path: warning.path }, warning.message);
  // What parsing the file allocated dies here, before the first sweep's token requests add their own (start-up-garbage.ts).
  collectGarbage();

  let daemon;
  try {
    daemon = await startDaemon(result.config, { logger, watchConfig: options.watchConfig ?? true, storeProbeIntervalMs, httpTimeoutMs, strictConfig });
  } catch (error) {
    const message = error instanceof BrokerError ? error.describe() : String(error);
    logger.error({ code: error instanceof BrokerError ? error.code : 'internal' }, message);
    terminal.err(`token-broker: ${message}`);
    // A bad key file will not fix itself on restart: like a bad config, 78 stops systemd retrying.
    return error instanceof BrokerError && error.code === 'store_key_invalid' ? ExitCode.configInvalid : ExitCode.failed;
  }

  return new Promise<ExitCode>((resolve) => {
    // The first SIGTERM/SIGINT stops gracefully; another one during that stop forces it.
    const force = new AbortController();
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        if (force.signal.aborted) return;
        logger.warn({ signal }, 'second signal: stopping at once, cutting the calls still in flight');
        force.abort();
        return;
      }
      stopping = true;
      logger.info({ signal }, 'stopping: no new calls; calls in flight may finish (a second SIGTERM or SIGINT cuts them)');
      // A stop that completes exits 0, forced or not: what it cut is logged; 1 only when stopping itself failed.
      daemon.stop(undefined, force.signal).then(
        () => resolve(ExitCode.ok),
        (error: unknown) => {
          logger.error({ err: error }, 'error while stopping');
          resolve(ExitCode.failed);
        },
      );
    };
    onStop = stop;
    // The reload logs its own outcome: what changed, or every problem of the file.
    onHangup = () => void daemon.reload('sighup');
    if (stopRequested !== undefined) stop(stopRequested);
  });
}

/**
 * Knobs for tests, which cannot wait the defaults: $TOKEN_BROKER_STORE_PROBE_INTERVAL_MS
 * (5 s between store probes) and $TOKEN_BROKER_HTTP_TIMEOUT_MS (30 s per request to an
 * authorization server). Unset or empty: the default.
 */
function millisecondsFromEnvironment(name: string, minimum: number): number | undefined {
  const value = process.env[name];
  if (value === undefined || value === '') return undefined;
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < minimum || ms > 3_600_000) {
    throw new CommandFailure(`${name}=${value} is not a whole number of milliseconds from ${minimum} to 3600000; unset it to use the default.`, ExitCode.usage);
  }
  return ms;
}
