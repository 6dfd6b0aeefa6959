// Loading a config: read the file, parse it with positions, read every
// section (each reports its own problems and goes on), and hand back either
// the validated BrokerConfig or every problem found.
import { dirname, resolve } from 'node:path';
import type { LoadContext } from './context.js';
import { checkConfigFileMode } from './file-permissions.js';
import { CONFIG_FILE, readConfigFile } from './files.js';
import { ProblemSink } from './problems.js';
import { kindOfNode, MappingReader } from './reader.js';
import { readAuthorizationServers } from './sections/authorization-servers.js';
import { readMailboxes } from './sections/mailboxes.js';
import { AUDIT_KEYS, readAudit } from './sections/audit.js';
import { METRICS_KEYS, readMetrics } from './sections/metrics.js';
import { readProxies } from './sections/proxies.js';
import { readRefresh, REFRESH_KEYS } from './sections/refresh.js';
import { readServerSection, SERVER_KEYS } from './sections/server.js';
import { readStore, STORE_KEYS } from './sections/store.js';
import type { AuthorizationServerConfig, BrokerConfig, ConfigLoadResult } from './types.js';
import { OFF_THREAD_MIN_LENGTH, parseYamlSourceOffThread } from './yaml-off-thread.js';

export interface LoadOptions {
  /** Where `${NAME}` is looked up; default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** Milliseconds since the epoch, for certificate expiry; default Date.now. */
  readonly now?: () => number;
  /**
   * Parse a big file in a worker thread (yaml-off-thread.ts), so that this
   * thread keeps answering meanwhile: the running daemon's reloads. Default
   * false: with nothing else to do (start-up, validate) parsing in place is faster.
   */
  readonly offThread?: boolean;
  /**
   * `--strict` (serve, validate): a secret file other users may read, or a
   * config file every user may read that holds a secret itself, is an
   * error rather than a warning.
   */
  readonly strict?: boolean;
}

const TOP_LEVEL_KEYS = ['server', 'store', 'metrics', 'audit', 'refresh', 'authorizationServers', 'proxies', 'mailboxes'];

export async function loadConfig(file: string, options: LoadOptions = {}): Promise<ConfigLoadResult> {
  const source = resolve(file);
  const read = await readConfigFile(source, CONFIG_FILE);
  if (!read.ok) {
    const message = 'problem' in read ? `config file ${read.problem}` : `cannot read config file ${source} (${read.reason}); ${readHint(read.code)}`;
    return { ok: false, problems: [{ severity: 'error', path: '', message }] };
  }
  return loadText(read.data.toString('utf8'), { ...options, file: source }, read.mode);
}

/** `file` names the config in messages and is where relative paths start (its folder). */
export function loadConfigFromText(text: string, options: LoadOptions & { readonly file: string }): Promise<ConfigLoadResult> {
  return loadText(text, options, undefined);
}

/** `mode`: the permission bits of the config file, when the text came from one. */
async function loadText(text: string, options: LoadOptions & { readonly file: string }, mode: number | undefined): Promise<ConfigLoadResult> {
  const source = resolve(options.file);
  const sink = new ProblemSink();
  const ctx: LoadContext = {
    sink,
    env: options.env ?? process.env,
    baseDir: dirname(source),
    now: options.now ?? Date.now,
    strict: options.strict === true,
    filesReported: new Set(),
    inlineSecrets: [],
  };
  const failed = (): ConfigLoadResult => ({ ok: false, problems: sink.sorted() });

  const root = await parseYamlSourceOffThread(text, sink, { offThread: options.offThread === true && text.length >= OFF_THREAD_MIN_LENGTH });
  if (root === undefined) return failed();
  if (root.kind !== 'map') {
    sink.error('', `the file must be a mapping with keys such as server, store and mailboxes, not ${kindOfNode(root)}`, root.at);
    return failed();
  }
  const top = new MappingReader(ctx, root, '', root.at, TOP_LEVEL_KEYS);

  const servers = await readAuthorizationServers(ctx, top.mapping('authorizationServers', undefined, true));
  const proxies = await readProxies(ctx, top.mapping('proxies', undefined, true));
  const mailboxSection = top.mapping('mailboxes', undefined, true);
  const mailboxes = await readMailboxes(ctx, mailboxSection, servers, proxies);
  const mailboxNames = new Set(mailboxSection.state === 'ok' ? mailboxSection.value.node.entries.keys() : []);
  const server = await readServerSection(ctx, top.mapping('server', SERVER_KEYS, true), mailboxNames);
  const store = await readStore(ctx, top.mapping('store', STORE_KEYS, true));
  const metrics = readMetrics(top.mapping('metrics', METRICS_KEYS, true));
  const audit = readAudit(ctx, top.mapping('audit', AUDIT_KEYS));
  const refresh = readRefresh(top.mapping('refresh', REFRESH_KEYS, true));
  if (mode !== undefined) checkConfigFileMode(ctx, source, mode);

  if (sink.errorCount > 0) return failed();
  const config: BrokerConfig = {
    source,
    server,
    store,
    ...(metrics === undefined ? {} : { metrics }),
    ...(audit === undefined ? {} : { audit }),
    refresh,
    authorizationServers: new Map<string, AuthorizationServerConfig>([...servers.servers].map(([name, entry]) => [name, entry.config])),
    proxies: proxies.proxies,
    mailboxes,
  };
  return { ok: true, config, warnings: sink.sorted() };
}

function readHint(code: string | undefined): string {
  if (code === 'ENOENT') return 'create it, or point --config (or TOKEN_BROKER_CONFIG) at the config file';
  if (code === 'EACCES' || code === 'EPERM') return "make it readable by the broker's user";
  return 'check the path and its permissions';
}
