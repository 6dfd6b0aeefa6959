// One in-process daemon test's world: a temp folder with the sandbox CA, the
// Entra-shaped sandbox, a broker config written by the test (mode 0600, as
// ops keep a file with secrets), the daemon in this process on a unix socket,
// and clients made for the test; torn down in reverse by stop(). The
// in-process twin of broker-environment.ts (which runs the real binary).
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TokenBrokerClient } from '../../src/client/index.js';
import { loadConfig } from '../../src/config/index.js';
import { startDaemon } from '../../src/daemon/index.js';
import type { DaemonOptions, RunningDaemon } from '../../src/daemon/index.js';
import { silentLogger } from '../../src/logging/index.js';
import { startSandbox } from '../../src/sandbox/index.js';
import type { Sandbox, SandboxOptions } from '../../src/sandbox/index.js';

export interface InProcessBroker {
  readonly directory: string;
  readonly sandbox: Sandbox;
  /** unix:///…/broker.sock */
  readonly address: string;
  readonly configFile: string;
  /** The daemon; stop() stops it unless the test already did (and set it to undefined). */
  daemon: RunningDaemon | undefined;
  /** A client of this daemon, closed by stop(). */
  connect(key?: string): TokenBrokerClient;
  stop(): Promise<void>;
}

export interface InProcessBrokerOptions {
  readonly prefix: string;
  readonly sandbox?: SandboxOptions;
  /** Registers applications and users, writes extra files; runs before the config is written. */
  readonly setup?: (sandbox: Sandbox, directory: string) => Promise<void> | void;
  /** The broker config (YAML). `ca.pem` in `directory` holds the sandbox CA. */
  readonly config: (context: { readonly sandbox: Sandbox; readonly directory: string; readonly address: string }) => string;
  /** Daemon options beside the silent logger (a clock, say). */
  readonly daemon?: Omit<DaemonOptions, 'logger'>;
}

export async function startInProcessBroker(options: InProcessBrokerOptions): Promise<InProcessBroker> {
  const directory = await mkdtemp(path.join(tmpdir(), options.prefix));
  const sandbox = await startSandbox(options.sandbox);
  const clients: TokenBrokerClient[] = [];
  try {
    await writeFile(path.join(directory, 'ca.pem'), sandbox.caCertificatePem);
    await options.setup?.(sandbox, directory);
    const address = `unix://${path.join(directory, 'broker.sock')}`;
    const configFile = path.join(directory, 'broker.yaml');
    await writeFile(configFile, options.config({ sandbox, directory, address }), { mode: 0o600 });
    const loaded = await loadConfig(configFile);
    assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.problems));
    const world: InProcessBroker = {
      directory,
      sandbox,
      address,
      configFile,
      daemon: await startDaemon(loaded.config, { ...options.daemon, logger: silentLogger() }),
      connect(key) {
        const client = new TokenBrokerClient({ address, key });
        clients.push(client);
        return client;
      },
      async stop() {
        for (const client of clients) client.close();
        await world.daemon?.stop(1_000);
        world.daemon = undefined;
        await sandbox.close();
        await rm(directory, { recursive: true, force: true });
      },
    };
    return world;
  } catch (error) {
    await sandbox.close();
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
}

/** The YAML of a client-credentials mailbox (two-space indented under `mailboxes:`). */
export function clientCredentialsMailbox(name: string, app: { readonly tenantId: string; readonly clientId: string; readonly clientSecret: string }, protocol = 'imap'): string {
  return `  ${name}:\n    protocol: ${protocol}\n    grantType: client-credentials\n    tenantId: ${app.tenantId}\n    clientId: ${app.clientId}\n    clientSecret: ${app.clientSecret}\n    username: ${name}@contoso.example\n`;
}
