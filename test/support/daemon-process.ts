// Runs the real `token-broker` binary (dist/src/cli/main.js) as a child
// process, as ops and CI would, and waits for its socket to answer.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { credentials, makeClientConstructor } from '@grpc/grpc-js';
import type { Client, ServiceError } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';

export const CLI_PATH = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs one CLI command to completion; `input`, when given, is written to its stdin (then closed). */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000, input?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], {
      env: { ...process.env, ...env },
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    if (input !== undefined) child.stdin?.end(input);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`token-broker ${args.join(' ')} did not finish in ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface InteractiveCli {
  /** Resolves with the match once stdout contains `pattern`. */
  waitForStdout(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the match once stderr (progress, warnings) contains `pattern`. */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  write(text: string): void;
  readonly exit: Promise<CliResult>;
}

/** Starts a CLI command that the test talks to through stdin/stdout, as an operator would. */
export function startCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): InteractiveCli {
  const child = spawn(process.execPath, [CLI_PATH, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  const waiters: (() => void)[] = [];
  const received = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
    output[stream] += chunk.toString();
    for (const waiter of waiters.splice(0)) waiter();
  };
  child.stdout.on('data', received('stdout'));
  child.stderr.on('data', received('stderr'));
  const exit = new Promise<CliResult>((resolve) => child.on('close', (code) => resolve({ code, ...output })));
  const waitFor = (stream: 'stdout' | 'stderr', pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`token-broker ${args.join(' ')}: no ${String(pattern)} on ${stream} within ${timeoutMs} ms\nstdout: ${output.stdout}\nstderr: ${output.stderr}`));
      }, timeoutMs);
      const check = (): void => {
        const match = pattern.exec(output[stream]);
        if (match !== null) {
          clearTimeout(timer);
          resolve(match);
        } else if (child.exitCode !== null) {
          clearTimeout(timer);
          reject(new Error(`token-broker ${args.join(' ')} exited (${child.exitCode}) before printing ${String(pattern)}\nstdout: ${output.stdout}\nstderr: ${output.stderr}`));
        } else {
          waiters.push(check);
        }
      };
      check();
    });
  return {
    exit,
    write: (text) => child.stdin.write(text),
    waitForStdout: (pattern, timeoutMs = 60_000) => waitFor('stdout', pattern, timeoutMs),
    waitForStderr: (pattern, timeoutMs = 60_000) => waitFor('stderr', pattern, timeoutMs),
  };
}

export interface DaemonProcess {
  readonly child: ChildProcess;
  readonly stderr: () => string;
  /** What it printed on stdout (nothing, normally: its log goes to stderr). */
  readonly stdout: () => string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `token-broker serve --config FILE [serveArgs]` and resolves once its health service answers SERVING. */
export async function startDaemonProcess(
  configFile: string,
  address: string,
  env: NodeJS.ProcessEnv = {},
  serveArgs: readonly string[] = [],
): Promise<DaemonProcess> {
  const child = spawn(process.execPath, [CLI_PATH, 'serve', '--config', configFile, '--log-level', 'debug', ...serveArgs], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = waitForServing(address, 60_000);
  const early = exited.then((code) => {
    throw new Error(`token-broker serve exited with ${String(code)} before serving:\n${stderr}`);
  });
  await Promise.race([ready, early]);
  return {
    child,
    stderr: () => stderr,
    stdout: () => stdout,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      return exited;
    },
  };
}

const HealthClient = makeClientConstructor(healthService, 'grpc.health.v1.Health');

export function healthCheck(address: string, service = ''): Promise<string> {
  const client = new HealthClient(address, credentials.createInsecure()) as unknown as Client & {
    check(request: { service: string }, options: { deadline: Date }, callback: (error: ServiceError | null, response?: { status: string | number }) => void): void;
  };
  return new Promise((resolve, reject) => {
    client.check({ service }, { deadline: new Date(Date.now() + 2_000) }, (error, response) => {
      client.close();
      if (error !== null) reject(error);
      else resolve(String(response?.status));
    });
  });
}

async function waitForServing(address: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const status = await healthCheck(address);
      if (status === 'SERVING' || status === '1') return;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no SERVING answer from ${address} within ${timeoutMs} ms: ${String(lastError)}`);
}
