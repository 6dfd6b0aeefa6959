// What a leak would show from outside a process: resident memory, open file
// descriptors (sockets among them) and threads, read from /proc.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface ProcessState {
  readonly rssMb: number;
  /** VmHWM: the peak RSS since the process started. */
  readonly peakMb: number;
  readonly fileDescriptors: number;
  readonly sockets: number;
  readonly threads: number;
}

export function readProcessState(pid: number): ProcessState {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  const descriptors = readdirSync(`/proc/${pid}/fd`);
  let sockets = 0;
  for (const fd of descriptors) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) sockets++;
    } catch {
      // Closed between the listing and the readlink: not open any more.
    }
  }
  return { rssMb: field('VmRSS') / 1024, peakMb: field('VmHWM') / 1024, fileDescriptors: descriptors.length, sockets, threads: field('Threads') };
}

export function describeState(state: ProcessState): string {
  return `RSS ${state.rssMb.toFixed(0)} MB, ${state.fileDescriptors} fds (${state.sockets} sockets), ${state.threads} threads`;
}

const TCP_STATES: Record<string, string> = { '01': 'ESTABLISHED', '02': 'SYN_SENT', '06': 'TIME_WAIT', '07': 'CLOSE', '08': 'CLOSE_WAIT', '0A': 'LISTEN', '04': 'FIN_WAIT1', '05': 'FIN_WAIT2', '09': 'LAST_ACK' };

/** The process's sockets by kind: unix, and TCP by remote port and state (e.g. "tcp :8443 ESTABLISHED 4"), to tell a pool from a leak. */
export function describeSockets(pid: number): string {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match?.[1] !== undefined) inodes.add(match[1]);
    } catch {
      // closed meanwhile
    }
  }
  const kinds = new Map<string, number>();
  const add = (kind: string): void => void kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  for (const table of ['tcp', 'tcp6']) {
    for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const inode = fields[9];
      if (inode === undefined || !inodes.delete(inode)) continue;
      const remotePort = parseInt(fields[2]?.split(':')[1] ?? '0', 16);
      add(`tcp :${remotePort} ${TCP_STATES[fields[3] ?? ''] ?? fields[3]}`);
    }
  }
  for (const line of readFileSync(`/proc/${pid}/net/unix`, 'utf8').split('\n').slice(1)) {
    const inode = line.trim().split(/\s+/)[6];
    if (inode !== undefined && inodes.delete(inode)) add('unix');
  }
  if (inodes.size > 0) kinds.set('other', inodes.size);
  return [...kinds].map(([kind, count]) => `${kind} x${count}`).join(', ');
}
