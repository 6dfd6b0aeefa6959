// The audit log's writer: one line per token handed out, authorization and
// admin call (audit-chain.ts), appended to a file or written to stdout as a
// stream of its own (the broker's log goes to stderr). Recording is
// synchronous and cheap (two SHA-256 of a few hundred bytes) and never waits
// on the disk: lines go to a SonicBoom stream (pino's own writer, a
// dependency already), which appends in the background and can reopen the
// path after logrotate moved the file. A crash can lose the lines of the
// last moment; it cannot make the chain lie about them.
import { open } from 'node:fs/promises';
import pino from 'pino';
import type { Logger } from 'pino';
import { BrokerError } from '../errors/index.js';
import type { Clock } from '../time/index.js';
import { formatLine, GENESIS, hashLine } from './audit-chain.js';
import type { AuditEvent } from './audit-chain.js';

/** Where the chain stands: the next line's seq and prev. */
interface ChainPosition {
  readonly seq: number;
  readonly prev: string;
}

type Destination = ReturnType<typeof pino.destination>;

/** How much of an existing file's end is read to find its last line; audit lines are far shorter. */
const TAIL_BYTES = 64 * 1024;

export interface AuditTarget {
  /** Append to this file (created 0600 when absent). */
  readonly file?: string;
  /** Write to stdout instead. */
  readonly stdout?: boolean;
}

export class AuditLog {
  readonly #destination: Destination;
  readonly #clock: Clock;
  readonly #describe: string;
  #seq: number;
  #prev: string;
  /** Settles once a reopen() has opened the new file (or failed to). */
  #reopened: Promise<void> = Promise.resolve();

  private constructor(destination: Destination, position: ChainPosition, clock: Clock, describe: string, logger: Logger | undefined) {
    this.#destination = destination;
    // A failed write (disk full, file removed, stdout closed) must not end the daemon: SonicBoom emits 'error',
    // which would throw without a listener. The lines of that write are lost; verify shows the gap in seq.
    destination.on('error', (error: Error) => logger?.error({ audit: describe, err: error.message }, `cannot write the audit log ${describe}: lines are lost until it can be written again (free space, check permissions; token-broker audit verify shows the gap)`));
    this.#seq = position.seq;
    this.#prev = position.prev;
    this.#clock = clock;
    this.#describe = describe;
  }

  /** Opens the log; an existing file's chain is continued from its last line. Throws BrokerError when the file cannot be read or opened. */
  static async open(target: AuditTarget, clock: Clock, logger?: Logger): Promise<AuditLog> {
    if (target.stdout === true) return new AuditLog(pino.destination({ dest: 1, sync: false }), { seq: 1, prev: GENESIS }, clock, 'stdout', logger);
    const file = target.file;
    if (file === undefined) throw new Error('AuditLog.open: neither file nor stdout');
    const position = await lastPosition(file);
    const destination = pino.destination({ dest: file, sync: false, append: true, mkdir: true, mode: 0o600 });
    await new Promise<void>((resolve, reject) => {
      destination.once('ready', () => resolve());
      destination.once('error', (error: Error) =>
        reject(new BrokerError(`cannot open the audit log ${file} (${error.message}); check audit.file and that the broker's user may write there.`, { code: 'config_invalid', permanent: true })),
      );
    });
    return new AuditLog(destination, position, clock, file, logger);
  }

  get description(): string {
    return this.#describe;
  }

  /** Appends one line for `event`. Never throws and never waits: the stream writes it in the background. */
  record(event: AuditEvent): void {
    const text = formatLine({ ...event, seq: this.#seq, time: new Date(this.#clock.now()).toISOString(), prev: this.#prev });
    this.#seq += 1;
    this.#prev = hashLine(text);
    this.#destination.write(`${text}\n`);
  }

  /** After logrotate moved the file: later lines go to a new file at the same path; the chain goes on across the two. */
  reopen(): void {
    if (this.#describe === 'stdout') return;
    // SonicBoom (4.2) defers a reopen asked for during a write, and an end() that comes before the deferred
    // reopen runs cancels it and never closes: close() waits for the reopen to be done first.
    this.#reopened = new Promise<void>((resolve) => {
      const done = (): void => {
        this.#destination.off('ready', done);
        this.#destination.off('error', done);
        resolve();
      };
      this.#destination.once('ready', done);
      this.#destination.once('error', done);
    });
    this.#destination.reopen();
  }

  /** Writes what is buffered and closes the file (stdout is flushed and stays open). */
  async close(): Promise<void> {
    if (this.#describe === 'stdout') {
      await new Promise<void>((resolve) => this.#destination.flush(() => resolve()));
      return;
    }
    await this.#reopened;
    // end() writes the buffer before closing; 'close' follows.
    await new Promise<void>((resolve) => {
      this.#destination.once('close', () => resolve());
      this.#destination.end();
    });
  }
}

/** The chain position after the last line of `file`; the start of a chain when it is absent or empty. */
async function lastPosition(file: string): Promise<ChainPosition> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { seq: 1, prev: GENESIS };
    throw new BrokerError(`cannot read the audit log ${file} to continue its chain (${(error as Error).message}); check audit.file and its permissions.`, { code: 'config_invalid', permanent: true });
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const lines = buffer.toString('utf8').split('\n').filter((line) => line !== '');
    const last = lines.at(-1);
    if (last === undefined) return { seq: 1, prev: GENESIS };
    let seq: unknown;
    try {
      seq = (JSON.parse(last) as { seq?: unknown }).seq;
    } catch {
      seq = undefined;
    }
    // A torn last line (power loss mid-write) is chained to as it is: verify then shows exactly where the damage is.
    return { seq: typeof seq === 'number' && Number.isSafeInteger(seq) ? seq + 1 : lines.length + 1, prev: hashLine(last) };
  } finally {
    await handle.close();
  }
}
