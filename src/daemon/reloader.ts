// Hot reload: re-reads the config file, hands the engine its part (mailboxes,
// refresh), then swaps the client allow-list and the sweep interval, and names
// what only a restart applies. One reload at a time; a file that does not load,
// or an engine that refuses it, changes nothing.
import type { Logger } from 'pino';
import type { ReloadSummary, TokenBroker } from '../broker/index.js';
import { formatProblem, loadConfig } from '../config/index.js';
import type { BrokerConfig, ClientConfig } from '../config/index.js';
import { BrokerError } from '../errors/index.js';
import type { ReloadOutcome } from '../server/index.js';
import { restartRequiredKeys, tlsFilesDigest } from './restart-required.js';
import type { SweepSchedule } from './sweep-schedule.js';

export type ReloadTrigger = 'sighup' | 'rpc' | 'file';

const TRIGGER_NAMES: Readonly<Record<ReloadTrigger, string>> = { sighup: 'SIGHUP', rpc: 'Reload RPC', file: 'the config file changed' };

export interface ConfigReloaderOptions {
  /** The config the daemon started with. */
  readonly config: BrokerConfig;
  readonly broker: Pick<TokenBroker, 'reload'>;
  /** The gRPC server's allow-list; returns how many open watches the new list ended. */
  readonly clients: { replaceClients(clients: readonly ClientConfig[] | undefined): number };
  readonly sweep: Pick<SweepSchedule, 'reschedule'>;
  readonly logger: Logger;
  /** `serve --strict`: a reload is held to the same rule as the start (LoadOptions.strict). */
  readonly strict?: boolean;
}

export class ConfigReloader {
  readonly #options: ConfigReloaderOptions;
  readonly #started: BrokerConfig;
  readonly #startedTls: Promise<string | undefined>;
  #current: BrokerConfig;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(options: ConfigReloaderOptions) {
    this.#options = options;
    this.#started = options.config;
    this.#current = options.config;
    this.#startedTls = tlsFilesDigest(options.config.server.tls);
  }

  /** Re-reads the config file; waits for a reload in progress first. Never rejects. */
  reload(trigger: ReloadTrigger): Promise<ReloadOutcome> {
    const run = this.#queue.then(() => this.#reload(trigger));
    this.#queue = run.catch(() => undefined);
    return run.catch((error: unknown) => {
      this.#options.logger.error({ err: error, trigger }, 'internal error while reloading the configuration; still running the previous configuration');
      return { applied: false, errors: ['internal error while reloading the configuration; see the token-broker log.'], restartRequired: [] };
    });
  }

  /** Refuses reloads from now on and waits for the one in progress. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#queue;
  }

  async #reload(trigger: ReloadTrigger): Promise<ReloadOutcome> {
    const file = this.#current.source;
    const log = this.#options.logger.child({ trigger, config: file });
    if (this.#closed) return notApplied(log, ['token-broker is shutting down; the configuration was not reloaded.']);
    log.info(`reloading the configuration (${TRIGGER_NAMES[trigger]})`);

    // In a worker thread when the file is big: GetToken keeps being answered while a 10,000-mailbox file is parsed (about 1 s).
    const result = await loadConfig(file, { offThread: true, strict: this.#options.strict === true });
    if (!result.ok) {
      const errors: string[] = [];
      for (const problem of result.problems) {
        const line = formatProblem(problem, file);
        if (problem.severity === 'error') {
          errors.push(line);
          log.error({ path: problem.path }, line);
        } else {
          log.warn({ path: problem.path }, line);
        }
      }
      return notApplied(log, errors, `${errors.length} error${errors.length === 1 ? '' : 's'} in ${file} (token-broker validate lists them)`);
    }
    for (const warning of result.warnings) log.warn({ path: warning.path }, formatProblem(warning, file));
    const next = result.config;

    let summary: ReloadSummary;
    try {
      summary = await this.#options.broker.reload({ mailboxes: next.mailboxes.values(), refresh: next.refresh });
    } catch (error) {
      if (error instanceof BrokerError) return notApplied(log, [error.describe()], error.describe(), { code: error.code });
      log.error({ err: error }, 'the engine failed to apply the configuration');
      return notApplied(log, ['internal error while applying the configuration; see the token-broker log.']);
    }

    const previous = this.#current;
    this.#current = next;
    const clients = clientChanges(previous.server.clients, next.server.clients);
    const endedWatches = this.#options.clients.replaceClients(next.server.clients);
    if (next.refresh.sweepIntervalSeconds !== previous.refresh.sweepIntervalSeconds) {
      await this.#options.sweep.reschedule(next.refresh.sweepIntervalSeconds);
    }

    const restartRequired = restartRequiredKeys(this.#started, next);
    if (!restartRequired.includes('server.tls') && next.server.tls !== undefined && (await tlsFilesDigest(next.server.tls)) !== (await this.#startedTls)) {
      restartRequired.push('server.tls');
    }
    for (const key of restartRequired) {
      log.warn(
        { key },
        `${key} changed, but only a restart applies it (systemctl restart token-broker); until then the daemon keeps the value it started with`,
      );
    }

    log.info(
      {
        added: summary.added,
        removed: summary.removed,
        changed: summary.changed,
        reacquiring: summary.reacquiring,
        clients: clients.fields,
        sweepIntervalSeconds: next.refresh.sweepIntervalSeconds,
        ...(endedWatches > 0 ? { endedWatches } : {}),
        ...(restartRequired.length > 0 ? { restartRequired } : {}),
      },
      `configuration reloaded (${TRIGGER_NAMES[trigger]}): ${describeSummary(summary)}; ${clients.text}`,
    );
    return { applied: true, errors: [], summary, restartRequired };
  }
}

function notApplied(log: Logger, errors: readonly string[], reason = errors.join(' '), fields: object = {}): ReloadOutcome {
  log.error({ ...fields, errors: errors.length }, `configuration not reloaded: ${reason.replace(/\.$/, '')}; still running the previous configuration`);
  return { applied: false, errors, restartRequired: [] };
}

/** `1 added (fresh), 0 removed, 2 changed (a, b), 1 re-acquiring (a)` */
export function describeSummary(summary: ReloadSummary): string {
  const part = (names: readonly string[], what: string): string => (names.length === 0 ? `0 ${what}` : `${names.length} ${what} (${names.join(', ')})`);
  return [part(summary.added, 'added'), part(summary.removed, 'removed'), part(summary.changed, 'changed'), part(summary.reacquiring, 're-acquiring')].join(', ');
}

/** What changed in server.clients, by client name (never a key). */
export function clientChanges(
  before: readonly ClientConfig[] | undefined,
  after: readonly ClientConfig[] | undefined,
): { fields: { enforcing: boolean; added: string[]; removed: string[]; changed: string[] }; text: string } {
  const old = new Map((before ?? []).map((client) => [client.name, client]));
  const now = new Map((after ?? []).map((client) => [client.name, client]));
  const added = [...now.keys()].filter((name) => !old.has(name));
  const removed = [...old.keys()].filter((name) => !now.has(name));
  const changed = [...now.entries()].filter(([name, client]) => {
    const was = old.get(name);
    return was !== undefined && !sameClient(was, client);
  });
  const fields = { enforcing: after !== undefined, added, removed, changed: changed.map(([name]) => name) };
  let text: string;
  if (after === undefined) text = before === undefined ? 'no client allow-list' : 'server.clients removed: every caller that can reach a listener is trusted now';
  else {
    const list = (names: readonly string[], what: string): string => `${names.length} ${what}${names.length === 0 ? '' : ` (${names.join(', ')})`}`;
    const prefix = before === undefined ? 'server.clients added: every call needs a client key now; ' : 'clients: ';
    text = `${prefix}${list(added, 'added')}, ${list(removed, 'removed')}, ${list(fields.changed, 'changed')}`;
  }
  return { fields, text };
}

function sameClient(a: ClientConfig, b: ClientConfig): boolean {
  const sameKey = a.key === undefined ? b.key === undefined : a.key.equals(b.key);
  return (
    sameKey &&
    a.keySha256 === b.keySha256 &&
    a.admin === b.admin &&
    a.mailboxes.length === b.mailboxes.length &&
    a.mailboxes.every((pattern, index) => pattern === b.mailboxes[index])
  );
}
