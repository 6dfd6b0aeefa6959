// A private Dante SOCKS5 server per test run (Debian dante-server): its own
// config and log in a mkdtemp folder, on 127.0.0.1 and a free port, stopped by pid.
// Dante's `username` method checks system users, so the tests do not create
// one: `username` mode proves the broker offers credentials and names a
// refusal; `none` mode carries the token requests.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { requireSystemBinary } from './system-binary.js';
import { terminate } from './child-process.js';
import { onFreePort, PortTakenError } from './ports.js';

/** Looked up once; tests pass `{ skip: danteBinary.skip }` (see system-binary.ts). */
export const danteBinary = requireSystemBinary('danted');

const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;
const LOG_POLL_MS = 50;

export interface DanteOptions {
  /** none: any client; username: RFC 1929 username/password, checked against system users. */
  readonly method: 'none' | 'username';
}

export interface Dante {
  /** socks5://127.0.0.1:PORT (a broker config's proxies.NAME.url). */
  readonly url: string;
  readonly port: number;
  log(): Promise<string>;
  /** Polls Dante's log until a line matches. */
  waitForLogLine(match: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  /** SIGTERM, then SIGKILL after a grace period; removes the temp folder. Safe to call twice. */
  stop(): Promise<void>;
}

export async function startDante(options: DanteOptions): Promise<Dante> {
  const binary = danteBinary.path();
  const directory = await mkdtemp(path.join(tmpdir(), 'tb-dante-'));
  try {
    return await onFreePort((port) => launch(binary, directory, port, options));
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
}

function danteConfig(logFile: string, port: number, method: DanteOptions['method']): string {
  // `log: connect` writes one line per tunnel with its target, which is the proof a test waits for.
  return `logoutput: ${logFile}
internal: 127.0.0.1 port = ${port}
external: 127.0.0.1
clientmethod: none
socksmethod: ${method}
client pass {
  from: 127.0.0.0/8 to: 0.0.0.0/0
  log: error connect
}
socks pass {
  from: 127.0.0.0/8 to: 0.0.0.0/0
  command: connect
  log: error connect
}
`;
}

async function launch(binary: string, directory: string, port: number, options: DanteOptions): Promise<Dante> {
  const configFile = path.join(directory, 'danted.conf');
  const logFile = path.join(directory, 'danted.log');
  const pidFile = path.join(directory, 'danted.pid');
  await writeFile(configFile, danteConfig(logFile, port, options.method));
  // -N 1: one worker of each kind, enough for a test and light on a shared machine.
  const child: ChildProcess = spawn(binary, ['-f', configFile, '-p', pidFile, '-N', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (error) => {
      output += `${error.message}\n`;
      resolve();
    });
  });
  // A crashed or interrupted test run must not leave danted behind.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const readLog = () => readFile(logFile, 'utf8').catch(() => '');

  const deadline = Date.now() + START_TIMEOUT_MS;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await terminate(child, exited, STOP_GRACE_MS);
    process.removeListener('exit', killOnExit);
    await rm(directory, { recursive: true, force: true });
  };
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const log = await readLog();
      await stop();
      if (/Address already in use/i.test(log + output)) throw new PortTakenError(`port ${port} taken`);
      throw new Error(`danted exited before listening:\n${output}\n${log}`);
    }
    // danted gives no readiness signal (no sd_notify, no pid-file-after-bind): polling its port, bounded, is the only condition there is.
    if (await accepts(port)) break;
    if (Date.now() > deadline) {
      const log = await readLog();
      await stop();
      throw new Error(`danted did not listen on 127.0.0.1:${port} within ${START_TIMEOUT_MS} ms:\n${output}\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, LOG_POLL_MS));
  }

  return {
    url: `socks5://127.0.0.1:${port}`,
    port,
    log: readLog,
    async waitForLogLine(match, timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs;
      // danted writes its log to a file, which offers no event per line: re-read it, bounded, until the line is there.
      for (;;) {
        const line = (await readLog()).split('\n').find(match);
        if (line !== undefined) return line;
        if (Date.now() > until) throw new Error(`no matching line in danted's log within ${timeoutMs} ms:\n${await readLog()}`);
        await new Promise((resolve) => setTimeout(resolve, LOG_POLL_MS));
      }
    },
    stop,
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
