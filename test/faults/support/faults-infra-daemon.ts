// The real daemon under a fault: started, SIGKILLed and restarted on the same
// config and store, each start a new generation, and any exit the test did
// not cause recorded (a fault must never make the broker exit by itself).
import { TokenBrokerClient } from '../../../src/client/index.js';
import { startDaemonProcess } from '../../support/daemon-process.js';
import type { DaemonProcess } from '../../support/daemon-process.js';

export class SupervisedDaemon {
  /** 1 for the first start, +1 for every restart; 0 before the first. */
  generation = 0;
  readonly unexpectedExits: string[] = [];
  /** stderr of every generation so far, the running one last. */
  readonly logs: (() => string)[] = [];
  readonly #configFile: string;
  readonly #address: string;
  readonly #label: string;
  #daemon: DaemonProcess | undefined;
  #client: TokenBrokerClient | undefined;
  #killing = false;

  constructor(label: string, configFile: string, address: string) {
    this.#label = label;
    this.#configFile = configFile;
    this.#address = address;
  }

  get client(): TokenBrokerClient {
    if (this.#client === undefined) throw new Error(`daemon ${this.#label} is not running`);
    return this.#client;
  }

  /** The client while the daemon runs, else none: what a connector's calls can reach at this moment. */
  get clients(): TokenBrokerClient[] {
    return this.#client === undefined ? [] : [this.#client];
  }

  get pid(): number | undefined {
    return this.#daemon?.child.pid;
  }

  get running(): boolean {
    return this.#daemon !== undefined && this.#daemon.child.exitCode === null && this.#daemon.child.signalCode === null;
  }

  async start(): Promise<void> {
    this.generation++;
    const generation = this.generation;
    const daemon = await startDaemonProcess(this.#configFile, this.#address);
    daemon.child.once('exit', (code, signal) => {
      if (this.#killing) return;
      this.unexpectedExits.push(`daemon ${this.#label} (generation ${generation}) exited by itself: code ${String(code)}, signal ${String(signal)}\n${daemon.stderr().slice(-4_000)}`);
    });
    this.#daemon = daemon;
    this.logs.push(() => daemon.stderr());
    this.#client = new TokenBrokerClient({ address: this.#address, deadlineMs: 20_000 });
  }

  /** SIGKILL, as the OOM killer or a power cut would; resolves once the process is gone. */
  async kill(): Promise<void> {
    const daemon = this.#daemon;
    this.#client?.close();
    this.#client = undefined;
    if (daemon === undefined || !this.running) return;
    this.#killing = true;
    try {
      const exited = new Promise((resolve) => daemon.child.once('exit', resolve));
      daemon.child.kill('SIGKILL');
      await exited;
    } finally {
      this.#killing = false;
    }
  }

  /** SIGTERM at the end of a test; its exit is expected. */
  async stop(): Promise<void> {
    this.#client?.close();
    this.#client = undefined;
    this.#killing = true;
    await this.#daemon?.stop();
  }

  /** The log of one generation (1 = the first start). */
  log(generation: number): string {
    return this.logs[generation - 1]?.() ?? '';
  }

  /** Every generation's log, joined. */
  allLogs(): string {
    return this.logs.map((log) => log()).join('\n');
  }
}
