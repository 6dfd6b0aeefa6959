// The daemon in-process with one mailbox that needs a person (so it asks no
// authorization server): for tests of the gRPC face itself (listeners,
// reflection) that need a running broker and nothing else.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { startDaemon } from '../../src/daemon/index.js';
import type { DaemonOptions, RunningDaemon } from '../../src/daemon/index.js';
import { silentLogger } from '../../src/logging/index.js';

/**
 * Writes a config listening on `address` (e.g. `unix:///tmp/x/broker.sock`, or several) into `directory` and
 * starts the daemon on it, with `options` beside the silent logger (connection limits, say).
 */
export async function startIdleDaemon(directory: string, address: string | readonly string[], options: Omit<DaemonOptions, 'logger'> = {}): Promise<RunningDaemon> {
  const configFile = path.join(directory, `${randomUUID()}.yaml`);
  const listen = (typeof address === 'string' ? [address] : address).map((entry) => `"${entry}"`).join(', ');
  await writeFile(
    configFile,
    `server: { listen: [${listen}] }
store: { url: "memory:" }
mailboxes:
  user-imap:
    protocol: imap
    grantType: authorization-code
    tenantId: ${randomUUID()}
    clientId: ${randomUUID()}
    redirectUri: http://localhost:8400/callback
    redirectPlatform: desktop
    username: alice@contoso.example
`,
  );
  const loaded = await loadConfig(configFile);
  assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.problems));
  return startDaemon(loaded.config, { ...options, logger: silentLogger() });
}
