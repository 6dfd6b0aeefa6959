// A private Dovecot 2.3 per test suite: the real mail server that decides
// whether a broker token opens a mailbox. Its own dovecot.conf, base_dir,
// state_dir, Maildirs and log live in a mkdtemp folder; IMAP (STARTTLS),
// IMAPS, POP3 (STLS), POP3S and submission (STARTTLS) listen on free
// 127.0.0.1 ports with a certificate from a throwaway test CA; every login is
// an `oauth2` passdb that asks a resource server by RFC 7662 introspection.
//
// How a mailbox and a protocol reach the introspection server (measured on
// Dovecot 2.3.19.1, Debian 12):
// - The introspection POST carries only `token=...&client_id=&client_secret=`
//   and, with `send_auth_headers = yes`, the headers x-dovecot-auth-service
//   (imap | pop3 | submission), x-dovecot-auth-local, x-dovecot-auth-remote:
//   never the login user. `introspection_url` is not %-expanded (a '%' in it
//   makes the auth process panic), so a URL cannot name the user either.
// - 2.3 passdb blocks have no `protocols` setting, but a passdb inside a
//   `protocol imap { ... }` block serves that protocol alone (measured: works).
//   So this config has, per protocol, one passdb PER MAILBOX
//   (`username_filter = <address>`) whose oauth2 args file holds
//   `introspection_url = url(protocol, mailbox)`, and last a catch-all passdb
//   for any other address at `url(protocol, '-')`. The URL names both; the
//   x-dovecot-auth-service header says the same (submission for 'smtp').
//   A mailbox's passdb has `result_failure = return-fail`: without it a
//   refused token was asked again at the catch-all URL.
// - With no passdb left for a user (all skipped by username_filter) Dovecot
//   answers a temporary failure after 2 s: hence the catch-all.
// - The introspection answer must be `{"active":true,"username":"<login
//   user>"}`; a different username is refused ("Username mismatch").
//
// Refusals as a client sees them (auth_failure_delay = 0 here; Dovecot still
// flushes failures on a 0.5 s timer, so a refusal takes up to 0.5 s):
// - IMAP: a refused XOAUTH2 gets a continuation `+ <base64 {"status":"401",
//   "schemes":"bearer","scope":"mail"}>` (OAUTHBEARER: `{"status":
//   "invalid_token"}`); the client answers an empty line, then
//   `a1 NO [AUTHENTICATIONFAILED] Authentication failed.`
// - POP3: the same continuation, then `-ERR [AUTH] Authentication failed.`
// - Submission: `334 <base64 error JSON>`, empty line, then
//   `535 5.7.8 Authentication failed.`
// Line limits (measured): submission `AUTH XOAUTH2 <initial response>` takes
// at most 1024 characters after "AUTH " (an initial response of 1016 base64
// characters passes, 1020 gets `500 5.5.2 Line too long`): a real Entra token
// does not fit, so SMTP clients must send `AUTH XOAUTH2`, wait for `334 `,
// then send the string on its own line, which may be up to 8192 base64
// characters. IMAP `AUTHENTICATE XOAUTH2 <initial response>` takes up to 8188
// base64 characters; from 8192 on imap-login drops the connection without a
// tagged answer ("Authentication response too large" in the log).
//
// Root or not: imap-login refuses to run as root, so as root the login
// processes run as dovenull, the internal ones as dovecot, mail as dovecot
// (first_valid_uid lowered to its uid), the temp folder is 0755 and the
// Maildirs belong to dovecot. Not root: everything runs as the current user
// (both measured: this suite passes as root and as nobody).
// The login services, anvil, ipc and old-stats run without chroot in both
// cases: a chroot needs root, and a test needs no jail.
// The auth penalty (anvil-auth-penalty) is switched off, so refusals in one
// test do not slow the logins of the next; `penalties()` shows what anvil holds.
import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, copyFile, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { connect as connectTcp } from 'node:net';
import type { Socket } from 'node:net';
import { hostname, tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { connect as connectTls } from 'node:tls';
import { promisify } from 'node:util';
import { delay, spawnWatched, terminate } from './child-process.js';
import { makeAuthority } from './pki.js';
import { freePort, onFreePort, PortTakenError } from './ports.js';
import { startSmtpSink } from './smtp-sink.js';
import type { SmtpSink } from './smtp-sink.js';
import { findSystemBinary, INSTALL_HINT, requireSystemBinary } from './system-binary.js';

/** Looked up once; suites pass `{ skip: dovecotBinary.skip }` to describe() (see system-binary.ts). */
export const dovecotBinary = requireSystemBinary('dovecot');

/**
 * The protocol programs Dovecot starts after a login. Debian's dovecot-core
 * lacks them (dovecot-imapd, -pop3d and -submissiond bring them): Dovecot
 * would start and then fail every login.
 */
const PROTOCOL_PROGRAMS = ['/usr/lib/dovecot/imap', '/usr/lib/dovecot/pop3', '/usr/lib/dovecot/submission'];

const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;
const PROBE_TIMEOUT_MS = 2_000;
const HOST = '127.0.0.1';

/** The protocols a token is checked for; 'smtp' is Dovecot's submission service. */
export type MailProtocol = 'imap' | 'pop3' | 'smtp';
export type OAuthMechanism = 'xoauth2' | 'oauthbearer';

/** The mailbox part of the catch-all passdb's URL: any login user no mailbox passdb names. */
export const ANY_OTHER_MAILBOX = '-';

const DOVECOT_SERVICE: Record<MailProtocol, string> = { imap: 'imap', pop3: 'pop3', smtp: 'submission' };
const PROTOCOLS: readonly MailProtocol[] = ['imap', 'pop3', 'smtp'];

export interface IntrospectionEndpoint {
  /**
   * The RFC 7662 endpoint Dovecot POSTs a token to for `mailbox` and `protocol`
   * (mailbox is ANY_OTHER_MAILBOX for the catch-all), e.g.
   * `${sandbox.url}/exchange/introspect/${protocol}/${mailbox}`. The address
   * goes into the path as is ('@' is legal there): the URL must hold no '%'.
   */
  url(protocol: MailProtocol, mailbox: string): string;
  /** PEM file of the CA that signed the endpoint's certificate (an https URL); copied into Dovecot's folder. */
  readonly caFile?: string;
}

export interface DovecotOptions {
  /** Login addresses, each with its own passdb per protocol; lower case (Dovecot lower-cases the user it compares). */
  readonly mailboxes: readonly string[];
  readonly introspection: IntrospectionEndpoint;
  /**
   * SASL mechanisms offered; default both. curl 7.88 picks OAUTHBEARER whenever
   * it is offered, whatever `--login-options AUTH=XOAUTH2` says: a curl test of
   * XOAUTH2 needs an instance offering XOAUTH2 alone.
   */
  readonly mechanisms?: readonly OAuthMechanism[];
  /** Where submission relays accepted messages; default a private SmtpSink (`sink`). */
  readonly smtpRelay?: { readonly host: string; readonly port: number };
}

export interface DovecotPorts {
  /** IMAP with STARTTLS. */
  readonly imap: number;
  readonly imaps: number;
  /** POP3 with STLS. */
  readonly pop3: number;
  readonly pop3s: number;
  /** Submission (587-style) with STARTTLS. */
  readonly submission: number;
}

export interface Dovecot {
  readonly host: typeof HOST;
  readonly ports: DovecotPorts;
  /** The CA of the listeners' certificate (issued for localhost, 127.0.0.1 and ::1). */
  readonly caCertificatePem: string;
  /** Dovecot's log (log_path): logins, refusals with their reason, relay errors. */
  readonly logFile: string;
  /** The log so far, for failure messages; auth_debug is off, so it holds no token. */
  log(): Promise<string>;
  /** IP addresses anvil holds an auth penalty for (`doveadm penalty`); empty while the penalty is off. */
  penalties(): Promise<string[]>;
  /** The sink submission relays to when the options named no relay, else undefined. */
  readonly sink: SmtpSink | undefined;
  /**
   * Puts a message into `mailbox`'s INBOX as a new Maildir file (written in
   * tmp/, renamed into new/, owned by the mail user): no LDA needed. Returns the file's path.
   */
  deliver(mailbox: string, rfc822: string | Buffer): Promise<string>;
  /** SIGTERM to the master, SIGKILL after a bounded wait; removes the folder and stops the own sink. Safe to call twice. */
  stop(): Promise<void>;
}

interface Account {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly group: string;
}

/** Who runs what: see "Root or not" in the module comment. */
interface Accounts {
  readonly root: boolean;
  readonly login: string;
  readonly internal: Account;
  readonly mail: Account;
}

export async function startDovecot(options: DovecotOptions): Promise<Dovecot> {
  const binary = dovecotBinary.path();
  const missing = PROTOCOL_PROGRAMS.filter((program) => !existsSync(program));
  if (missing.length > 0) {
    throw new Error(`dovecot is installed without ${missing.join(', ')} (dovecot-imapd, dovecot-pop3d, dovecot-submissiond): ${INSTALL_HINT}`);
  }
  validate(options);
  const accounts = whoRunsWhat();
  const directory = await mkdtemp(path.join(tmpdir(), 'tb-dovecot-'));
  let sink: SmtpSink | undefined;
  try {
    // Dovecot's unprivileged processes must reach their sockets, files and Maildirs in here.
    await chmod(directory, 0o755);
    const authority = makeAuthority('token-broker test Dovecot CA');
    const leaf = authority.issueServer();
    await mkdir(path.join(directory, 'tls'));
    await writeFile(path.join(directory, 'tls', 'cert.pem'), leaf.certificatePem);
    await writeFile(path.join(directory, 'tls', 'key.pem'), leaf.keyPem, { mode: 0o600 });
    if (options.introspection.caFile !== undefined) {
      await copyFile(options.introspection.caFile, path.join(directory, 'tls', 'introspection-ca.pem'));
      await chmod(path.join(directory, 'tls', 'introspection-ca.pem'), 0o644);
    }
    await mkdir(path.join(directory, 'run'), { mode: 0o755 });
    await mkdir(path.join(directory, 'state'), { mode: 0o755 });
    await mkdir(path.join(directory, 'mail'), { mode: 0o700 });
    await ownForMail(path.join(directory, 'mail'), accounts);
    await writeArgsFiles(directory, options);

    if (options.smtpRelay === undefined) sink = await startSmtpSink();
    const relay = options.smtpRelay ?? { host: sink?.host ?? HOST, port: sink?.port ?? 0 };
    const started = await onFreePort(async (imap) => {
      const [imaps, pop3, pop3s, submission] = await otherFreePorts(imap, 4);
      const ports: DovecotPorts = { imap, imaps: imaps ?? 0, pop3: pop3 ?? 0, pop3s: pop3s ?? 0, submission: submission ?? 0 };
      return launch(binary, directory, ports, options, relay, accounts, authority.certificatePem);
    });
    return { ...started, sink, stop: stopAll(started.stop, sink, directory) };
  } catch (error) {
    await sink?.stop();
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
}

function stopAll(stopDovecot: () => Promise<void>, sink: SmtpSink | undefined, directory: string): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () => {
    stopping ??= (async () => {
      await stopDovecot();
      await sink?.stop();
      await rm(directory, { recursive: true, force: true });
    })();
    return stopping;
  };
}

/** Values that go into Dovecot's config unquoted: a space, quote, '%' or newline would change their meaning. */
function validate(options: DovecotOptions): void {
  if (options.mailboxes.length === 0) throw new Error('startDovecot: name at least one mailbox');
  for (const mailbox of options.mailboxes) {
    if (!/^[^\s"'%*?!/\\#]+$/.test(mailbox) || mailbox === ANY_OTHER_MAILBOX || mailbox.startsWith('.')) {
      throw new Error(`startDovecot: mailbox ${JSON.stringify(mailbox)} is not usable as a Dovecot username_filter and Maildir name (no spaces, quotes, '%', '*', '?', '!', '/', '#')`);
    }
  }
  if (new Set(options.mailboxes).size !== options.mailboxes.length) throw new Error('startDovecot: a mailbox is named twice');
  if (options.mechanisms !== undefined && options.mechanisms.length === 0) throw new Error('startDovecot: offer at least one mechanism');
  for (const protocol of PROTOCOLS) {
    for (const mailbox of [...options.mailboxes, ANY_OTHER_MAILBOX]) {
      const url = options.introspection.url(protocol, mailbox);
      if (!/^https?:\/\/[^\s"%#]+$/.test(url)) {
        throw new Error(`startDovecot: introspection URL ${JSON.stringify(url)} (${protocol}, ${mailbox}) must be http(s) without spaces, quotes, '#' or '%' (Dovecot 2.3 panics on a '%' in introspection_url)`);
      }
    }
  }
}

function whoRunsWhat(): Accounts {
  if (process.getuid?.() === 0) {
    const internal = systemAccount('dovecot');
    if (systemAccount('dovenull') === undefined || internal === undefined) {
      throw new Error(`the dovecot and dovenull users are missing (the Debian dovecot-core package creates them): ${INSTALL_HINT}`);
    }
    return { root: true, login: 'dovenull', internal, mail: internal };
  }
  const me = userInfo();
  const gid = process.getgid?.() ?? me.gid;
  const current: Account = { name: me.username, uid: me.uid, gid, group: groupName(gid) ?? me.username };
  return { root: false, login: current.name, internal: current, mail: current };
}

function systemAccount(name: string): Account | undefined {
  const fields = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith(`${name}:`))
    ?.split(':');
  if (fields?.[2] === undefined || fields[3] === undefined) return undefined;
  const gid = Number(fields[3]);
  return { name, uid: Number(fields[2]), gid, group: groupName(gid) ?? name };
}

function groupName(gid: number): string | undefined {
  const entry = readFileSync('/etc/group', 'utf8')
    .split('\n')
    .find((line) => line.split(':')[2] === String(gid));
  return entry?.split(':')[0];
}

async function ownForMail(file: string, accounts: Accounts): Promise<void> {
  if (accounts.root) await chown(file, accounts.mail.uid, accounts.mail.gid);
}

/** Free ports other than `taken` and each other (freePort may hand out a port twice). */
async function otherFreePorts(taken: number, count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = await freePort();
    if (port !== taken && !ports.includes(port)) ports.push(port);
  }
  return ports;
}

function argsFile(directory: string, protocol: MailProtocol, index: number | 'any'): string {
  return path.join(directory, `oauth2-${protocol}-${index}.conf.ext`);
}

async function writeArgsFiles(directory: string, options: DovecotOptions): Promise<void> {
  const caFile = options.introspection.caFile === undefined ? undefined : path.join(directory, 'tls', 'introspection-ca.pem');
  for (const protocol of PROTOCOLS) {
    const targets: [number | 'any', string][] = [...options.mailboxes.map((mailbox, index): [number, string] => [index, mailbox]), ['any', ANY_OTHER_MAILBOX]];
    for (const [index, mailbox] of targets) {
      await writeFile(argsFile(directory, protocol, index), oauth2Args(options.introspection.url(protocol, mailbox), caFile));
    }
  }
}

function oauth2Args(url: string, caFile: string | undefined): string {
  return `# Written by test/support/dovecot.ts: one RFC 7662 introspection endpoint.
introspection_url = ${url}
introspection_mode = post
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
send_auth_headers = yes
${caFile === undefined ? '' : `tls_ca_cert_file = ${caFile}\n`}`;
}

function dovecotConfig(directory: string, ports: DovecotPorts, options: DovecotOptions, relay: { host: string; port: number }, accounts: Accounts): string {
  const file = (...names: string[]) => path.join(directory, ...names);
  const mechanisms = options.mechanisms ?? ['xoauth2', 'oauthbearer'];
  const noChroot = ['anvil', 'ipc', 'old-stats']
    .map((service) => `service ${service} {\n  chroot =\n}\n`)
    .join('');
  const passdbs = PROTOCOLS.map((protocol) => {
    const perMailbox = options.mailboxes
      .map(
        (mailbox, index) => `  passdb {
    driver = oauth2
    username_filter = ${mailbox}
    args = ${argsFile(directory, protocol, index)}
    result_failure = return-fail
  }
`,
      )
      .join('');
    return `protocol ${DOVECOT_SERVICE[protocol]} {
${perMailbox}  passdb {
    driver = oauth2
    args = ${argsFile(directory, protocol, 'any')}
  }
}
`;
  }).join('');
  // Dovecot's parser wants every `{` block on lines of its own.
  return `# Written by test/support/dovecot.ts for one test suite.
base_dir = ${file('run')}
state_dir = ${file('state')}
instance_name = tb-dovecot-${path.basename(directory)}
protocols = imap pop3 submission
listen = ${HOST}
log_path = ${file('dovecot.log')}
auth_verbose = yes
auth_debug = no
auth_failure_delay = 0
auth_mechanisms = ${mechanisms.join(' ')}
disable_plaintext_auth = yes
ssl = yes
ssl_cert = <${file('tls', 'cert.pem')}
ssl_key = <${file('tls', 'key.pem')}
default_login_user = ${accounts.login}
default_internal_user = ${accounts.internal.name}
default_internal_group = ${accounts.internal.group}
first_valid_uid = ${accounts.mail.uid}
first_valid_gid = ${accounts.mail.gid}
mail_location = maildir:${file('mail')}/%u
userdb {
  driver = static
  args = uid=${accounts.mail.uid} gid=${accounts.mail.gid} home=${file('mail')}/%u
}
${passdbs}
submission_relay_host = ${relay.host}
submission_relay_port = ${relay.port}
submission_relay_trusted = yes
submission_relay_ssl = no
hostname = localhost

service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
${noChroot}service imap-login {
  chroot =
  inet_listener imap {
    address = ${HOST}
    port = ${ports.imap}
  }
  inet_listener imaps {
    address = ${HOST}
    port = ${ports.imaps}
    ssl = yes
  }
}
service pop3-login {
  chroot =
  inet_listener pop3 {
    address = ${HOST}
    port = ${ports.pop3}
  }
  inet_listener pop3s {
    address = ${HOST}
    port = ${ports.pop3s}
    ssl = yes
  }
}
service submission-login {
  chroot =
  inet_listener submission {
    address = ${HOST}
    port = ${ports.submission}
  }
}
`;
}

type Started = Omit<Dovecot, 'sink'>;

async function launch(binary: string, directory: string, ports: DovecotPorts, options: DovecotOptions, relay: { host: string; port: number }, accounts: Accounts, caCertificatePem: string): Promise<Started> {
  const configFile = path.join(directory, 'dovecot.conf');
  const logFile = path.join(directory, 'dovecot.log');
  await writeFile(configFile, dovecotConfig(directory, ports, options, relay, accounts));
  await rm(logFile, { force: true });
  const readLog = () => readFile(logFile, 'utf8').catch(() => '(no dovecot.log)');

  let output = '';
  // -F: the master stays in the foreground, so its pid is the child's and stopping it stops them all.
  const { child, exited } = spawnWatched(binary, ['-F', '-c', configFile], (text) => (output += text));
  // A crashed or interrupted test run must not leave Dovecot behind.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  try {
    await waitForGreetings(ports, caCertificatePem, child, exited);
  } catch (error) {
    await terminate(child, exited, STOP_GRACE_MS);
    process.removeListener('exit', killOnExit);
    const log = await readLog();
    const details = `${error instanceof Error ? error.message : String(error)}\n--- dovecot output ---\n${output}\n--- dovecot.log ---\n${log}`;
    if (/Address already in use/i.test(log + output)) throw new PortTakenError(details);
    throw new Error(`dovecot did not start: ${details}`);
  }

  let stopped: Promise<void> | undefined;
  return {
    host: HOST,
    ports,
    caCertificatePem,
    logFile,
    log: readLog,
    penalties: () => penalties(configFile),
    deliver: (mailbox, rfc822) => deliver(path.join(directory, 'mail', mailbox), rfc822, accounts),
    stop() {
      stopped ??= (async () => {
        await terminate(child, exited, STOP_GRACE_MS);
        process.removeListener('exit', killOnExit);
      })();
      return stopped;
    },
  };
}

let deliveries = 0;

async function deliver(maildir: string, rfc822: string | Buffer, accounts: Accounts): Promise<string> {
  for (const folder of ['', 'tmp', 'new', 'cur']) {
    const folderPath = path.join(maildir, folder);
    await mkdir(folderPath, { recursive: true, mode: 0o700 });
    await ownForMail(folderPath, accounts);
  }
  // Maildir's unique name: time, pid and a counter, then the host (colons would clash with flags).
  const unique = `${Date.now()}.P${process.pid}Q${++deliveries}.${hostname().replace(/[/:]/g, '_')}`;
  const draft = path.join(maildir, 'tmp', unique);
  await writeFile(draft, rfc822, { mode: 0o600 });
  await ownForMail(draft, accounts);
  const delivered = path.join(maildir, 'new', unique);
  await rename(draft, delivered);
  return delivered;
}

async function penalties(configFile: string): Promise<string[]> {
  const doveadm = findSystemBinary('doveadm');
  if (doveadm === undefined) throw new Error(`doveadm is not installed (Debian dovecot-core has it): ${INSTALL_HINT}`);
  const { stdout } = await promisify(execFile)(doveadm, ['-c', configFile, 'penalty'], { encoding: 'utf8' });
  // The first line is the column header ("IP penalty last_penalty last_update").
  return stdout
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((address) => address !== '');
}

type Listener = { readonly port: number; readonly tls: boolean; readonly greeting: string };

/** Polls every listener until it accepts and sends its greeting (over TLS where the port is implicit TLS). */
async function waitForGreetings(ports: DovecotPorts, caCertificatePem: string, child: ChildProcess, exited: Promise<void>): Promise<void> {
  const listeners: Listener[] = [
    { port: ports.imap, tls: false, greeting: '* OK' },
    { port: ports.imaps, tls: true, greeting: '* OK' },
    { port: ports.pop3, tls: false, greeting: '+OK' },
    { port: ports.pop3s, tls: true, greeting: '+OK' },
    { port: ports.submission, tls: false, greeting: '220 ' },
  ];
  const deadline = Date.now() + START_TIMEOUT_MS;
  let hasExited = false;
  void exited.then(() => (hasExited = true));
  for (const listener of listeners) {
    let lastProblem = 'not tried';
    for (;;) {
      if (hasExited) throw new Error(`dovecot exited with ${String(child.exitCode ?? child.signalCode)} before greeting on port ${listener.port}`);
      const problem = await greetingProblem(listener, caCertificatePem);
      if (problem === undefined) break;
      lastProblem = problem;
      if (Date.now() > deadline) throw new Error(`dovecot did not greet on ${HOST}:${listener.port} within ${START_TIMEOUT_MS} ms (last: ${lastProblem})`);
      // Dovecot -F gives no readiness signal (no sd_notify here, nothing on stdout): the greeting is the condition, polled.
      await delay(50);
    }
  }
}

/** undefined when the listener greets as expected, else what went wrong. */
function greetingProblem(listener: Listener, caCertificatePem: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket: Socket = listener.tls
      ? connectTls({ host: HOST, port: listener.port, ca: caCertificatePem, servername: 'localhost' })
      : connectTcp({ host: HOST, port: listener.port });
    socket.setTimeout(PROBE_TIMEOUT_MS);
    let received = '';
    const done = (problem: string | undefined): void => {
      socket.destroy();
      resolve(problem);
    };
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString();
      if (!received.includes('\r\n')) return;
      done(received.startsWith(listener.greeting) ? undefined : `greeting ${JSON.stringify(received.trim())}`);
    });
    socket.once('error', (error) => done(error.message));
    socket.once('timeout', () => done('no greeting'));
    socket.once('end', () => done('closed before greeting'));
  });
}
