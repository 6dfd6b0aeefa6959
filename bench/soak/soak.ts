// The soak of issue 12 (point 7): the real daemon for `--minutes` (10) with
// short-lived tokens, under steady GetToken load, a churn of short-lived
// clients (some holding a WatchToken stream for a while), reloads that add
// and remove mailboxes (SIGHUP and the Reload RPC in turn) and authorization
// server faults switched on and off. It reports, from outside the daemon,
// memory, file descriptors, sockets and threads once settled at the start and
// at the end, and what every served token looked like: none may be expired or
// closer to expiry than the caller asked, every mailbox must recover by
// itself once the faults stop, and the daemon must never exit.
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceError } from '@grpc/grpc-js';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { TokenBrokerClient } from '../../src/client/index.js';
import type { BrokerToken } from '../../src/client/index.js';
import { startSandbox } from '../../src/sandbox/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { CLI_PATH, healthCheck } from '../../test/support/daemon-process.js';
import type { Figure } from '../fleet/report.js';
import { printFigure } from '../fleet/report.js';
import { FAULT_KINDS, FaultSwitch } from './faults.js';
import { parseSoakOptions } from './options.js';
import type { SoakOptions } from './options.js';
import { describeSockets, describeState, readProcessState } from './process-state.js';
import type { ProcessState } from './process-state.js';

const TENANT = '7d8f3c2a-5b1e-4c9d-8a6f-2e4b1c9d7a30';
const PUBLIC_APP = '0c4e2a1b-9d8f-4e7c-a6b5-3f2d1e0c9b8a';
/** GetToken's default min_validity_seconds (CONTRACT.md); every served token must have at least this left. */
const MIN_VALIDITY_MS = 60_000;
/** Mailboxes a reload adds and the next one removes. */
const EXTRA_MAILBOXES = 10;

interface Counters {
  calls: number;
  served: number;
  failed: Map<string, number>;
  underMinValidity: number;
  rejectedBySandbox: number;
  watches: number;
  pushes: number;
  pushesUnderMinValidity: number;
  reloads: number;
  reloadsApplied: number;
  clients: number;
}

const options = parseSoakOptions();
const counters: Counters = { calls: 0, served: 0, failed: new Map(), underMinValidity: 0, rejectedBySandbox: 0, watches: 0, pushes: 0, pushesUnderMinValidity: 0, reloads: 0, reloadsApplied: 0, clients: 0 };

function countFailure(error: unknown): void {
  const code = typeof (error as ServiceError).code === 'number' ? (GrpcStatus[(error as ServiceError).code] ?? String((error as ServiceError).code)) : 'not a gRPC error';
  counters.failed.set(code, (counters.failed.get(code) ?? 0) + 1);
}

function checkToken(token: BrokerToken, sandbox: Sandbox, push: boolean): void {
  if (token.expiresAt.getTime() - Date.now() < MIN_VALIDITY_MS - 1_000) {
    if (push) counters.pushesUnderMinValidity++;
    else counters.underMinValidity++;
  }
  if (sandbox.verifyAccessToken(token.accessToken) === undefined) counters.rejectedBySandbox++;
}

interface World {
  readonly directory: string;
  readonly sandbox: Sandbox;
  readonly configFile: string;
  readonly address: string;
  readonly mailboxes: readonly string[];
  readonly faults: FaultSwitch;
  tokenAnswers: number;
  writeConfig(withExtra: boolean): Promise<void>;
}

async function buildWorld(settings: SoakOptions): Promise<World> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'tb-soak-'));
  const sandbox = await startSandbox({ accessTokenLifetimeSeconds: settings.lifetimeSeconds });
  const apps = Array.from({ length: settings.applications }, (_, index) => ({ clientId: randomUUID(), secret: `soak-secret-${index}-${randomUUID()}` }));
  for (const app of apps) sandbox.registerApplication({ tenantId: TENANT, clientId: app.clientId, clientSecret: app.secret });
  sandbox.registerApplication({ tenantId: TENANT, clientId: PUBLIC_APP, publicClient: true });
  const blocks: string[] = [];
  const mailboxes: string[] = [];
  const ccCount = Math.ceil(settings.mailboxes / 2);
  const ccBlock = (name: string, index: number): string => {
    const app = apps[index % apps.length]!;
    return `  ${name}:\n    protocol: imap\n    grantType: client-credentials\n    tenantId: ${TENANT}\n    clientId: ${app.clientId}\n    clientSecret: ${app.secret}\n    username: ${name}@contoso.example\n`;
  };
  for (let index = 0; index < ccCount; index++) {
    const name = `cc-${index + 1}`;
    mailboxes.push(name);
    blocks.push(ccBlock(name, index));
  }
  for (let index = 0; index < settings.mailboxes - ccCount; index++) {
    const name = `ropc-${index + 1}`;
    const user = { username: `${name}@contoso.example`, password: `pw-${randomUUID()}` };
    sandbox.registerUser({ tenantId: TENANT, ...user });
    mailboxes.push(name);
    blocks.push(`  ${name}:\n    protocol: graph\n    grantType: ropc\n    tenantId: ${TENANT}\n    clientId: ${PUBLIC_APP}\n    username: ${user.username}\n    password: ${user.password}\n`);
  }
  const extra = Array.from({ length: EXTRA_MAILBOXES }, (_, index) => ccBlock(`extra-${index + 1}`, index));
  await writeFile(path.join(directory, 'ca.pem'), sandbox.caCertificatePem);
  await writeFile(path.join(directory, 'store.key'), `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  const address = `unix://${path.join(directory, 'broker.sock')}`;
  const configFile = path.join(directory, 'broker.yaml');
  const world: World = {
    directory,
    sandbox,
    configFile,
    address,
    mailboxes,
    tokenAnswers: 0,
    faults: new FaultSwitch(sandbox, () => world.tokenAnswers++),
    async writeConfig(withExtra) {
      await writeFile(
        configFile,
        `server: { listen: ["${address}"] }
store:
  url: sqlite://tokens.sqlite
  encryptionKeyFile: store.key
refresh:
  leadTimeSeconds: ${settings.leadTimeSeconds}
  sweepIntervalSeconds: 5
authorizationServers:
  microsoft: { authorityHost: "${sandbox.url}", caFile: ca.pem }
mailboxes:
${blocks.join('')}${withExtra ? extra.join('') : ''}`,
      );
    },
  };
  await world.writeConfig(false);
  return world;
}

async function waitAllReady(client: TokenBrokerClient, count: number, timeoutMs: number): Promise<number> {
  const started = performance.now();
  let ready = 0;
  while (performance.now() - started < timeoutMs) {
    const statuses = await client.listMailboxes().catch(() => []);
    ready = statuses.filter((status) => status.state === 'READY').length;
    if (ready >= count && statuses.length === count) return performance.now() - started;
    await sleep(1_000);
  }
  throw new Error(`${ready} of ${count} mailboxes READY after ${timeoutMs / 1000} s`);
}

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)]!;
}

/** A short-lived connector: a few GetToken calls, sometimes a watch held for 5 to 30 s, then gone. */
async function churnClient(world: World, stopping: AbortSignal): Promise<void> {
  counters.clients++;
  const client = new TokenBrokerClient({ address: world.address, deadlineMs: 30_000 });
  try {
    for (let call = 0; call < 1 + Math.floor(Math.random() * 5); call++) {
      counters.calls++;
      await client.getToken(pick(world.mailboxes)).then(
        (token) => {
          counters.served++;
          checkToken(token, world.sandbox, false);
        },
        countFailure,
      );
    }
    if (Math.random() < 0.3 && !stopping.aborted) {
      counters.watches++;
      const held = new AbortController();
      const watch = client.watchToken(
        pick(world.mailboxes),
        (token) => {
          counters.pushes++;
          checkToken(token, world.sandbox, true);
        },
        (error) => (error === undefined ? undefined : countFailure(error)),
      );
      await sleep(5_000 + Math.random() * 25_000, undefined, { signal: AbortSignal.any([held.signal, stopping]) }).catch(() => undefined);
      watch.cancel();
    }
  } finally {
    client.close();
  }
}

async function main(): Promise<void> {
  console.log(
    `soak: ${options.minutes} min, ${options.mailboxes} mailboxes (+${EXTRA_MAILBOXES} added and removed by reloads), tokens live ${options.lifetimeSeconds} s (lead ${options.leadTimeSeconds} s), ${options.callsPerSecond} calls/s, a new client every ${options.churnIntervalMs} ms, a reload every ${options.reloadIntervalSeconds} s, a fault of ${options.faultSeconds} s every ${options.faultIntervalSeconds} s; ${os.cpus().length} cores`,
  );
  const world = await buildWorld(options);
  const child = spawn(process.execPath, [CLI_PATH, 'serve', '--config', world.configFile, '--log-level', 'warn', '--no-watch-config'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-20_000)));
  let unexpectedExit: string | undefined;
  let stoppingDaemon = false;
  child.once('exit', (code, signal) => {
    if (!stoppingDaemon) unexpectedExit = `exited (${String(code ?? signal)}) during the soak:\n${stderr}`;
  });
  const steady = new TokenBrokerClient({ address: world.address, deadlineMs: 30_000 });
  const stopping = new AbortController();
  const figures: Figure[] = [];
  try {
    while ((await healthCheck(world.address).catch(() => 'unreachable')) !== 'SERVING') {
      if (unexpectedExit !== undefined) throw new Error(`token-broker serve ${unexpectedExit}`);
      await sleep(50);
    }
    const coldMs = await waitAllReady(steady, world.mailboxes.length, 300_000);
    await sleep(10_000);
    const pid = child.pid!;
    const atStart = readProcessState(pid);
    console.log(`settled at the start (all READY after ${(coldMs / 1000).toFixed(1)} s, then 10 s): ${describeState(atStart)}; sockets: ${describeSockets(pid)}`);

    const endAt = performance.now() + options.minutes * 60_000;
    const tasks: Promise<void>[] = [];
    // Steady load: open loop, one call every 1/rate s.
    tasks.push(
      (async () => {
        while (performance.now() < endAt) {
          counters.calls++;
          void steady.getToken(pick(world.mailboxes)).then(
            (token) => {
              counters.served++;
              checkToken(token, world.sandbox, false);
            },
            countFailure,
          );
          await sleep(1000 / options.callsPerSecond);
        }
      })(),
    );
    // Client churn.
    const churning = new Set<Promise<void>>();
    tasks.push(
      (async () => {
        while (performance.now() < endAt) {
          const client = churnClient(world, stopping.signal).catch(countFailure);
          churning.add(client);
          void client.finally(() => churning.delete(client));
          await sleep(options.churnIntervalMs);
        }
        await Promise.all(churning);
      })(),
    );
    // Reloads, alternately SIGHUP and the Reload RPC, adding then removing the extra mailboxes.
    tasks.push(
      (async () => {
        let withExtra = false;
        while (performance.now() + options.reloadIntervalSeconds * 1000 < endAt) {
          await sleep(options.reloadIntervalSeconds * 1000);
          withExtra = !withExtra;
          await world.writeConfig(withExtra);
          counters.reloads++;
          if (counters.reloads % 2 === 1) {
            const result = await steady.reload().catch((error: unknown) => (countFailure(error), undefined));
            if (result?.applied === true) counters.reloadsApplied++;
            else if (result !== undefined) console.log(`  reload refused: ${result.errors.join('; ')}`);
          } else {
            // SIGHUP answers nothing: the next status shows whether the extra mailboxes came or went.
            child.kill('SIGHUP');
            const expected = world.mailboxes.length + (withExtra ? EXTRA_MAILBOXES : 0);
            for (let attempt = 0; attempt < 100; attempt++) {
              if ((await steady.listMailboxes().catch(() => [])).length === expected) {
                counters.reloadsApplied++;
                break;
              }
              await sleep(100);
            }
          }
        }
        // End with the base config, as at the start, so the end state compares like with like.
        if (withExtra) {
          await world.writeConfig(false);
          counters.reloads++;
          if ((await steady.reload().catch(() => undefined))?.applied === true) counters.reloadsApplied++;
        }
      })(),
    );
    // Faults on for a window, then off, each kind in turn.
    tasks.push(
      (async () => {
        let next = 0;
        while (performance.now() + options.faultIntervalSeconds * 1000 < endAt) {
          await sleep((options.faultIntervalSeconds - options.faultSeconds) * 1000);
          const kind = FAULT_KINDS[next++ % FAULT_KINDS.length]!;
          world.faults.on(kind);
          console.log(`  ${((options.minutes * 60_000 - (endAt - performance.now())) / 1000).toFixed(0)} s: fault ${kind} on for ${options.faultSeconds} s (${describeState(readProcessState(pid))}; ${describeSockets(pid)})`);
          await sleep(options.faultSeconds * 1000);
          world.faults.off();
        }
      })(),
    );
    await Promise.all(tasks);
    stopping.abort();
    world.faults.off();
    const recoveryMs = await waitAllReady(steady, world.mailboxes.length, 600_000);
    await sleep(15_000);
    const atEnd = readProcessState(pid);
    console.log(`settled at the end (all READY ${(recoveryMs / 1000).toFixed(1)} s after the load stopped, then 15 s): ${describeState(atEnd)}; sockets: ${describeSockets(pid)}`);
    figures.push(...summarise(atStart, atEnd, recoveryMs, world));
  } finally {
    steady.close();
    stoppingDaemon = true;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await world.sandbox.close();
    await rm(world.directory, { recursive: true, force: true });
  }
  figures.push({ figure: 'the daemon exited by itself', value: unexpectedExit === undefined ? 'no' : `yes: ${unexpectedExit.slice(0, 2_000)}`, target: 'no', pass: unexpectedExit === undefined });
  console.log('');
  figures.forEach(printFigure);
  if (figures.some((figure) => figure.pass === false)) process.exitCode = 1;
}

function summarise(atStart: ProcessState, atEnd: ProcessState, recoveryMs: number, world: World): Figure[] {
  const failed = [...counters.failed].map(([code, count]) => `${code} ${count}`).join(', ') || 'none';
  const windows = [...world.faults.windows].map(([kind, count]) => `${kind} ${count}`).join(', ');
  return [
    { figure: 'GetToken calls answered with a token', value: `${counters.served} of ${counters.calls} (failed: ${failed}) from ${counters.clients} short-lived clients and one steady one`, target: '-', pass: undefined },
    { figure: 'tokens served with less than min_validity left', value: String(counters.underMinValidity), target: '0', pass: counters.underMinValidity === 0 },
    { figure: 'tokens served that the authorization server no longer accepts', value: String(counters.rejectedBySandbox), target: '0', pass: counters.rejectedBySandbox === 0 },
    { figure: 'WatchToken pushes (streams opened)', value: `${counters.pushes} (${counters.watches})`, target: '-', pass: undefined },
    { figure: 'WatchToken pushes with less than min_validity left', value: String(counters.pushesUnderMinValidity), target: '0', pass: counters.pushesUnderMinValidity === 0 },
    { figure: 'reloads applied', value: `${counters.reloadsApplied} of ${counters.reloads}`, target: 'all', pass: counters.reloadsApplied === counters.reloads },
    { figure: 'fault windows', value: windows || 'none', target: '-', pass: undefined },
    { figure: 'token answers of the authorization server', value: String(world.tokenAnswers), target: '-', pass: undefined },
    { figure: 'every mailbox READY again after the faults stopped', value: `${(recoveryMs / 1000).toFixed(1)} s`, target: '< 330 s (the 300 s backoff cap, a sweep, a request)', pass: recoveryMs < 330_000 },
    { figure: 'resident memory, start -> end (settled)', value: `${atStart.rssMb.toFixed(0)} -> ${atEnd.rssMb.toFixed(0)} MB (peak ${atEnd.peakMb.toFixed(0)} MB)`, target: 'end < 1.25 x start', pass: atEnd.rssMb < 1.25 * atStart.rssMb },
    { figure: 'open file descriptors, start -> end', value: `${atStart.fileDescriptors} -> ${atEnd.fileDescriptors}`, target: 'end <= start + 5', pass: atEnd.fileDescriptors <= atStart.fileDescriptors + 5 },
    { figure: 'open sockets, start -> end', value: `${atStart.sockets} -> ${atEnd.sockets}`, target: 'end <= start + 5', pass: atEnd.sockets <= atStart.sockets + 5 },
    { figure: 'threads, start -> end', value: `${atStart.threads} -> ${atEnd.threads}`, target: 'end <= start', pass: atEnd.threads <= atStart.threads },
  ];
}

await main();
