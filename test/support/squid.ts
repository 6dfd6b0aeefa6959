// A private squid per test run, with basic authentication: the real proxy
// ops put in front of the broker, in a mkdtemp folder with its own config, logs and hosts file.
import { execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmod, chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findSystemBinary, requireSystemBinary } from './system-binary.js';
import { delay, spawnWatched, terminate } from './child-process.js';
import { onFreePort, PortTakenError } from './ports.js';

/** Looked up once; suites pass `squidBinary.skip` to describe() (see system-binary.ts). */
export const squidBinary = requireSystemBinary('squid');

const BASIC_AUTH_HELPER = '/usr/lib/squid/basic_ncsa_auth';
const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;

export interface SquidOptions {
  readonly username: string;
  readonly password: string;
  /** Names squid alone resolves to 127.0.0.1 (its hosts_file); the test host cannot resolve them. */
  readonly hostnames?: readonly string[];
}

export interface Squid {
  /** http://127.0.0.1:PORT, without credentials (a broker config's proxies.NAME.url). */
  readonly url: string;
  readonly port: number;
  /** access.log lines so far. squid writes a CONNECT's line when the tunnel closes, not when it opens. */
  accessLog(): Promise<string[]>;
  /** Polls access.log until a line matches; the tunnel must close first (keep-alive ends it within seconds). */
  waitForAccessLine(match: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  cacheLog(): Promise<string>;
  /** Stops squid (SIGTERM) but keeps its folder and port: `start()` brings it back on the same URL, as ops restarting it. */
  kill(): Promise<void>;
  /**
   * Starts squid again on the same port after kill(). `password` replaces the
   * user's password first (the proxy's credentials rotated): a fresh squid
   * has no cached credentials, so the old password gets 407 at once.
   */
  start(options?: { readonly password?: string }): Promise<void>;
  /** SIGTERM, then SIGKILL after a grace period; removes the temp folder. Safe to call twice. */
  stop(): Promise<void>;
}

export async function startSquid(options: SquidOptions): Promise<Squid> {
  const binary = squidBinary.path();
  if (!/^[^:\s]+$/.test(options.username)) throw new Error('squid test user name must be non-empty, without ":" or spaces');
  const directory = await mkdtemp(path.join(tmpdir(), 'tb-squid-'));
  try {
    await writePasswordFile(directory, options.username, options.password);
    await writeFile(path.join(directory, 'hosts'), ['localhost', ...(options.hostnames ?? [])].map((name) => `127.0.0.1 ${name}\n`).join(''));
    return await onFreePort((port) => launch(binary, directory, port, options.username));
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
}

interface Running {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
}

async function launch(binary: string, directory: string, port: number, username: string): Promise<Squid> {
  const configFile = path.join(directory, 'squid.conf');
  const accessLogFile = path.join(directory, 'access.log');
  const cacheLogFile = path.join(directory, 'cache.log');
  await writeFile(configFile, squidConfig(directory, port));
  await rm(cacheLogFile, { force: true });
  await rm(accessLogFile, { force: true });

  let output = '';
  let running: Running | undefined;
  // A crashed or interrupted test run must not leave squid behind.
  const killOnExit = (): void => {
    running?.child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const readCacheLog = () => readFile(cacheLogFile, 'utf8').catch(() => '(no cache.log)');

  // One squid process on `port`; kill() and start() run it again there (a restart keeps the logs).
  const run = async (): Promise<void> => {
    await handOver(directory);
    const { child, exited } = spawnWatched(binary, ['-N', '-f', configFile], (text) => (output += text));
    running = { child, exited };
    try {
      await waitForPort(port, child, exited);
    } catch (error) {
      const cacheLog = await readCacheLog();
      await terminate(child, exited, STOP_GRACE_MS);
      running = undefined;
      const details = `${error instanceof Error ? error.message : String(error)}\n--- squid output ---\n${output}\n--- cache.log ---\n${cacheLog}`;
      if (/Address already in use|Cannot open HTTP Port/i.test(cacheLog + output)) throw new PortTakenError(details);
      throw new Error(`squid did not start: ${details}`);
    }
  };

  const kill = async (): Promise<void> => {
    if (running === undefined) return;
    const { child, exited } = running;
    running = undefined;
    await terminate(child, exited, STOP_GRACE_MS);
  };

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await kill();
    process.removeListener('exit', killOnExit);
    await rm(directory, { recursive: true, force: true });
  };

  try {
    await run();
  } catch (error) {
    process.removeListener('exit', killOnExit);
    throw error;
  }

  const accessLog = async (): Promise<string[]> => {
    const text = await readFile(accessLogFile, 'utf8').catch(() => '');
    return text.split('\n').filter((line) => line.trim() !== '');
  };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    accessLog,
    async waitForAccessLine(match, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const lines = await accessLog();
        const line = lines.find(match);
        if (line !== undefined) return line;
        if (Date.now() > deadline) throw new Error(`no matching squid access.log line in ${timeoutMs} ms; log:\n${lines.join('\n')}`);
        await delay(100);
      }
    },
    cacheLog: readCacheLog,
    kill,
    async start(options = {}) {
      if (running !== undefined) throw new Error('squid is running: kill() it first');
      if (options.password !== undefined) await writePasswordFile(directory, username, options.password);
      await run();
    },
    stop,
  };
}

async function writePasswordFile(directory: string, username: string, password: string): Promise<void> {
  await writeFile(path.join(directory, 'passwd'), `${username}:${apr1Hash(password)}\n`);
}

function squidConfig(directory: string, port: number): string {
  const file = (name: string) => path.join(directory, name);
  return `# Written by test/support/squid.ts for one test run.
http_port 127.0.0.1:${port}
visible_hostname token-broker-test-squid
${process.getuid?.() === 0 ? 'cache_effective_user proxy\n' : ''}pid_filename ${file('squid.pid')}
access_log stdio:${file('access.log')}
cache_log ${file('cache.log')}
cache_store_log none
logfile_rotate 0
coredump_dir ${directory}
netdb_filename none
pinger_enable off
icp_port 0
htcp_port 0
max_filedescriptors 1024
shutdown_lifetime 0 seconds

# No disk cache; nothing is kept in memory either.
cache deny all
cache_mem 8 MB

# Names the test gives resolve here and nowhere else; any other lookup fails fast.
hosts_file ${file('hosts')}
dns_nameservers 127.0.0.1

auth_param basic program ${BASIC_AUTH_HELPER} ${file('passwd')}
auth_param basic children 2
auth_param basic realm token-broker test proxy
acl authenticated proxy_auth REQUIRED
acl CONNECT method CONNECT
acl loopback_target dst 127.0.0.0/8 ::1
acl localhost_name dstdomain localhost

# Anyone without valid credentials gets 407; authenticated users may tunnel to this machine only.
http_access deny !authenticated
http_access allow CONNECT loopback_target authenticated
http_access allow CONNECT localhost_name authenticated
http_access deny all
`;
}

/** squid drops root for cache_effective_user (proxy): it must read the config and write the logs. */
async function handOver(directory: string): Promise<void> {
  const proxyUser = process.getuid?.() === 0 ? systemUser('proxy') : undefined;
  if (proxyUser === undefined) return;
  for (const name of ['', 'passwd', 'hosts', 'squid.conf']) {
    await chown(path.join(directory, name), proxyUser.uid, proxyUser.gid);
  }
  await chmod(path.join(directory, 'passwd'), 0o600);
}

function systemUser(name: string): { uid: number; gid: number } | undefined {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith(`${name}:`));
  const fields = line?.split(':');
  if (fields?.[2] === undefined || fields[3] === undefined) return undefined;
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

/** An Apache MD5 (apr1) hash, the format basic_ncsa_auth reads; the password goes over stdin, never argv. */
function apr1Hash(password: string): string {
  const openssl = findSystemBinary('openssl');
  if (openssl === undefined) throw new Error('openssl is not installed: run scripts/install-test-deps.sh');
  return execFileSync(openssl, ['passwd', '-apr1', '-stdin'], { input: `${password}\n`, encoding: 'utf8' }).trim();
}


async function waitForPort(port: number, child: ChildProcess, exited: Promise<void>): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let hasExited = false;
  void exited.then(() => (hasExited = true));
  while (Date.now() < deadline) {
    if (hasExited) throw new Error(`squid exited with ${String(child.exitCode ?? child.signalCode)} before listening on port ${port}`);
    if (await accepts(port)) return;
    await delay(50);
  }
  throw new Error(`squid did not listen on 127.0.0.1:${port} within ${START_TIMEOUT_MS} ms`);
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(500);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}
