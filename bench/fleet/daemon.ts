// The real `token-broker serve` as a child process, watched from outside:
// health (grpc.health.v1), resident memory (/proc/PID/status), mailbox states
// (ListMailboxes). Nothing here needs a hook in the daemon.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { TokenBrokerClient } from '../../src/client/index.js';
import { CLI_PATH, healthCheck } from '../../test/support/daemon-process.js';
import type { Fleet } from './fleet.js';
import { onEmergency } from './fleet.js';

export interface FleetDaemon {
  readonly child: ChildProcess;
  /** performance.now() just before spawn. */
  readonly spawnedAt: number;
  /** Resolves with performance.now() at the first SERVING answer; rejects if the daemon exits or the timeout passes. */
  readonly serving: Promise<number>;
  /** VmRSS and VmHWM (peak) in MB, from /proc. */
  memory(): { rssMb: number; peakMb: number };
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once exited. */
  stop(graceMs?: number): Promise<void>;
}

export function spawnDaemon(fleet: Fleet, servingTimeoutMs = 120_000): FleetDaemon {
  const spawnedAt = performance.now();
  // warn: the log of 10,000 mailboxes at info/debug would measure pino, not the broker.
  const child = spawn(process.execPath, [CLI_PATH, 'serve', '--config', fleet.configFile, '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const forget = onEmergency(() => child.kill('SIGKILL'));
  let stderr = '';
  // Only the tail is kept, to say why the daemon stopped if it does.
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-8_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const serving = (async () => {
    const deadline = spawnedAt + servingTimeoutMs;
    while (performance.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`token-broker serve exited (${String(child.exitCode ?? child.signalCode)}) before SERVING:\n${stderr}`);
      const status = await healthCheck(fleet.address).catch(() => 'unreachable');
      if (status === 'SERVING' || status === '1') return performance.now();
      await sleep(20);
    }
    throw new Error(`no SERVING from ${fleet.address} within ${servingTimeoutMs} ms:\n${stderr}`);
  })();
  serving.catch(() => undefined); // the caller awaits it; this only keeps an early rejection from being "unhandled"
  return {
    child,
    spawnedAt,
    serving,
    memory() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
      return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
    },
    async stop(graceMs = 30_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      forget();
    },
  };
}

/**
 * Waits until every mailbox is READY and resolves with performance.now() of
 * the answer that said so. ListMailboxes of 10,000 is not free, so it is
 * asked only once the sandbox has answered `answersFirst` token requests.
 */
export async function waitAllReady(fleet: Fleet, timeoutMs: number, answersFirst = fleet.lines): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  const client = new TokenBrokerClient({ address: fleet.address, deadlineMs: 30_000 });
  try {
    while (fleet.answers.length < answersFirst && performance.now() < deadline) await sleep(50);
    let ready = 0;
    while (performance.now() < deadline) {
      const statuses = await client.listMailboxes();
      ready = statuses.filter((status) => status.state === 'READY').length;
      if (ready === fleet.mailboxes.length) return performance.now();
      await sleep(250);
    }
    throw new Error(`${ready} of ${fleet.mailboxes.length} mailboxes READY after ${timeoutMs} ms (${fleet.sandbox.stats.total} token requests)`);
  } finally {
    client.close();
  }
}

export interface ColdStart {
  readonly daemon: FleetDaemon;
  /** ms from spawn to SERVING and to all READY. */
  readonly servingMs: number;
  readonly readyMs: number;
}

/** Spawns the daemon on an empty store and waits until every mailbox is READY. The caller stops the daemon. */
export async function coldStart(fleet: Fleet): Promise<ColdStart> {
  const daemon = spawnDaemon(fleet);
  try {
    const servingAt = await daemon.serving;
    const readyAt = await waitAllReady(fleet, fleet.options.coldTimeoutSeconds * 1000);
    return { daemon, servingMs: servingAt - daemon.spawnedAt, readyMs: readyAt - daemon.spawnedAt };
  } catch (error) {
    await daemon.stop(1_000);
    throw error;
  }
}

/** Waits `ms` and says whether the sandbox stayed quiet meanwhile: a late or repeated token request would show. */
export async function quietFor(fleet: Fleet, ms: number): Promise<number> {
  const before = fleet.sandbox.stats.total;
  await sleep(ms);
  return fleet.sandbox.stats.total - before;
}
