// One daemon test's world: a temp folder with the sandbox CA, the Entra-shaped
// sandbox, a broker config written by the test, the real daemon binary on a
// unix socket, and a client; torn down in reverse by stop().
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TokenBrokerClient } from '../../src/client/index.js';
import { startSandbox } from '../../src/sandbox/index.js';
import type { Sandbox, SandboxOptions } from '../../src/sandbox/index.js';
import { startDaemonProcess } from './daemon-process.js';
import type { DaemonProcess } from './daemon-process.js';

export interface BrokerEnvironment {
  readonly directory: string;
  readonly sandbox: Sandbox;
  /** unix:///…/broker.sock */
  readonly address: string;
  readonly configFile: string;
  readonly daemon: DaemonProcess;
  readonly client: TokenBrokerClient;
  stop(): Promise<void>;
}

export interface BrokerEnvironmentOptions {
  readonly prefix: string;
  readonly sandbox?: SandboxOptions;
  /** Registers applications and users, writes extra files; runs before the config is written. */
  readonly setup?: (sandbox: Sandbox, directory: string) => Promise<void> | void;
  /** The broker config (YAML). `ca.pem` in `directory` holds the sandbox CA. */
  readonly config: (context: { readonly sandbox: Sandbox; readonly directory: string; readonly address: string }) => string;
  readonly env?: NodeJS.ProcessEnv;
  /** Extra arguments of `token-broker serve`, e.g. `--no-watch-config`. */
  readonly serveArgs?: readonly string[];
}

export async function startBrokerEnvironment(options: BrokerEnvironmentOptions): Promise<BrokerEnvironment> {
  const directory = await mkdtemp(path.join(tmpdir(), options.prefix));
  const sandbox = await startSandbox(options.sandbox);
  let daemon: DaemonProcess | undefined;
  try {
    await writeFile(path.join(directory, 'ca.pem'), sandbox.caCertificatePem);
    await options.setup?.(sandbox, directory);
    const address = `unix://${path.join(directory, 'broker.sock')}`;
    const configFile = path.join(directory, 'broker.yaml');
    await writeFile(configFile, options.config({ sandbox, directory, address }));
    daemon = await startDaemonProcess(configFile, address, options.env, options.serveArgs);
    const client = new TokenBrokerClient({ address });
    const started = daemon;
    return {
      directory,
      sandbox,
      address,
      configFile,
      daemon: started,
      client,
      async stop() {
        client.close();
        await started.stop();
        await sandbox.close();
        await rm(directory, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await daemon?.stop();
    await sandbox.close();
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
}

/** A client-credentials mailbox on the (overridden) microsoft server, as YAML lines under `mailboxes:`. */
export function clientCredentialsMailbox(name: string, tenantId: string, clientId: string, secret: string, extra = ''): string {
  return `  ${name}:
    protocol: imap
    grantType: client-credentials
    tenantId: ${tenantId}
    clientId: ${clientId}
    clientSecret: ${secret}
    username: ${name}@contoso.example
${extra}`;
}

/** An authorization-code IMAP mailbox of a public (desktop) client on the (overridden) microsoft server, as YAML lines under `mailboxes:`. */
export function desktopAuthorizationCodeMailbox(name: string, tenantId: string, clientId: string, redirectUri: string, username: string): string {
  return `  ${name}:
    protocol: imap
    grantType: authorization-code
    tenantId: ${tenantId}
    clientId: ${clientId}
    redirectUri: ${redirectUri}
    redirectPlatform: desktop
    username: ${username}
`;
}

/**
 * A broker config on the sandbox as the (overridden) microsoft server, with a
 * store of `storeUrl` keyed by `store.key`, and `mailboxes` (YAML lines under
 * `mailboxes:`); `ca.pem` beside the config holds the sandbox CA.
 */
export function sandboxBrokerConfig(address: string, sandboxUrl: string, storeUrl: string, mailboxes: string): string {
  return `server: { listen: ["${address}"] }
store:
  url: ${storeUrl}
  encryptionKeyFile: store.key
authorizationServers:
  microsoft: { authorityHost: "${sandboxUrl}", caFile: ca.pem }
mailboxes:
${mailboxes}`;
}
