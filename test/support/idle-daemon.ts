// The daemon in-process with one mailbox that needs a person (so it asks no
// authorization server): for tests of the gRPC face itself (listeners,
// reflection) that need a running broker and nothing else.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { startDaemon } from '../../src/daemon/index.js';
import type { RunningDaemon } from '../../src/daemon/index.js';
import { silentLogger } from '../../src/logging/index.js';

/** Writes a config listening on `address` (e.g. `unix:///tmp/x/broker.sock`) into `directory` and starts the daemon on it. */
export async function startIdleDaemon(directory: string, address: string): Promise<RunningDaemon> {
  const configFile = path.join(directory, `${randomUUID()}.yaml`);
  await writeFile(
    configFile,
    `server: { listen: ["${address}"] }
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
  return startDaemon(loaded.config, { logger: silentLogger() });
}
