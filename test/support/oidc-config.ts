// Builds real, validated MailboxConfigs for the oidc grant tests (through
// loadConfigFromText, so what the grants see is what the daemon would), and
// the dependencies a grant needs.
import { rmSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { stringify } from 'yaml';
import { createOidcGrant } from '../../src/broker/grants/oidc/index.js';
import type { Grant, GrantDependencies } from '../../src/broker/grants/index.js';
import { loadConfigFromText } from '../../src/config/index.js';
import type { MailboxConfig } from '../../src/config/index.js';
import { HttpTransport } from '../../src/http/index.js';
import type { Clock } from '../../src/time/index.js';
import { systemClock } from '../../src/time/index.js';

const folders: string[] = [];
process.once('exit', () => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

/** A throw-away folder for a config and the files it names (CA, certificate). */
export async function configFolder(files: Record<string, string> = {}): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'oidc-test-'));
  folders.push(folder);
  for (const [name, content] of Object.entries(files)) await writeFile(join(folder, name), content);
  return folder;
}

/** Loads `config` (an object, written as YAML into `folder`) and returns its mailboxes; fails the test on any error. */
export async function loadMailboxes(config: object, folder: string): Promise<ReadonlyMap<string, MailboxConfig>> {
  const result = await loadConfigFromText(stringify({ store: { url: 'memory:' }, ...config }), { file: join(folder, 'broker.yaml'), env: {} });
  if (!result.ok) throw new Error(`test config invalid:\n${result.problems.map((problem) => `${problem.path}: ${problem.message}`).join('\n')}`);
  return result.config.mailboxes;
}

export async function loadMailbox(config: object, folder: string, name: string): Promise<MailboxConfig> {
  const mailbox = (await loadMailboxes(config, folder)).get(name);
  if (mailbox === undefined) throw new Error(`test config has no mailbox ${name}`);
  return mailbox;
}

export interface GrantHarness {
  readonly dependencies: GrantDependencies;
  /** Every URL the grants fetched, in order. */
  readonly requested: string[];
  grant(mailbox: MailboxConfig): Grant;
  close(): Promise<void>;
}

/** Real HttpTransport, recording each URL it is asked for (to prove which requests a grant makes). */
export function grantHarness(clock: Clock = systemClock): GrantHarness {
  const requested: string[] = [];
  class RecordingTransport extends HttpTransport {
    override fetchFor(...args: Parameters<HttpTransport['fetchFor']>): ReturnType<HttpTransport['fetchFor']> {
      const fetch = super.fetchFor(...args);
      return (url, init) => {
        requested.push(String(url));
        return fetch(url, init);
      };
    }
  }
  const transport = new RecordingTransport();
  const dependencies: GrantDependencies = { transport, clock, logger: pino({ level: 'silent' }) };
  return {
    dependencies,
    requested,
    grant: (mailbox) => createOidcGrant(mailbox, dependencies),
    close: () => transport.close(),
  };
}
