// The token-broker command line (CONTRACT.md): commands, options, help text.
// Each command's module is loaded when that command runs: `validate` and
// `--help` should not pay for loading the daemon, gRPC and both OAuth libraries.
import { Command, CommanderError, Option } from 'commander';
import { isBrokerError } from '../errors/index.js';
import { CommandFailure, ExitCode } from './exit-codes.js';
import { packageVersion } from './package-version.js';
import type { Terminal } from './terminal.js';

const CONFIG_HELP = 'config file (default: $TOKEN_BROKER_CONFIG, else /etc/token-broker/broker.yaml)';
const STRICT_HELP = 'refuse secret files (and a config file holding secrets) that other users may read: errors (exit 78) instead of warnings';

function withConnectionOptions(command: Command): Command {
  return command
    .option('--socket <address>', 'daemon address: unix:///path or tcp://host:port (default: $TOKEN_BROKER_ADDRESS, else unix:///run/token-broker/broker.sock)')
    .option('--key-file <file>', 'file holding this client\'s key (default: $TOKEN_BROKER_KEY_FILE; or the key itself in $TOKEN_BROKER_KEY)');
}

export function buildProgram(terminal: Terminal, setExitCode: (code: ExitCode) => void): Command {
  const program = new Command('token-broker')
    .description('Keeps OAuth 2.0 access tokens for mailboxes fresh and hands them to message connectors over gRPC.')
    .version(packageVersion())
    .showHelpAfterError('(token-broker --help lists the commands)')
    .configureOutput({ writeOut: (text) => terminal.out(text.trimEnd()), writeErr: (text) => terminal.err(text.trimEnd()) })
    .exitOverride();

  const run = (action: () => Promise<ExitCode>) => async (): Promise<void> => setExitCode(await action());

  program
    .command('serve')
    .description(
      'run the daemon; SIGHUP (systemctl reload), token-broker reload or a change of the config file reloads it; ' +
        'SIGTERM or SIGINT stops it after the calls in flight (10 s at most; a second signal cuts them)',
    )
    .option('--config <file>', CONFIG_HELP)
    .addOption(new Option('--log-level <level>', 'trace|debug|info|warn|error (default: $TOKEN_BROKER_LOG_LEVEL, else info)'))
    .option('--no-watch-config', 'do not reload when the config file changes (SIGHUP and token-broker reload still do)')
    .option('--strict', `${STRICT_HELP}; reloads too`)
    .action(async (options: { config?: string; logLevel?: string; watchConfig?: boolean; strict?: boolean }) => run(async () => (await import('./commands/serve.js')).serveCommand(options, terminal))());

  program
    .command('validate')
    .description('print every problem of the config file; exit 0 when valid, 78 when not')
    .option('--config <file>', CONFIG_HELP)
    .option('--strict', STRICT_HELP)
    .action(async (options: { config?: string; strict?: boolean }) => run(async () => (await import('./commands/validate.js')).validateCommand(options, terminal))());

  program
    .command('audit')
    .description('work with the audit log (audit.file in the config)')
    .command('verify')
    .argument('<files...>', 'audit log files, oldest first (e.g. audit.jsonl.2 audit.jsonl.1 audit.jsonl)')
    .description('check the hash chain of audit log files: exit 0 when intact, 1 when a line was removed, edited or reordered')
    .action(async (files: string[]) => run(async () => (await import('./commands/audit.js')).auditVerifyCommand(files, terminal))());

  withConnectionOptions(
    program
      .command('authorize')
      .argument('<mailbox>', 'mailbox name from the config')
      .description(
        'authorize a mailbox interactively on the running daemon: prints the sign-in URL (or device code), then completes\n' +
          'from the loopback redirect, or from the redirect URL pasted on stdin (Google and other servers)',
      )
      .option('--redirect-url <url>', 'complete at once with this redirect URL (the address the browser landed on)'),
  ).action(async (mailbox: string, options: { socket?: string; keyFile?: string; redirectUrl?: string }) =>
    run(async () => (await import('./commands/authorize.js')).authorizeCommand(mailbox, options, terminal))(),
  );

  withConnectionOptions(
    program
      .command('token')
      .argument('<mailbox>', 'mailbox name from the config')
      .description('print the current access token of a mailbox, from the running daemon')
      .option('--xoauth2', 'print the SASL XOAUTH2 string instead of the bare token')
      // commander refuses the pair as a usage error (exit 2), naming both options.
      .addOption(new Option('--oauthbearer', 'print the SASL OAUTHBEARER string (RFC 7628) instead of the bare token').conflicts('xoauth2'))
      .option('--min-validity <seconds>', 'the token must stay valid this long (default: 60, or half the token lifetime when the server\'s tokens live less than 60 s)'),
  ).action(async (mailbox: string, options: { socket?: string; keyFile?: string; xoauth2?: boolean; oauthbearer?: boolean; minValidity?: string }) =>
    run(async () => (await import('./commands/token.js')).tokenCommand(mailbox, options, terminal))(),
  );

  withConnectionOptions(
    program
      .command('doctor')
      .argument('<mailbox>', 'mailbox name from the config')
      .summary("explain a mailbox's token (audience, permission, tenant, user, expiry) and, with --probe, log in for real")
      .description(
        "check a mailbox's current token (from the running daemon) against what its protocol needs, and say what to change where;\n" +
          'with --probe HOST:PORT, log in to the mail server with it (through the mailbox\'s proxy) and explain the answer.\n' +
          'TLS: at once on 993, 995 and 465, STARTTLS on any other port, unless --tls or --starttls says otherwise; a token is never sent in plain text.\n' +
          'Exit 0 when no check failed and the login worked, 1 otherwise, 2 on a usage error (or an unknown mailbox), 78 on an invalid config.',
      )
      .option('--config <file>', CONFIG_HELP)
      .option('--probe <host:port>', 'log in to this mail server (IMAP, POP3 or SMTP, as the mailbox\'s protocol)')
      .addOption(new Option('--tls', 'TLS from the first byte (default on 993, 995, 465)').conflicts('starttls'))
      .addOption(new Option('--starttls', 'plain text, then STARTTLS (default on other ports)').conflicts('tls'))
      .option('--ca-file <file>', "PEM CA certificate(s) to trust for the mail server, beside the system's (and the authorization server's caFile)")
      .option('--timeout <seconds>', 'for each step of the login (default 30)')
      .addOption(new Option('--mechanism <name>', 'log in with this SASL mechanism (default: XOAUTH2 when offered, else OAUTHBEARER)').choices(['xoauth2', 'oauthbearer']))
      .option('--json', 'one JSON object: mailbox, token, findings, probe'),
  ).action(
    async (
      mailbox: string,
      options: { config?: string; socket?: string; keyFile?: string; probe?: string; tls?: boolean; starttls?: boolean; caFile?: string; timeout?: string; mechanism?: string; json?: boolean },
    ) => run(async () => (await import('./commands/doctor.js')).doctorCommand(mailbox, options, terminal))(),
  );

  withConnectionOptions(
    program.command('status').description('one line per mailbox: state, token expiry, last error').option('--json', 'machine-readable output'),
  ).action(async (options: { socket?: string; keyFile?: string; json?: boolean }) => run(async () => (await import('./commands/status.js')).statusCommand(options, terminal))());

  withConnectionOptions(
    program
      .command('reload')
      .summary('make the running daemon re-read its config file; print what changed or what is wrong')
      .description(
        'make the running daemon re-read its config file (as SIGHUP and systemctl reload do) and print what changed;\n' +
          'exit 0 when applied, 1 when not: the problems are listed and the daemon keeps its running config.\n' +
          'Needs an admin client key (admin: true) when server.clients is set.',
      ),
  ).action(async (options: { socket?: string; keyFile?: string }) => run(async () => (await import('./commands/reload.js')).reloadCommand(options, terminal))());

  program
    .command('demo')
    .description('a self-contained first look: a local authorization server, the daemon, and a client fetching a token')
    .action(async () => run(async () => (await import('./commands/demo.js')).demoCommand(terminal))());

  return program;
}

/** Runs the CLI and returns the process exit code. */
export async function runCli(argv: readonly string[], terminal: Terminal): Promise<ExitCode> {
  let exitCode: ExitCode = ExitCode.ok;
  const program = buildProgram(terminal, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    if (error instanceof CommandFailure) {
      terminal.err(`token-broker: ${error.message}`);
      return error.exitCode;
    }
    if (isBrokerError(error)) {
      // A failure the broker explains (what, where, what to do), as serve prints it: its words, not a stack trace.
      terminal.err(`token-broker: ${error.describe()}`);
      return ExitCode.failed;
    }
    terminal.err(`token-broker: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return ExitCode.failed;
  }
}
