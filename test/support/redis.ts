// A private redis-server per test suite: no persistence unless asked for, loopback only, in a
// mkdtemp folder with its own config file (so a password never shows in `ps`).
import type { ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { requireSystemBinary } from './system-binary.js';
import { delay, spawnWatched, terminate } from './child-process.js';
import { onFreePort, PortTakenError } from './ports.js';

/** Looked up once; suites pass `redisServerBinary.skip` to describe() (see system-binary.ts). */
export const redisServerBinary = requireSystemBinary('redis-server');

const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;

export interface RedisOptions {
  /** Sets `requirepass`: clients must AUTH with it. */
  readonly password?: string;
  /**
   * Keeps the data across kill() and start(), as a production redis with an
   * append-only file does (every write fsynced): a restart is then an outage,
   * not a loss of every record.
   */
  readonly persistent?: boolean;
}

export interface RedisServer {
  readonly port: number;
  /** redis://127.0.0.1:PORT/0, without the password. */
  readonly url: string;
  /** redis://:PASSWORD@127.0.0.1:PORT/0 when a password is set, else `url`. */
  readonly urlWithPassword: string;
  /** Output so far (redis logs to stdout here). */
  output(): string;
  /** SIGSTOP: the server keeps its connections but answers nothing (a hung redis). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** Stops the process but keeps folder and port, so `start()` brings the server back on the same URL (empty unless persistent). */
  kill(): Promise<void>;
  /** Starts again on the same port after kill(). */
  start(): Promise<void>;
  /** SIGTERM, then SIGKILL after a grace period; removes the temp folder. Safe to call twice. */
  stop(): Promise<void>;
}

export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const binary = redisServerBinary.path();
  const directory = await mkdtemp(path.join(tmpdir(), 'tb-redis-'));
  try {
    return await onFreePort((port) => supervise(binary, directory, port, options));
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
}

interface Running {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
}

async function supervise(binary: string, directory: string, port: number, options: RedisOptions): Promise<RedisServer> {
  const configFile = path.join(directory, 'redis.conf');
  await writeFile(configFile, redisConfig(directory, port, options.password, options.persistent === true), { mode: 0o600 });
  await chmod(configFile, 0o600);
  let output = '';
  let running: Running | undefined;
  // A crashed or interrupted test run must not leave redis behind.
  const killOnExit = (): void => {
    running?.child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const launch = async (): Promise<void> => {
    const { child, exited } = spawnWatched(binary, [configFile], (text) => (output += text));
    running = { child, exited };
    try {
      await waitForPong(port, options.password, child, exited);
    } catch (error) {
      await terminate(child, exited, STOP_GRACE_MS);
      running = undefined;
      const details = `${error instanceof Error ? error.message : String(error)}\n--- redis-server output ---\n${output}`;
      if (/Address already in use/i.test(output)) throw new PortTakenError(details);
      throw new Error(`redis-server did not start: ${details}`);
    }
  };

  const kill = async (): Promise<void> => {
    if (running === undefined) return;
    const { child, exited } = running;
    running = undefined;
    await terminate(child, exited, STOP_GRACE_MS);
  };

  try {
    await launch();
  } catch (error) {
    process.removeListener('exit', killOnExit);
    throw error;
  }

  let stopped = false;
  const url = `redis://127.0.0.1:${port}/0`;
  return {
    port,
    url,
    urlWithPassword: options.password === undefined ? url : `redis://:${encodeURIComponent(options.password)}@127.0.0.1:${port}/0`,
    output: () => output,
    pause: () => running?.child.kill('SIGSTOP'),
    resume: () => running?.child.kill('SIGCONT'),
    kill,
    start: launch,
    async stop() {
      if (stopped) return;
      stopped = true;
      await kill();
      process.removeListener('exit', killOnExit);
      await rm(directory, { recursive: true, force: true });
    },
  };
}

function redisConfig(directory: string, port: number, password: string | undefined, persistent: boolean): string {
  return `# Written by test/support/redis.ts for one test run.
port ${port}
bind 127.0.0.1
protected-mode yes
daemonize no
dir "${directory}"
save ""
${persistent ? 'appendonly yes\nappendfsync always' : 'appendonly no'}
logfile ""
loglevel notice
${password === undefined ? '' : `requirepass "${password.replace(/["\\]/g, '\\$&')}"\n`}`;
}


async function waitForPong(port: number, password: string | undefined, child: ChildProcess, exited: Promise<void>): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let hasExited = false;
  void exited.then(() => (hasExited = true));
  while (Date.now() < deadline) {
    if (hasExited) throw new Error(`redis-server exited with ${String(child.exitCode ?? child.signalCode)} before answering PING on port ${port}`);
    if (await answersPing(port, password)) return;
    await delay(50);
  }
  throw new Error(`redis-server did not answer PING on 127.0.0.1:${port} within ${START_TIMEOUT_MS} ms`);
}

/** Speaks RESP directly, so the harness does not depend on the client library under test. */
function answersPing(port: number, password: string | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(1_000);
    let received = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => {
      const auth = password === undefined ? '' : resp('AUTH', password);
      socket.write(auth + resp('PING'));
    });
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString();
      if (received.includes('+PONG\r\n')) done(true);
      else if (received.startsWith('-') && received.includes('\r\n')) done(false);
    });
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

function resp(...args: string[]): string {
  return `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`;
}
