// Starting a server a test runs (its output collected, its end awaited) and
// stopping it: SIGTERM, then SIGKILL after a grace period.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

export interface WatchedProcess {
  readonly child: ChildProcess;
  /** Resolves when the process has exited, or could not start (the error goes to `onOutput`). */
  readonly exited: Promise<void>;
}

/** Spawns `binary` with `args`; stdout, stderr and a spawn error go to `onOutput`. */
export function spawnWatched(binary: string, args: readonly string[], onOutput: (text: string) => void): WatchedProcess {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => onOutput(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => onOutput(chunk.toString()));
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (error) => {
      onOutput(`${error.message}\n`);
      resolve();
    });
  });
  return { child, exited };
}

export async function terminate(child: ChildProcess, exited: Promise<void>, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  // A paused (SIGSTOP) server would not act on SIGTERM until continued.
  child.kill('SIGCONT');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
