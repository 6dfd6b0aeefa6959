// A private squid per test run, with basic authentication: the real proxy
// ops put in front of the broker, in a mkdtemp folder with its own config, logs and hosts file.
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmod, chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findSystemBinary, requireSystemBinary } from './system-binary.js';
import { delay, terminate } from './child-process.js';
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
  /** SIGTERM, then SIGKILL after a grace period; removes the temp folder. Safe to call twice. */
  stop(): Promise<void>;
}

export async function startSquid(options: SquidOptions): Promise<Squid> {
  const binary = squidBinary.path();
  if (!/^[^:\s]+$/.test(options.username)) throw new Error('squid test user name must be non-empty, without ":" or spaces');
  const directory = await mkdtemp(path.join(tmpdir(), 'tb-squid-'));
  try {
    await writeFile(path.join(directory, 'passwd'), `${options.username}:${apr1Hash(options.password)}\n`);
    await writeFile(path.join(directory, 'hosts'), ['localhost', ...(options.hostnames ?? [])].map((name) => `127.0.0.1 ${name}\n`).join(''));
    return await onFreePort((port) => launch(binary, directory, port));
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
}

async function launch(binary: string, directory: string, port: number): Promise<Squid> {
  const configFile = path.join(directory, 'squid.conf');
  const accessLogFile = path.join(directory, 'access.log');
  const cacheLogFile = path.join(directory, 'cache.log');
  await writeFile(configFile, squidConfig(directory, port));
  await rm(cacheLogFile, { force: true });
  await rm(accessLogFile, { force: true });
  await handOver(directory);

  const child = spawn(binary, ['-N', '-f', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (error) => {
      output += `${error.message}\n`;
      resolve();
    });
  });
  // A crashed or interrupted test run must not leave squid behind.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const readCacheLog = () => readFile(cacheLogFile, 'utf8').catch(() => '(no cache.log)');

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', killOnExit);
    await terminate(child, exited, STOP_GRACE_MS);
    await rm(directory, { recursive: true, force: true });
  };

  try {
    await waitForPort(port, child, exited);
  } catch (error) {
    const cacheLog = await readCacheLog();
    process.removeListener('exit', killOnExit);
    await terminate(child, exited, STOP_GRACE_MS);
    const details = `${error instanceof Error ? error.message : String(error)}\n--- squid output ---\n${output}\n--- cache.log ---\n${cacheLog}`;
    if (/Address already in use|Cannot open HTTP Port/i.test(cacheLog + output)) throw new PortTakenError(details);
    throw new Error(`squid did not start: ${details}`);
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
    stop,
  };
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
