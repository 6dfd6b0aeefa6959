// The fleet of issue 11's table: the project's sandbox in this process
// (Entra-shaped, answering after a delay), 200 applications and 3,000 ROPC
// users in one tenant, and a broker config of 10,000 mailboxes on a SQLite
// store in a temp folder. The daemon runs as its real binary and is measured
// from outside only (health, /proc, the sandbox's request counts).
import { randomBytes, randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSandbox } from '../../src/sandbox/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import type { FleetOptions } from './options.js';

export interface Fleet {
  readonly options: FleetOptions;
  readonly directory: string;
  readonly configFile: string;
  /** unix:///…/broker.sock */
  readonly address: string;
  readonly sandbox: Sandbox;
  /** Every mailbox name in the config. */
  readonly mailboxes: readonly string[];
  /** Token lines: one per cc application (its mailboxes share one token) plus one per ROPC mailbox. */
  readonly lines: number;
  /** Token answers the sandbox has written so far, in order. */
  readonly answers: readonly TokenAnswer[];
  close(): Promise<void>;
}

export interface TokenAnswer {
  /** performance.now() when the token was minted, before the answer delay. */
  readonly at: number;
  /** The token line it is for: the user (ROPC) or the application (client credentials). */
  readonly line: string;
}

const TENANT = randomUUID();
/** "Allow public client flows": the ROPC app, as Entra wants it for passwords without a secret. */
const PUBLIC_APP = randomUUID();

/** Sync cleanups run on SIGINT/SIGTERM or a hard timeout, so no temp folder or daemon outlives the benchmark. */
const emergencyCleanups = new Set<() => void>();

export function onEmergency(cleanup: () => void): () => void {
  emergencyCleanups.add(cleanup);
  return () => emergencyCleanups.delete(cleanup);
}

export function runEmergencyCleanups(): void {
  for (const cleanup of emergencyCleanups) {
    try {
      cleanup();
    } catch {
      // Best effort: the process is about to exit.
    }
  }
  emergencyCleanups.clear();
}

export async function startFleet(options: FleetOptions, lifetimeSeconds = options.lifetimeSeconds ?? 3600): Promise<Fleet> {
  const directory = await mkdtemp(path.join(tmpdir(), 'tb-fleet-'));
  const removeDirectory = (): void => rmSync(directory, { recursive: true, force: true });
  const forget = onEmergency(removeDirectory);
  const sandbox = await startSandbox({ accessTokenLifetimeSeconds: lifetimeSeconds });
  const answers: TokenAnswer[] = [];
  // Every answer waits as an Entra round trip would; the timestamp is taken before the wait (when the token was minted).
  sandbox.hooks.beforeTokenResponse = async (info) => {
    answers.push({ at: performance.now(), line: info.username ?? info.clientId });
    if (options.delayMs > 0) await sleep(options.delayMs);
  };
  try {
    const ccCount = Math.round(options.mailboxes * 0.7);
    const ropcCount = options.mailboxes - ccCount;
    const applications = Math.min(options.applications, Math.max(1, ccCount));
    const apps = Array.from({ length: applications }, (_, index) => ({ clientId: randomUUID(), secret: `fleet-secret-${index}-${randomUUID()}` }));
    for (const app of apps) sandbox.registerApplication({ tenantId: TENANT, clientId: app.clientId, clientSecret: app.secret });
    sandbox.registerApplication({ tenantId: TENANT, clientId: PUBLIC_APP, publicClient: true });

    const names: string[] = [];
    const yaml: string[] = [];
    for (let index = 0; index < ccCount; index++) {
      const name = `cc-${String(index + 1).padStart(5, '0')}`;
      const app = apps[index % apps.length];
      if (app === undefined) throw new Error('no application');
      names.push(name);
      yaml.push(`  ${name}:
    protocol: imap
    grantType: client-credentials
    tenantId: ${TENANT}
    clientId: ${app.clientId}
    clientSecret: ${app.secret}
    username: ${name}@contoso.example
`);
    }
    for (let index = 0; index < ropcCount; index++) {
      const name = `ropc-${String(index + 1).padStart(5, '0')}`;
      const user = { username: `${name}@contoso.example`, password: `pw-${randomUUID()}` };
      sandbox.registerUser({ tenantId: TENANT, ...user });
      names.push(name);
      // ROPC is Graph-only (src/config/grant-rules.ts).
      yaml.push(`  ${name}:
    protocol: graph
    grantType: ropc
    tenantId: ${TENANT}
    clientId: ${PUBLIC_APP}
    username: ${user.username}
    password: ${user.password}
`);
    }

    await writeFile(path.join(directory, 'ca.pem'), sandbox.caCertificatePem);
    await writeFile(path.join(directory, 'store.key'), `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    const address = `unix://${path.join(directory, 'broker.sock')}`;
    const configFile = path.join(directory, 'broker.yaml');
    const lead = options.leadTimeSeconds === undefined ? '' : `\n  leadTimeSeconds: ${options.leadTimeSeconds}`;
    await writeFile(
      configFile,
      `server: { listen: ["${address}"] }
store:
  url: sqlite://tokens.sqlite
  encryptionKeyFile: store.key
refresh:
  maxConcurrentPerServer: ${options.maxConcurrentPerServer}${lead}
authorizationServers:
  microsoft: { authorityHost: "${sandbox.url}", caFile: ca.pem }
mailboxes:
${yaml.join('')}`,
      // As ops keep a config that holds secrets (validate warns about a file others may read).
      { mode: 0o600 },
    );
    return {
      options,
      directory,
      configFile,
      address,
      sandbox,
      mailboxes: names,
      lines: (ccCount > 0 ? applications : 0) + ropcCount,
      answers,
      async close() {
        await sandbox.close();
        removeDirectory();
        forget();
      },
    };
  } catch (error) {
    await sandbox.close();
    removeDirectory();
    forget();
    throw error;
  }
}
