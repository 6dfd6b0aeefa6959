// Infrastructure faults against the real daemon binary and the Entra-shaped
// sandbox (ROPC users, strict refresh-token rotation: a replayed refresh token
// fails with AADSTS70008). Each fault is switched on while connectors keep
// calling GetToken, observed where ops look (status), and switched off:
//   1. the proxy (a real squid with basic auth) stopped and started again on
//      its port, and a proxy whose password changed (407: permanent);
//   2. redis stopped and restarted under two instances sharing it;
//   3. the SQLite store refusing writes (a full disk, and read-only: see below);
//   4. SIGKILL at random moments of a refresh storm, restarted on the same store.
// After each, one checker: no token served is expired or under 60 s of
// validity; every mailbox recovers by itself; no refresh token the broker
// received and stored is lost or replayed; the daemon never exits by itself;
// every error names its cause.
//
// Tokens live 70 s and connectors ask for 60 s of validity: each token serves
// for 10 s, so the broker refreshes every mailbox every ~10 s, in the middle
// of every fault.
import { after, before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startSandbox } from '../../src/sandbox/index.js';
import type { Sandbox, TokenResponseInfo } from '../../src/sandbox/index.js';
import { eventually } from '../support/assertions.js';
import { healthCheck } from '../support/daemon-process.js';
import { redisServerBinary, startRedis } from '../support/redis.js';
import { squidBinary, startSquid } from '../support/squid.js';
import type { Squid } from '../support/squid.js';
import { requireSystemBinary } from '../support/system-binary.js';
import { ServedTokenChecker, waitForRecovery, waitForReportedFault } from './support/faults-infra-checker.js';
import type { ExpectedRefusal } from './support/faults-infra-checker.js';
import { SupervisedDaemon } from './support/faults-infra-daemon.js';
import { RefreshTokenLedger } from './support/faults-infra-ledger.js';

const prlimit = requireSystemBinary('prlimit', 'install util-linux');
const run = promisify(execFile);

const LIFETIME_S = 70;
const REFRESH = 'refresh:\n  leadTimeSeconds: 30\n  sweepIntervalSeconds: 1\n';

interface World {
  readonly directory: string;
  readonly sandbox: Sandbox;
  readonly tenant: string;
  readonly clientId: string;
  /** mailbox name -> username */
  readonly users: Map<string, string>;
  readonly mailboxes: string[];
  /** Every successful token answer of the sandbox goes here (hooks.beforeTokenResponse). */
  onTokenResponse: (info: TokenResponseInfo) => Promise<void> | void;
}

/** A sandbox with one public ROPC application and `count` users, and a temp folder with its CA and a store key. */
async function startWorld(prefix: string, count: number, hostnames: readonly string[] = []): Promise<World> {
  const directory = await mkdtemp(path.join(tmpdir(), prefix));
  const sandbox = await startSandbox({ accessTokenLifetimeSeconds: LIFETIME_S, hostnames });
  const tenant = randomUUID();
  const clientId = randomUUID();
  sandbox.registerApplication({ tenantId: tenant, clientId, publicClient: true });
  const users = new Map<string, string>();
  for (let index = 0; index < count; index++) {
    const mailbox = `user-${String(index).padStart(2, '0')}`;
    const username = `${mailbox}@contoso.example`;
    sandbox.registerUser({ tenantId: tenant, username, password: `pw-${mailbox}` });
    users.set(mailbox, username);
  }
  await writeFile(path.join(directory, 'ca.pem'), sandbox.caCertificatePem);
  await writeFile(path.join(directory, 'store.key'), `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  const world: World = { directory, sandbox, tenant, clientId, users, mailboxes: [...users.keys()], onTokenResponse: () => undefined };
  sandbox.hooks.beforeTokenResponse = (info) => world.onTokenResponse(info);
  return world;
}

async function stopWorld(world: World | undefined): Promise<void> {
  if (world === undefined) return;
  await world.sandbox.close();
  await rm(world.directory, { recursive: true, force: true, maxRetries: 3 });
}

/** The ROPC mailboxes of `world` as YAML under `mailboxes:`, each with `extra` lines. */
function ropcMailboxes(world: World, extra = ''): string {
  return [...world.users]
    .map(
      ([mailbox, username]) => `  ${mailbox}:
    protocol: graph
    grantType: ropc
    tenantId: ${world.tenant}
    clientId: ${world.clientId}
    username: ${username}
    password: pw-${mailbox}
${extra}`,
    )
    .join('');
}

function brokerConfig(address: string, authorityHost: string, storeUrl: string, mailboxes: string, extra = ''): string {
  return `server: { listen: ["${address}"] }
store:
  url: ${storeUrl}
  encryptionKeyFile: store.key
${REFRESH}authorizationServers:
  microsoft: { authorityHost: "${authorityHost}", caFile: ca.pem }
${extra}mailboxes:
${mailboxes}`;
}

/**
 * Counts token answers the sandbox sent while a fault was on: the only ones
 * whose answer may have been lost on the way (a tunnel cut by the proxy's
 * stop), and so the only ones whose predecessor may be replayed once.
 */
class AnswersDuringFault {
  on = false;
  count = 0;
  readonly ledger: RefreshTokenLedger;

  constructor(ledger: RefreshTokenLedger) {
    this.ledger = ledger;
  }

  record(info: TokenResponseInfo): void {
    this.ledger.record(info);
    if (this.on) this.count++;
  }
}

/**
 * No refresh token was lost or replayed: every refresh_token request the
 * sandbox saw was answered with tokens (a replay is refused with
 * AADSTS70008), and no user needed the password again after the first
 * token, beyond the answers that may have been lost during the fault.
 */
function assertNoRefreshTokenLost(world: World, ledger: RefreshTokenLedger, mayBeLost: number): void {
  const refused = world.sandbox.stats.forGrantType('refresh_token') - ledger.successes('refresh_token');
  assert.ok(refused <= mayBeLost, `${refused} refresh_token requests refused (a replayed or lost refresh token), with ${mayBeLost} answers that may have been lost`);
  const extraPasswordGrants = world.mailboxes.reduce((sum, mailbox) => sum + ledger.passwordGrants(world.users.get(mailbox) ?? '') - 1, 0);
  assert.ok(extraPasswordGrants <= mayBeLost, `${extraPasswordGrants} password grants after the first tokens (a lost refresh token), with ${mayBeLost} answers that may have been lost`);
}

/** What a run did, for the TAP output: a reader sees that the fault was met. */
function describeRun(checker: ServedTokenChecker, world: World | undefined): string {
  const refusals = new Map<string, number>();
  for (const refusal of checker.refusals) refusals.set(refusal.code ?? '(transport)', (refusals.get(refusal.code ?? '(transport)') ?? 0) + 1);
  const stats = world?.sandbox.stats.snapshot();
  const samples = [...refusals.keys()].map((code) => checker.refusals.find((refusal) => (refusal.code ?? '(transport)') === code)?.details);
  return `tokens served ${checker.served}; refusals ${JSON.stringify(Object.fromEntries(refusals))}; token requests by grant ${JSON.stringify(stats?.byGrantType ?? {})}; e.g. ${JSON.stringify(samples)}`;
}

/** The daemon's log lines (pino JSON) that carry `code` with `permanent` as given. */
function failureLogged(log: string, code: string, permanent: boolean): boolean {
  return log.split('\n').some((line) => line.includes(`"code":"${code}"`) && line.includes(`"permanent":${String(permanent)}`));
}

describe('the proxy stopped and started again, and a proxy that refuses the broker’s credentials (real squid)', () => {
  const needsSquid = { skip: squidBinary.skip };
  // Resolvable inside squid only: no token can come over a direct connection.
  const PROXY_ONLY_HOST = 'entra.test';
  const PROXY_USER = 'broker';
  const PASSWORD = `proxy-pw-${randomUUID()}`;
  const ROTATED_PASSWORD = `proxy-pw-rotated-${randomUUID()}`;
  let world: World | undefined;
  let squid: Squid | undefined;
  let daemon: SupervisedDaemon | undefined;
  let checker: ServedTokenChecker;
  let during: AnswersDuringFault;

  before(async () => {
    if (needsSquid.skip !== false) return;
    squid = await startSquid({ username: PROXY_USER, password: PASSWORD, hostnames: [PROXY_ONLY_HOST] });
    world = await startWorld('tb-faults-proxy-', 3, [PROXY_ONLY_HOST]);
    const { directory, sandbox } = world;
    await writeFile(path.join(directory, 'proxy-password'), `${PASSWORD}\n`, { mode: 0o600 });
    const address = `unix://${path.join(directory, 'broker.sock')}`;
    const configFile = path.join(directory, 'broker.yaml');
    const proxies = `proxies:\n  corp:\n    url: ${squid.url}\n    username: ${PROXY_USER}\n    passwordFile: proxy-password\n`;
    await writeFile(
      configFile,
      brokerConfig(address, `https://${PROXY_ONLY_HOST}:${sandbox.port}`, 'sqlite://tokens.sqlite', ropcMailboxes(world, '    proxy: corp\n'), proxies),
    );
    checker = new ServedTokenChecker(sandbox);
    daemon = new SupervisedDaemon('proxy', configFile, address);
    during = new AnswersDuringFault(new RefreshTokenLedger(() => daemon?.generation ?? 0));
    world.onTokenResponse = (info) => during.record(info);
    await daemon.start();
  });

  after(async () => {
    await daemon?.stop();
    await squid?.stop();
    await stopWorld(world);
  });

  test('squid stopped: proxy_unreachable naming proxy corp (transient); started again on its port: every mailbox recovers by itself', needsSquid, async (t) => {
    assert.ok(world && squid && daemon);
    const running = daemon;
    const hammer = checker.hammer(() => [running.client], world.mailboxes);
    try {
      await waitForRecovery(running.client, world.mailboxes);
      const from = checker.refusals.length;
      during.on = true;
      const faultAt = Date.now();
      await squid.kill();
      await waitForReportedFault(running.client, world.mailboxes, 'proxy_unreachable', /proxy corp\b.*ECONNREFUSED/s);
      await squid.start();
      during.on = false;
      await waitForRecovery(running.client, world.mailboxes, faultAt);
      const expected: ExpectedRefusal[] = [{ code: 'proxy_unreachable', names: /^mailbox user-\d+: .*proxy corp\b.*ECONNREFUSED/s }];
      assert.deepEqual(checker.unexplainedRefusals(from, expected), [], 'every refusal is proxy_unreachable and names the proxy');
      assert.ok(checker.refusals.length > from, 'GetToken met the fault (tokens serve for 10 s only)');
    } finally {
      await hammer.stop();
    }
    assert.ok(failureLogged(running.allLogs(), 'proxy_unreachable', false), 'the daemon logged proxy_unreachable as transient');
    t.diagnostic(describeRun(checker, world));
    checker.assertNoProblems();
    assertNoRefreshTokenLost(world, during.ledger, during.count);
    assert.deepEqual(running.unexpectedExits, []);
  });

  test('squid’s password changed: 407 is proxy_auth_failed, permanent (FAILING), naming proxy corp; the new password in the config and a reload end it', needsSquid, async (t) => {
    assert.ok(world && squid && daemon);
    const running = daemon;
    const hammer = checker.hammer(() => [running.client], world.mailboxes);
    try {
      await waitForRecovery(running.client, world.mailboxes);
      const from = checker.refusals.length;
      during.on = true;
      // A fresh squid caches no credentials: the broker's (old) password gets 407 from its first request.
      const faultAt = Date.now();
      await squid.kill();
      await squid.start({ password: ROTATED_PASSWORD });
      await waitForReportedFault(running.client, world.mailboxes, 'proxy_auth_failed', /proxy corp\b.*407.*proxies\.corp\.username and password/s);
      // Permanent: FAILING even while the last token is still served, and not tried again by itself.
      for (const status of await running.client.listMailboxes()) assert.equal(status.state, 'FAILING', `${status.mailbox}: ${status.lastErrorMessage}`);
      assert.ok(failureLogged(running.allLogs(), 'proxy_auth_failed', true), 'the daemon logged proxy_auth_failed as permanent');

      // Ops put the proxy's new password in the broker's password file and reload.
      await writeFile(path.join(world.directory, 'proxy-password'), `${ROTATED_PASSWORD}\n`, { mode: 0o600 });
      const reloaded = await running.client.reload();
      assert.equal(reloaded.applied, true, reloaded.errors.join('\n'));
      during.on = false;
      await waitForRecovery(running.client, world.mailboxes, faultAt);
      const expected: ExpectedRefusal[] = [
        { code: 'proxy_auth_failed', names: /^mailbox user-\d+: proxy corp\b.*407/s },
        // squid's restart itself: a connection refused for a moment.
        { code: 'proxy_unreachable', names: /^mailbox user-\d+: .*proxy corp\b.*ECONNREFUSED/s },
      ];
      assert.deepEqual(checker.unexplainedRefusals(from, expected), [], 'every refusal names the proxy and what it did');
    } finally {
      await hammer.stop();
    }
    const log = running.allLogs();
    for (const secret of [PASSWORD, ROTATED_PASSWORD]) assert.ok(!log.includes(secret), 'no proxy password in the daemon log');
    t.diagnostic(describeRun(checker, world));
    checker.assertNoProblems();
    assertNoRefreshTokenLost(world, during.ledger, during.count);
    assert.deepEqual(running.unexpectedExits, []);
  });
});

describe('redis stopped and restarted under two instances sharing it', () => {
  const needsRedis = { skip: redisServerBinary.skip };
  const cleanups: (() => Promise<void>)[] = [];

  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  /**
   * Two instances on one redis, connectors calling both; redis stopped until
   * both report it, then started again on its port. `persistent`: with its
   * data (an append-only file, as production runs it), else empty (no
   * persistence, or a failover to an empty replica): the instances still hold
   * the live refresh tokens in memory, and must go on with them.
   */
  async function redisOutage(t: TestContext, persistent: boolean): Promise<void> {
    const redis = await startRedis({ persistent });
    cleanups.push(() => redis.stop());
    const started = await startWorld('tb-faults-redis-', 4);
    cleanups.push(() => stopWorld(started));
    const ledger = new RefreshTokenLedger(() => 0);
    started.onTokenResponse = (info) => ledger.record(info);
    const daemons: SupervisedDaemon[] = [];
    const addresses: string[] = [];
    for (const instance of ['a', 'b']) {
      const address = `unix://${path.join(started.directory, `${instance}.sock`)}`;
      const configFile = path.join(started.directory, `${instance}.yaml`);
      await writeFile(configFile, brokerConfig(address, started.sandbox.url, redis.url, ropcMailboxes(started)));
      const daemon = new SupervisedDaemon(instance, configFile, address);
      cleanups.push(() => daemon.stop());
      daemons.push(daemon);
      addresses.push(address);
      await daemon.start();
    }
    const clients = daemons.map((daemon) => daemon.client);
    const checker = new ServedTokenChecker(started.sandbox);
    const hammer = checker.hammer(() => clients, started.mailboxes);
    const storeNamed = new RegExp(`token store redis://127\\.0\\.0\\.1:${redis.port}/0`);
    try {
      for (const client of clients) await waitForRecovery(client, started.mailboxes);
      const from = checker.refusals.length;
      const faultAt = Date.now();
      await redis.kill();
      for (const client of clients) await waitForReportedFault(client, started.mailboxes, 'store_unavailable', storeNamed);
      for (const address of addresses) await eventually(async () => assert.equal(await healthCheck(address), 'NOT_SERVING'));
      await redis.start();
      for (const client of clients) await waitForRecovery(client, started.mailboxes, faultAt);
      for (const address of addresses) await eventually(async () => assert.equal(await healthCheck(address), 'SERVING'));
      const expected: ExpectedRefusal[] = [{ code: 'store_unavailable', names: storeNamed }];
      assert.deepEqual(checker.unexplainedRefusals(from, expected), [], 'every refusal is store_unavailable and names the store');
    } finally {
      await hammer.stop();
    }
    t.diagnostic(describeRun(checker, started));
    checker.assertNoProblems();
    // Without the store no instance may refresh (the lock is in redis), so no answer can be lost: not one replay.
    assertNoRefreshTokenLost(started, ledger, 0);
    for (const daemon of daemons) assert.deepEqual(daemon.unexpectedExits, []);
  }

  test('with its data: store_unavailable naming the store, NOT_SERVING while down; both instances recover by themselves, no refresh token lost or replayed', needsRedis, async (t) => {
    await redisOutage(t, true);
  });

  test('empty after the restart: the instances go on with the refresh tokens they hold, none lost or replayed', needsRedis, async (t) => {
    await redisOutage(t, false);
  });
});

describe('the SQLite store refusing writes (disk full; read-only)', () => {
  let world: World | undefined;
  let daemon: SupervisedDaemon | undefined;

  after(async () => {
    if (daemon?.running === true && daemon.pid !== undefined) await run(prlimit.path(), ['--pid', String(daemon.pid), '--fsize=unlimited:']).catch(() => undefined);
    await daemon?.stop();
    await stopWorld(world);
  });

  // The tests run as root, and root ignores file modes: a chmod'ed store stays
  // writable, and a read-only bind mount needs privileges the test lacks. Both
  // faults are therefore made the way store-full.test.ts makes them: the
  // daemon's file-size limit (RLIMIT_FSIZE) lowered to one byte, so SQLite's
  // next write is refused by the kernel (EFBIG), as a full or read-only disk
  // refuses it; raising the limit is the disk freed (or remounted read-write).
  test('writes refused: store_unavailable naming the store, no token handed out unstored; the limit raised: every mailbox recovers by itself', { skip: prlimit.skip }, async (t) => {
    world = await startWorld('tb-faults-store-', 4);
    const started = world;
    const ledger = new RefreshTokenLedger(() => daemon?.generation ?? 0);
    started.onTokenResponse = (info) => ledger.record(info);
    const address = `unix://${path.join(started.directory, 'broker.sock')}`;
    const configFile = path.join(started.directory, 'broker.yaml');
    await writeFile(configFile, brokerConfig(address, started.sandbox.url, 'sqlite://tokens.sqlite', ropcMailboxes(started)));
    const running = new SupervisedDaemon('store', configFile, address);
    daemon = running;
    await running.start();
    const limit = async (value: string): Promise<void> => {
      assert.ok(running.pid !== undefined);
      await run(prlimit.path(), ['--pid', String(running.pid), `--fsize=${value}:`]);
    };
    const checker = new ServedTokenChecker(started.sandbox);
    const hammer = checker.hammer(() => [running.client], started.mailboxes);
    const storeNamed = /token store sqlite:\/\/\S*tokens\.sqlite/;
    try {
      await waitForRecovery(running.client, started.mailboxes);
      const from = checker.refusals.length;
      const faultAt = Date.now();
      await limit('1');
      await waitForReportedFault(running.client, started.mailboxes, 'store_unavailable', storeNamed);
      await limit('unlimited');
      await waitForRecovery(running.client, started.mailboxes, faultAt);
      const expected: ExpectedRefusal[] = [{ code: 'store_unavailable', names: storeNamed }];
      assert.deepEqual(checker.unexplainedRefusals(from, expected), [], 'every refusal is store_unavailable and names the store');
    } finally {
      await hammer.stop();
    }
    t.diagnostic(describeRun(checker, started));
    checker.assertNoProblems();
    // The rotated refresh token waits in memory until the store takes it: nothing lost, nothing replayed.
    assertNoRefreshTokenLost(started, ledger, 0);
    assert.deepEqual(running.unexpectedExits, []);
  });
});

describe('SIGKILL at random moments of a refresh storm, restarted on the same SQLite store', () => {
  const MAILBOXES = 10;
  /** Where the kills fall: inside the sandbox's answer (rotated, not yet received) or at a random moment. */
  const KILLS = ['in-answer', 'random', 'in-answer', 'random', 'in-answer', 'random'] as const;
  /** The random kills fall within this long after the daemon serves again. */
  const RANDOM_WINDOW_MS = 3_000;
  let world: World | undefined;
  let daemon: SupervisedDaemon | undefined;

  after(async () => {
    await daemon?.stop();
    await stopWorld(world);
  });

  test('after every kill the store holds every refresh token the broker received but the one in flight; at the end every mailbox is READY, replays only of lost answers', async (t) => {
    world = await startWorld('tb-faults-sigkill-', MAILBOXES);
    const started = world;
    const address = `unix://${path.join(started.directory, 'broker.sock')}`;
    const configFile = path.join(started.directory, 'broker.yaml');
    const storeFile = path.join(started.directory, 'tokens.sqlite');
    await writeFile(configFile, brokerConfig(address, started.sandbox.url, `sqlite://${storeFile}`, ropcMailboxes(started)));
    const running = new SupervisedDaemon('storm', configFile, address);
    daemon = running;
    const ledger = new RefreshTokenLedger(() => running.generation);
    // Armed: a refresh answer, the `skip`-th from now (a random one), kills the daemon before it is written
    // (the server rotated, the broker never hears).
    let armed: { skip: number; killed: () => void } | undefined;
    started.onTokenResponse = async (info) => {
      ledger.record(info);
      const trap = armed;
      if (trap === undefined || info.grantType !== 'refresh_token' || !running.running) return;
      if (trap.skip-- > 0) return;
      armed = undefined;
      await running.kill();
      trap.killed();
    };
    await running.start();
    const checker = new ServedTokenChecker(started.sandbox);
    const hammer = checker.hammer(() => running.clients, started.mailboxes);
    try {
      await waitForRecovery(running.client, started.mailboxes);
      for (const kind of KILLS) {
        if (kind === 'in-answer') {
          await new Promise<void>((resolve) => (armed = { skip: randomInt(MAILBOXES), killed: resolve }));
        } else {
          // Picks the moment of the kill at random; it waits for nothing (the refreshes run on regardless).
          await new Promise((resolve) => setTimeout(resolve, randomInt(RANDOM_WINDOW_MS)));
          await running.kill();
        }
        const killed = running.generation;
        await ledger.checkStore(`sqlite://${storeFile}`, path.join(started.directory, 'store.key'), started.users, killed, running.log(killed));
        await running.start();
      }
      await waitForRecovery(running.client, started.mailboxes);
    } finally {
      await hammer.stop();
    }
    assert.ok(ledger.acquiredSeen > 0, 'the killed daemons logged "token acquired" (the store check relies on it)');
    assert.deepEqual(ledger.problems, [], 'the store kept every refresh token the broker received, but the one in flight at a kill');
    const statuses = await running.client.listMailboxes();
    assert.deepEqual(
      statuses.filter((status) => status.state !== 'READY').map((status) => `${status.mailbox}: ${status.state} ${status.lastErrorCode}`),
      [],
      'no mailbox needs authorization',
    );
    // A refused refresh_token request is a replay: allowed once per kill that left a mailbox's store behind
    // the newest token issued (its answer was lost), never of a token the broker had received and stored.
    const replays = started.sandbox.stats.forGrantType('refresh_token') - ledger.successes('refresh_token');
    t.diagnostic(`refresh tokens replayed ${replays}; answers lost at kills ${ledger.staleKills}`);
    assert.ok(replays <= ledger.staleKills, `${replays} refresh tokens replayed, ${ledger.staleKills} answers lost at kills`);
    const extraPasswordGrants = started.mailboxes.reduce((sum, mailbox) => sum + ledger.passwordGrants(started.users.get(mailbox) ?? '') - 1, 0);
    assert.ok(extraPasswordGrants <= ledger.staleKills, `${extraPasswordGrants} password grants beyond the first, ${ledger.staleKills} answers lost at kills`);
    assert.ok(ledger.successes('refresh_token') >= KILLS.length, 'the storm refreshed');
    assert.deepEqual(checker.unexplainedRefusals(0, [], true), [], 'no broker error: only calls cut by a kill');
    t.diagnostic(describeRun(checker, started));
    checker.assertNoProblems();
    assert.deepEqual(running.unexpectedExits, []);
  });
});
