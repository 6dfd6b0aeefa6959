// `token-broker doctor MAILBOX`: checks the mailbox's current token (from the
// running daemon) against what its protocol needs and, with --probe, logs in
// to the mail server for real. Exit 0 healthy, 1 not, 2 usage, 78 bad config.
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { formatProblem, loadConfig } from '../../config/index.js';
import { defaultSecurity, formatReport, runDoctor } from '../../doctor/index.js';
import type { DoctorProbeOptions } from '../../doctor/index.js';
import type { SaslMechanism } from '../../mail/index.js';
import { CommandFailure, ExitCode } from '../exit-codes.js';
import { configPath } from '../config-path.js';
import { connect, explainRpcError } from '../daemon-connection.js';
import type { ConnectionOptions } from '../daemon-connection.js';
import type { Terminal } from '../terminal.js';

export interface DoctorOptions extends ConnectionOptions {
  readonly config?: string;
  readonly probe?: string;
  readonly tls?: boolean;
  readonly starttls?: boolean;
  readonly caFile?: string;
  readonly timeout?: string;
  /** xoauth2 | oauthbearer (commander checks the choice). */
  readonly mechanism?: string;
  readonly json?: boolean;
}

const DEFAULT_TIMEOUT_SECONDS = 30;

/** HOST:PORT, [IPv6]:PORT. */
export function parseProbeTarget(value: string): { host: string; port: number } {
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(value) ?? /^([^:\s]+):(\d+)$/.exec(value);
  const host = match?.[1];
  const port = Number(match?.[2]);
  if (host === undefined || !Number.isInteger(port) || port < 1 || port > 65_535 || (value.startsWith('[') && isIP(host) !== 6)) {
    throw new CommandFailure(`--probe wants HOST:PORT (e.g. outlook.office365.com:993, [::1]:143), not "${value}".`, ExitCode.usage);
  }
  return { host, port };
}

function saslMechanism(name: string): SaslMechanism {
  const upper = name.toUpperCase();
  if (upper === 'XOAUTH2' || upper === 'OAUTHBEARER') return upper;
  throw new CommandFailure(`--mechanism wants xoauth2 or oauthbearer, not "${name}".`, ExitCode.usage);
}

async function probeOptions(options: DoctorOptions, extraCas: readonly string[]): Promise<DoctorProbeOptions | undefined> {
  if (options.probe === undefined) {
    if (options.tls === true || options.starttls === true || options.caFile !== undefined || options.mechanism !== undefined) {
      throw new CommandFailure('--tls, --starttls, --ca-file and --mechanism apply to a login: give --probe HOST:PORT too.', ExitCode.usage);
    }
    return undefined;
  }
  const { host, port } = parseProbeTarget(options.probe);
  const timeoutSeconds = options.timeout === undefined ? DEFAULT_TIMEOUT_SECONDS : Number(options.timeout);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) throw new CommandFailure(`--timeout wants seconds, not "${options.timeout ?? ''}".`, ExitCode.usage);
  let ca: string | undefined;
  if (options.caFile !== undefined) {
    try {
      ca = await readFile(options.caFile, 'utf8');
    } catch (error) {
      throw new CommandFailure(`cannot read --ca-file ${options.caFile}: ${(error as Error).message}`, ExitCode.usage);
    }
  }
  // The authorization server's caFile too: a private CA (or a TLS-inspecting proxy's) the operator already trusts for this mailbox.
  const trust = [...extraCas, ...(ca === undefined ? [] : [ca])];
  return {
    host,
    port,
    security: options.tls === true ? 'tls' : options.starttls === true ? 'starttls' : defaultSecurity(port),
    ...(trust.length === 0 ? {} : { ca: trust.join('\n') }),
    timeoutMs: timeoutSeconds * 1000,
    ...(options.mechanism === undefined ? {} : { mechanism: saslMechanism(options.mechanism) }),
  };
}

export async function doctorCommand(mailboxName: string, options: DoctorOptions, terminal: Terminal): Promise<ExitCode> {
  const file = configPath(options.config);
  const loaded = await loadConfig(file);
  if (!loaded.ok) {
    for (const problem of loaded.problems) terminal.err(formatProblem(problem, file));
    terminal.err(`${file}: invalid; fix it first (token-broker validate).`);
    return ExitCode.configInvalid;
  }
  const mailbox = loaded.config.mailboxes.get(mailboxName);
  if (mailbox === undefined) {
    const known = [...loaded.config.mailboxes.keys()];
    throw new CommandFailure(`no mailbox ${mailboxName} in ${file} (it has: ${known.length === 0 ? 'none' : known.join(', ')}).`, ExitCode.usage);
  }
  if (options.probe !== undefined && mailbox.protocol === 'graph') {
    throw new CommandFailure(`--probe logs in over IMAP, POP3 or SMTP; mailbox ${mailboxName} uses Microsoft Graph.`, ExitCode.usage);
  }
  const probe = await probeOptions(options, mailbox.authorizationServer.caCertificates);
  const client = connect(options);
  try {
    const report = await runDoctor({
      mailbox,
      getToken: () => client.getToken(mailboxName),
      describeTokenError: (error) => explainRpcError(error, client).message,
      ...(probe === undefined ? {} : { probe }),
      now: () => Date.now(),
    });
    if (options.json === true) terminal.out(JSON.stringify(report, null, 2));
    else for (const line of formatReport(report)) terminal.out(line);
    return report.healthy ? ExitCode.ok : ExitCode.failed;
  } finally {
    client.close();
  }
}
