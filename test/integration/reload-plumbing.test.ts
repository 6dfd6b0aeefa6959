// Hot reload around the engine, in-process: the daemon's reloader with the
// engine's reload() replaced by a recorder, so what the plumbing does (which
// config the engine is handed, the allow-list swap, the sweep interval,
// restart-only keys, serialization, the file watch) is checked on its own.
// reload.test.ts runs the real binary with the real engine.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { watch } from 'node:fs';
import { mkdtemp, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import type { ReloadableConfig, ReloadSummary } from '../../src/broker/index.js';
import { TokenBrokerClient } from '../../src/client/index.js';
import { loadConfig } from '../../src/config/index.js';
import { CONFIG_WATCH_DEBOUNCE_MS, startDaemon } from '../../src/daemon/index.js';
import type { RunningDaemon } from '../../src/daemon/index.js';
import { BrokerError } from '../../src/errors/index.js';
import { createLogger } from '../../src/logging/index.js';
import { startSandbox } from '../../src/sandbox/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { ManualScheduler } from '../../src/time/index.js';
import { eventually } from '../support/assertions.js';
import { clientCredentialsMailbox } from '../support/broker-environment.js';

const TENANT = randomUUID();
const APP = randomUUID();
const APP_SECRET = `secret-${randomUUID()}`;
const OLD_KEY = `old-${randomUUID()}`;
const NEW_KEY = `new-${randomUUID()}`;
const ADMIN_KEY = `admin-${randomUUID()}`;
const EMPTY_SUMMARY: ReloadSummary = { added: [], removed: [], changed: [], reacquiring: [] };

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly trigger?: string;
  readonly [key: string]: unknown;
}

const clientList = (...entries: string[]): string => `  clients:\n${entries.join('')}`;
const oldClient = `    - { name: connector-old, key: "${OLD_KEY}", mailboxes: ["sales"] }\n`;
const newClient = `    - { name: connector-new, keyFile: new.key, mailboxes: ["sales"] }\n`;
const adminClient = `    - { name: ops, key: "${ADMIN_KEY}", mailboxes: ["*"], admin: true }\n`;

interface ConfigOptions {
  readonly clients?: string;
  readonly sweep?: number;
  readonly mailboxes?: readonly string[];
  readonly extraServer?: string;
  readonly store?: string;
  readonly leadTime?: number;
}

/** A sandbox, a config file and an in-process daemon whose engine reload() is recorded; its log kept as lines. */
class Harness {
  readonly logText: string[] = [];
  /** What the engine was handed, and what it answers next. */
  readonly engineCalls: { mailboxes: string[]; leadTimeSeconds: number }[] = [];
  engineAnswer: () => Promise<ReloadSummary> = () => Promise.resolve(EMPTY_SUMMARY);
  sweeps = 0;
  /** Runs the sweep timer and the config watch's debounce only when a test says so. */
  readonly scheduler = new ManualScheduler();
  readonly #clients: TokenBrokerClient[] = [];

  private constructor(
    readonly directory: string,
    readonly sandbox: Sandbox,
    readonly configFile: string,
    readonly address: string,
  ) {}

  daemon!: RunningDaemon;

  static async start(prefix: string, watchConfig: boolean): Promise<Harness> {
    const directory = await mkdtemp(path.join(tmpdir(), prefix));
    const sandbox = await startSandbox();
    sandbox.registerApplication({ tenantId: TENANT, clientId: APP, clientSecret: APP_SECRET });
    await writeFile(path.join(directory, 'ca.pem'), sandbox.caCertificatePem);
    await writeFile(path.join(directory, 'new.key'), `${NEW_KEY}\n`, { mode: 0o600 });
    const harness = new Harness(directory, sandbox, path.join(directory, 'broker.yaml'), `unix://${path.join(directory, 'broker.sock')}`);
    await writeFile(harness.configFile, harness.config({ clients: clientList(oldClient, adminClient) }));
    const loaded = await loadConfig(harness.configFile);
    assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.problems));
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        harness.logText.push(chunk.toString());
        callback();
      },
    });
    harness.daemon = await startDaemon(loaded.config, { logger: createLogger('debug', sink), watchConfig, scheduler: harness.scheduler });
    harness.daemon.broker.reload = async (next: ReloadableConfig) => {
      harness.engineCalls.push({ mailboxes: [...next.mailboxes].map((mailbox) => mailbox.name), leadTimeSeconds: next.refresh.leadTimeSeconds });
      return harness.engineAnswer();
    };
    harness.daemon.broker.sweep = () => {
      harness.sweeps++;
      return 0;
    };
    return harness;
  }

  config(options: ConfigOptions): string {
    const names = options.mailboxes ?? ['sales'];
    return `server:
  listen: ["${this.address}"]
${options.extraServer ?? ''}${options.clients ?? ''}store: { url: "${options.store ?? 'memory:'}" }
refresh: { sweepIntervalSeconds: ${options.sweep ?? 59}, leadTimeSeconds: ${options.leadTime ?? 300} }
authorizationServers:
  microsoft: { authorityHost: "${this.sandbox.url}", caFile: ca.pem }
mailboxes:
${names.map((name) => clientCredentialsMailbox(name, TENANT, APP, APP_SECRET)).join('')}`;
  }

  writeConfig(options: ConfigOptions, extra = ''): Promise<void> {
    return writeFile(this.configFile, `${this.config(options)}${extra}`);
  }

  /** Replaces the file the way editors and config managers do: a new file renamed over the old. */
  async replaceConfig(text: string): Promise<void> {
    const temporary = path.join(this.directory, `.broker.yaml.${randomUUID()}`);
    await writeFile(temporary, text);
    await rename(temporary, this.configFile);
  }

  lines(): LogLine[] {
    return this.logText
      .join('')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as LogLine);
  }

  /** The first line from index `from` on that matches, once it is logged. */
  waitForLog(predicate: (line: LogLine) => boolean, what: string, from = 0): Promise<LogLine> {
    return eventually(() => {
      const found = this.lines().slice(from).find(predicate);
      if (found === undefined) throw new Error(`no log line ${what}; log:\n${this.logText.join('')}`);
      return found;
    });
  }

  /** Waits for the config watch to have seen a change of the folder (its debounce timer set), then lets the debounce end. */
  async endDebounce(): Promise<void> {
    await eventually(() => assert.ok(this.scheduler.pending.length > 0, 'the config watch saw no change of the folder'));
    this.scheduler.fireTimers();
  }

  /**
   * Writes a marker file into the config folder and waits until a watch of
   * the test's own sees it: the events of every earlier write in the folder
   * came before it, so the daemon's watch (same folder, same event loop) has
   * had them all by then.
   */
  async folderEventsSeen(): Promise<void> {
    const marker = `.marker-${randomUUID()}`;
    const seen = new Promise<void>((resolve) => {
      const own = watch(this.directory, (_event, filename) => {
        if (filename === marker) {
          own.close();
          resolve();
        }
      });
    });
    await writeFile(path.join(this.directory, marker), '');
    await seen;
    // The daemon's watch hears of the folder from the same inotify read; let its handlers run.
    await new Promise((resolve) => setImmediate(resolve));
  }

  connect(key?: string): TokenBrokerClient {
    const client = new TokenBrokerClient({ address: this.address, key });
    this.#clients.push(client);
    return client;
  }

  async stop(): Promise<void> {
    for (const client of this.#clients) client.close();
    await this.daemon?.stop(1_000);
    await this.sandbox.close();
    await rm(this.directory, { recursive: true, force: true });
  }
}

describe('hot reload plumbing (in-process daemon, recorded engine)', () => {
  let h: Harness;

  before(async () => {
    // The file watch is tested on its own below: here only the trigger each test names reloads.
    h = await Harness.start('tb-reload-plumbing-', false);
  });

  beforeEach(() => {
    h.engineCalls.length = 0;
    h.engineAnswer = () => Promise.resolve(EMPTY_SUMMARY);
  });

  after(() => h?.stop());

  test('Reload is for admin clients only', async () => {
    await assert.rejects(h.connect().reload(), (error: ServiceError) => error.code === GrpcStatus.UNAUTHENTICATED);
    await assert.rejects(h.connect(OLD_KEY).reload(), (error: ServiceError) => {
      assert.equal(error.code, GrpcStatus.PERMISSION_DENIED);
      assert.match(error.details, /client connector-old may not call BrokerAdmin \(admin: true is needed\)/);
      return true;
    });
    assert.equal(h.engineCalls.length, 0);
  });

  test('an engine that refuses changes nothing: applied false with its message, the allow-list stays', async () => {
    h.engineAnswer = () => Promise.reject(new BrokerError('mailbox x cannot be applied.', { code: 'invalid_request', remediation: 'Fix x.' }));
    await h.writeConfig({ clients: clientList(newClient, adminClient), mailboxes: ['sales', 'x'] });
    const result = await h.connect(ADMIN_KEY).reload();
    assert.equal(result.applied, false);
    assert.deepEqual(result.errors, ['mailbox x cannot be applied. Fix x.']);
    assert.ok(h.engineCalls.length >= 1);
    assert.ok(await h.connect(OLD_KEY).getToken('sales'), 'the old key still works');
    await assert.rejects(h.connect(NEW_KEY).getToken('sales'), (error: ServiceError) => error.code === GrpcStatus.UNAUTHENTICATED);
    const logged = h.lines().find((line) => line.trigger === 'rpc' && line.msg.startsWith('configuration not reloaded'));
    assert.match(logged?.msg ?? '', /^configuration not reloaded: mailbox x cannot be applied\. Fix x; still running the previous configuration$/);
  });

  test('applied: the engine gets mailboxes and refresh, the new key works, the removed key and its open watch are UNAUTHENTICATED', async () => {
    const oldWatch = h.connect(OLD_KEY);
    const ended = new Promise<ServiceError | undefined>((resolve) => {
      oldWatch.watchToken('sales', () => undefined, resolve);
    });
    await oldWatch.getToken('sales');
    h.engineAnswer = () => Promise.resolve({ added: ['support'], removed: [], changed: [], reacquiring: [] });
    await h.writeConfig({ clients: clientList(newClient, adminClient), mailboxes: ['sales', 'support'], leadTime: 120 });
    const result = await h.connect(ADMIN_KEY).reload();
    assert.deepEqual(result, { applied: true, errors: [], added: ['support'], removed: [], changed: [], reacquiring: [], restartRequired: [] });
    assert.deepEqual(h.engineCalls.at(-1), { mailboxes: ['sales', 'support'], leadTimeSeconds: 120 });
    assert.ok(h.sandbox.verifyAccessToken((await h.connect(NEW_KEY).getToken('sales')).accessToken));
    await assert.rejects(h.connect(OLD_KEY).getToken('sales'), (error: ServiceError) => {
      assert.equal(error.code, GrpcStatus.UNAUTHENTICATED);
      assert.match(error.details, /unknown client key/);
      return true;
    });
    assert.equal((await ended)?.code, GrpcStatus.UNAUTHENTICATED, 'the removed key\'s watch ends');
    const info = h.lines().findLast((line) => line.trigger === 'rpc' && line.msg.startsWith('configuration reloaded'));
    assert.ok(info !== undefined);
    assert.equal(
      info.msg,
      'configuration reloaded (Reload RPC): 1 added (support), 0 removed, 0 changed, 0 re-acquiring; clients: 1 added (connector-new), 1 removed (connector-old), 0 changed',
    );
    assert.equal(info.level, 30);
    assert.equal(info.endedWatches, 1);
    for (const secret of [OLD_KEY, NEW_KEY, ADMIN_KEY, APP_SECRET]) assert.ok(!h.logText.join('').includes(secret), 'no key or secret in the log');
  });

  test('without server.clients every caller is trusted; with it again, keys are required', async () => {
    await h.writeConfig({});
    assert.equal((await h.connect(ADMIN_KEY).reload()).applied, true);
    assert.ok(await h.connect().getToken('sales'), 'no key needed');
    await h.writeConfig({ clients: clientList(adminClient) });
    assert.equal((await h.connect().reload()).applied, true, 'still trusted when asking');
    await assert.rejects(h.connect().getToken('sales'), (error: ServiceError) => error.code === GrpcStatus.UNAUTHENTICATED);
    assert.ok(await h.connect(ADMIN_KEY).getToken('sales'));
  });

  test('reloads run one at a time, in order', async () => {
    let running = 0;
    let most = 0;
    const entered: (() => void)[] = [];
    h.engineAnswer = async () => {
      running++;
      most = Math.max(most, running);
      // Each reload stays in the engine until the test lets it go: a second one started meanwhile would show in `most`.
      await new Promise<void>((resolve) => entered.push(resolve));
      running--;
      return EMPTY_SUMMARY;
    };
    const reloads = Promise.all([h.daemon.reload('rpc'), h.daemon.reload('sighup'), h.daemon.reload('file')]);
    for (let count = 1; count <= 3; count++) {
      await eventually(() => assert.ok(entered.length >= count, `${entered.length} reloads reached the engine`));
      entered[count - 1]?.();
    }
    const results = await reloads;
    assert.deepEqual(results.map((result) => result.applied), [true, true, true]);
    assert.equal(h.engineCalls.length, 3);
    assert.equal(most, 1, 'never two reloads at once');
  });

  test('a file with errors: every error with path and line:column, logged at error level; the engine is not called', async () => {
    await writeFile(h.configFile, `${h.config({ clients: clientList(adminClient) })}    clientSecrt: oops\n`);
    const result = await h.daemon.reload('sighup');
    assert.equal(result.applied, false);
    assert.equal(h.engineCalls.length, 0);
    assert.ok(result.errors.length >= 1);
    for (const error of result.errors) assert.ok(error.startsWith(`${h.configFile}:`), error);
    assert.ok(result.errors.some((error) => /^.*broker\.yaml:\d+:\d+: error: mailboxes\.sales\.clientSecrt: /.test(error)), result.errors.join('\n'));
    for (const error of result.errors) {
      assert.ok(h.lines().some((line) => line.level === 50 && line.trigger === 'sighup' && line.msg === error), `logged: ${error}`);
    }
    await h.writeConfig({ clients: clientList(adminClient) });
  });

  test('a changed sweep interval reschedules the sweep', async () => {
    assert.deepEqual(h.scheduler.intervals, [59], 'every 59 s, as configured');
    const before = h.sweeps;
    h.scheduler.tick();
    assert.equal(h.sweeps - before, 1, 'a tick of the timer sweeps');
    await h.writeConfig({ clients: clientList(adminClient), sweep: 1 });
    assert.equal((await h.daemon.reload('rpc')).applied, true);
    assert.deepEqual(h.scheduler.intervals, [1], 'the 59 s timer ended; a 1 s one runs');
    const after = h.sweeps;
    h.scheduler.tick();
    assert.equal(h.sweeps - after, 1, 'the new timer sweeps, once a tick');
    await h.writeConfig({ clients: clientList(adminClient) });
    await h.daemon.reload('rpc');
    assert.deepEqual(h.scheduler.intervals, [59]);
  });

  test('keys only a restart applies are named in a warning and in the answer, and not applied', async () => {
    const otherSocket = path.join(h.directory, 'other.sock');
    await writeFile(
      h.configFile,
      h.config({ clients: clientList(adminClient), extraServer: `  socketMode: "0600"\n`, store: 'sqlite://tokens.sqlite' }).replace(
        `listen: ["${h.address}"]`,
        `listen: ["${h.address}", "unix://${otherSocket}"]`,
      ),
    );
    const result = await h.connect(ADMIN_KEY).reload();
    assert.equal(result.applied, true);
    assert.deepEqual(result.restartRequired, ['server.listen', 'server.socketMode', 'store.url']);
    for (const key of result.restartRequired) {
      const warning = h.lines().find((line) => line.level === 40 && line.key === key && line.trigger === 'rpc');
      assert.match(warning?.msg ?? '', new RegExp(`^${key.replace('.', '\\.')} changed, but only a restart applies it`));
    }
    await assert.rejects(stat(otherSocket), { code: 'ENOENT' }, 'no listener on the new address before a restart');
    await h.writeConfig({ clients: clientList(adminClient) });
    assert.deepEqual((await h.daemon.reload('rpc')).restartRequired, [], 'back to the values it started with');
  });

  test('after stop no reload runs', async () => {
    await h.daemon.stop(1_000);
    const result = await h.daemon.reload('sighup');
    assert.deepEqual(result, { applied: false, errors: ['token-broker is shutting down; the configuration was not reloaded.'], restartRequired: [] });
  });
});

describe('the config file watch (in-process daemon, recorded engine)', () => {
  let h: Harness;
  const fileReloads = (): number => h.lines().filter((line) => line.trigger === 'file' && line.msg === 'the config file changed; reloading').length;

  before(async () => {
    h = await Harness.start('tb-reload-watch-', true);
  });

  after(() => h?.stop());

  test('a touch, or a rewrite with the same content, reloads nothing', async () => {
    const from = h.lines().length;
    const now = new Date();
    await utimes(h.configFile, now, now);
    await h.endDebounce();
    await h.waitForLog((line) => line.msg === 'config file written without a change of content; not reloading', 'for the touch', from);
    const from2 = h.lines().length;
    await h.replaceConfig(h.config({ clients: clientList(oldClient, adminClient) }));
    await h.endDebounce();
    await h.waitForLog((line) => line.msg === 'config file written without a change of content; not reloading', 'for the same content', from2);
    assert.equal(fileReloads(), 0);
    assert.equal(h.engineCalls.length, 0);
  });

  test('a broken edit renamed over the file is reported with path and line:column; the running config stays', async () => {
    const from = h.lines().length;
    await h.replaceConfig(`${h.config({ clients: clientList(oldClient, adminClient) })}    clientSecrt: oops\n`);
    await h.endDebounce();
    const error = await h.waitForLog((line) => line.trigger === 'file' && line.level === 50 && /clientSecrt/.test(line.msg), 'with the broken key', from);
    assert.match(error.msg, /broker\.yaml:\d+:\d+: error: mailboxes\.sales\.clientSecrt: /);
    await h.waitForLog((line) => line.trigger === 'file' && line.msg.startsWith('configuration not reloaded'), 'not reloaded', from);
    assert.equal(h.engineCalls.length, 0);
    assert.ok(await h.connect(OLD_KEY).getToken('sales'), 'still serving');
  });

  test('after the broken edit, the fix (written in place) reloads: watching went on', async () => {
    const from = h.lines().length;
    h.engineAnswer = () => Promise.resolve({ added: ['later'], removed: [], changed: [], reacquiring: [] });
    await h.writeConfig({ clients: clientList(newClient, adminClient), mailboxes: ['sales', 'later'] });
    await h.endDebounce();
    const info = await h.waitForLog((line) => line.trigger === 'file' && line.msg.startsWith('configuration reloaded'), 'reloaded', from);
    assert.match(info.msg, /^configuration reloaded \(the config file changed\): 1 added \(later\)/);
    assert.deepEqual(h.engineCalls.at(-1)?.mailboxes, ['sales', 'later']);
    assert.ok(await h.connect(NEW_KEY).getToken('sales'), 'the new allow-list applies');
  });

  test('several quick writes make one reload (debounced)', async () => {
    const from = h.lines().length;
    const calls = h.engineCalls.length;
    for (const lead of [100, 110, 120, 130]) await h.writeConfig({ clients: clientList(newClient, adminClient), mailboxes: ['sales', 'later'], leadTime: lead });
    // Every write of the burst is an event; each one restarts the one debounce timer instead of adding its own.
    await h.folderEventsSeen();
    assert.deepEqual(h.scheduler.pending, [CONFIG_WATCH_DEBOUNCE_MS], 'one debounce timer for the burst');
    h.scheduler.fireTimers();
    await h.waitForLog((line) => line.trigger === 'file' && line.msg.startsWith('configuration reloaded'), 'reloaded', from);
    assert.equal(h.engineCalls.length - calls, 1, 'one reload for the burst');
    assert.equal(h.engineCalls.at(-1)?.leadTimeSeconds, 130, 'with the last content');
  });

  test('after stop, edits are not watched any more', async () => {
    await h.daemon.stop(1_000);
    const from = h.lines().length;
    await h.writeConfig({ clients: clientList(adminClient) });
    await h.folderEventsSeen();
    assert.deepEqual(h.scheduler.pending, [], 'no debounce timer: nobody watches');
    assert.deepEqual(h.lines().slice(from).filter((line) => line.trigger === 'file'), []);
  });
});
