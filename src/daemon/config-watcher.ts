// Reloads when the config file's content changes. Watches the file's folder,
// not the file: editors and config managers often write a new file and rename
// it over the old one, which a watch on the old inode would never see. Events
// are debounced, and a save that leaves the content as it was (a touch, an
// editor's :w) reloads nothing. A config file that is a symbolic link (a
// Kubernetes ConfigMap: broker.yaml -> ..data/broker.yaml, where ..data is
// swapped by a rename) changes without an event naming it: then every event
// in the folder leads to a content check.
import { createHash } from 'node:crypto';
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { lstat, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { systemScheduler } from '../time/index.js';
import type { ScheduledTimer, Scheduler } from '../time/index.js';

export const CONFIG_WATCH_DEBOUNCE_MS = 300;

export interface ConfigWatcherOptions {
  readonly file: string;
  readonly logger: Logger;
  /** Called once the content has changed and the folder has been quiet for the debounce time. */
  readonly onChange: () => Promise<unknown>;
  readonly debounceMs?: number;
  /** Runs the debounce timer; default real time. */
  readonly scheduler?: Scheduler;
}

export class ConfigFileWatcher {
  readonly #options: ConfigWatcherOptions;
  readonly #name: string;
  #watcher: FSWatcher | undefined;
  #timer: ScheduledTimer | undefined;
  #lastDigest: string | undefined;
  /** The config file is a symbolic link: its target can change under another name. */
  #followsLink = false;
  /** The check in progress: stop() waits for it. */
  #checking: Promise<void> = Promise.resolve();
  #stopped = false;

  private constructor(options: ConfigWatcherOptions) {
    this.#options = options;
    this.#name = path.basename(options.file);
  }

  /** Starts watching; the content now is the baseline a change is measured against. */
  static async start(options: ConfigWatcherOptions): Promise<ConfigFileWatcher> {
    const watcher = new ConfigFileWatcher(options);
    watcher.#lastDigest = await digestOf(options.file);
    watcher.#followsLink = await lstat(options.file).then(
      (stats) => stats.isSymbolicLink(),
      () => false,
    );
    watcher.#watch();
    return watcher;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#timer?.stop();
    this.#watcher?.close();
    this.#watcher = undefined;
    await this.#checking;
  }

  #watch(): void {
    const directory = path.dirname(this.#options.file);
    try {
      // Not persistent: the watch alone never keeps the daemon alive.
      this.#watcher = watch(directory, { persistent: false }, (_event, filename) => {
        // Some platforms give no name: then any event in the folder may be ours.
        if (filename === null || filename === this.#name || this.#followsLink) this.#schedule();
      });
    } catch (error) {
      this.#options.logger.warn(
        { config: this.#options.file, err: error },
        `cannot watch ${directory} for changes of the config file; reload with SIGHUP (systemctl reload token-broker) or token-broker reload`,
      );
      return;
    }
    this.#watcher.on('error', (error) => {
      this.#options.logger.warn(
        { config: this.#options.file, err: error },
        `watching ${directory} failed; config changes are no longer picked up by themselves: reload with SIGHUP (systemctl reload token-broker) or token-broker reload`,
      );
      this.#watcher?.close();
      this.#watcher = undefined;
    });
    this.#options.logger.debug({ config: this.#options.file }, `watching ${directory} for changes of ${this.#name}`);
  }

  #schedule(): void {
    if (this.#stopped) return;
    void this.#timer?.stop();
    this.#timer = (this.#options.scheduler ?? systemScheduler).after(this.#options.debounceMs ?? CONFIG_WATCH_DEBOUNCE_MS, () => {
      this.#timer = undefined;
      this.#checking = this.#checking
        .then(() => this.#check())
        .catch((error: unknown) => this.#options.logger.error({ config: this.#options.file, err: error }, 'checking the config file for changes failed'));
    });
  }

  async #check(): Promise<void> {
    if (this.#stopped) return;
    const digest = await digestOf(this.#options.file);
    if (digest === this.#lastDigest) {
      this.#options.logger.debug({ config: this.#options.file }, 'config file written without a change of content; not reloading');
      return;
    }
    // Remembered before reloading: a broken edit is not retried until the file changes again.
    this.#lastDigest = digest;
    this.#options.logger.info({ config: this.#options.file, trigger: 'file' }, 'the config file changed; reloading');
    await this.#options.onChange();
  }
}

/** The content's SHA-256; an unreadable file (mid-rename, removed) gets a digest of its own, so it reloads (and fails) like any other change. */
async function digestOf(file: string): Promise<string> {
  try {
    return createHash('sha256').update(await readFile(file)).digest('hex');
  } catch (error) {
    return `unreadable:${(error as NodeJS.ErrnoException).code ?? 'error'}`;
  }
}
