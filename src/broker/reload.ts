// A reload of the mailboxes: what is added, removed and changed, and the
// order that keeps it safe. Acquisitions of mailboxes that go or change
// finish first (none may write a record after it is purged or replaced);
// store work happens next; the swap itself has no await, so a caller sees
// either the old mailboxes or the new ones. A shared line left without
// members by the swap has its record purged after it (only then is it
// known that no mailbox is on it any more, and nothing can start on it).
import type { Logger } from 'pino';
import type { MailboxConfig } from '../config/index.js';
import { BrokerError } from '../errors/index.js';
import { credentialFingerprint } from '../store/index.js';
import type { StoredToken, TokenStore } from '../store/index.js';
import type { IssuedToken } from './issued-token.js';
import { settingsDigest, tokenLineId } from './line-identity.js';
import type { MailboxRegistry } from './mailbox-registry.js';
import type { MailboxSlot } from './mailbox-slot.js';
import { TokenLine } from './token-line.js';

/** What a reload changed, by mailbox name (for the log line and the Reload RPC). */
export interface ReloadSummary {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /** Changed in any way; `reacquiring` lists those whose credentials changed. */
  readonly changed: readonly string[];
  readonly reacquiring: readonly string[];
}

export interface ReloadContext {
  readonly registry: MailboxRegistry;
  readonly store: TokenStore;
  readonly logger: Logger;
  /** Ends this instance's part of an interactive authorization of the mailbox. */
  readonly cancelAuthorization: (mailbox: string) => void;
}

export async function reloadMailboxes(mailboxes: Iterable<MailboxConfig>, context: ReloadContext): Promise<ReloadSummary> {
  const { registry, logger } = context;
  const configs = new Map<string, MailboxConfig>();
  for (const config of mailboxes) configs.set(config.name, config);
  const removed = [...registry.slots.keys()].filter((name) => !configs.has(name));
  const changed: string[] = [];
  const reacquiring: string[] = [];
  const added: MailboxConfig[] = [];
  for (const [name, config] of configs) {
    const old = registry.slots.get(name);
    if (old === undefined) added.push(config);
    else if (settingsDigest(config) !== old.settings) {
      changed.push(name);
      if (credentialFingerprint(config) !== old.fingerprint) reacquiring.push(name);
    }
  }

  const leaving = [...removed, ...changed].map((name) => registry.slot(name));
  const leftLines = [...new Set(leaving.map((slot) => slot.line))];
  await TokenLine.settle(leftLines);
  for (const name of [...removed, ...reacquiring]) {
    context.cancelAuthorization(name);
    await purge(name, removed.includes(name), context);
  }
  // Mailboxes that start a new line (several, for a new shared application) take up what the store holds (a record from an earlier run).
  const freshLines = new Map<string, TokenLine>();
  const fresh = new Map<string, MailboxSlot>();
  for (const config of added) {
    const id = tokenLineId(config);
    if (registry.lines.has(id)) continue;
    let line = freshLines.get(id);
    if (line === undefined) {
      line = registry.newLine(config);
      freshLines.set(id, line);
    }
    fresh.set(config.name, registry.newSlot(config, line));
  }
  await Promise.all([...freshLines.values()].map((line) => line.restore()));

  // From here on no await.
  for (const name of removed) {
    const slot = registry.slot(name);
    registry.remove(slot);
    slot.endWatchers(removedMailbox(name));
  }
  for (const name of changed) {
    const config = configs.get(name);
    if (config !== undefined) replace(registry.slot(name), config, !reacquiring.includes(name), registry);
  }
  for (const config of added) {
    const slot = fresh.get(config.name);
    if (slot !== undefined) registry.adopt(slot);
    else registry.place(config);
  }
  registry.refreshDueTimes();
  // A line id taken up again by a new line (a member changed, not its application) keeps its record.
  await Promise.all(leftLines.filter((line) => line.shared && !registry.lines.has(line.id)).map((line) => purgeLine(line, context)));

  const summary: ReloadSummary = { added: added.map((config) => config.name), removed, changed, reacquiring };
  logger.info(
    { added: summary.added, removed, changed, reacquiring },
    `configuration reloaded: ${summary.added.length} added, ${removed.length} removed, ${changed.length} changed (${reacquiring.length} with new credentials)`,
  );
  return summary;
}

/** Puts a slot with the new settings in the place of `old`; with the same credentials the token and refresh token carry over. */
function replace(old: MailboxSlot, config: MailboxConfig, sameCredentials: boolean, registry: MailboxRegistry): void {
  const legacy = registry.unplace(old);
  const successor = registry.place(config);
  const line = successor.line;
  if (sameCredentials) {
    // The new settings (proxy, shared mailbox, ...) apply from the next request.
    if (line.members.length === 1) line.inherit(old.line);
    // New credentials were purged already; these carry over, and so does deleting the mailbox's copy of the previous layout.
    if (legacy) line.keepLegacy(config.name);
    if (old.token !== undefined && successor.token === undefined) successor.setToken(storedTokenOf(old.token), false);
  }
  successor.lastUsedAt = old.lastUsedAt;
  old.moveWatchersTo(successor);
}

async function purge(mailbox: string, withPending: boolean, { store, logger }: ReloadContext): Promise<void> {
  try {
    await store.deleteMailbox(mailbox);
    if (withPending) await store.deletePendingAuthorization(mailbox);
  } catch (error) {
    // The mailbox still goes: a record left behind is never served (fingerprint) and is overwritten if it comes back.
    const failure = error instanceof BrokerError ? error.describe() : String(error);
    logger.error({ mailbox }, `the stored tokens of mailbox ${mailbox} could not be purged: ${failure}`);
  }
}

/** The last member of a shared line went: its token (an application's) is not kept at rest for nobody. */
async function purgeLine(line: TokenLine, { store, logger }: ReloadContext): Promise<void> {
  try {
    // Nothing new starts on a line off the registry; one that started before the swap must not write after the purge.
    await TokenLine.settle([line]);
    await store.deleteLine(line.id);
  } catch (error) {
    // A record left behind is never served to another application (its key and fingerprint are this one's) and is overwritten if it comes back.
    const failure = error instanceof BrokerError ? error.describe() : String(error);
    logger.error({ line: line.id }, `the stored token of token line ${line.id} could not be purged: ${failure}`);
  }
}

function storedTokenOf(token: IssuedToken): StoredToken {
  return { accessToken: token.accessToken, tokenType: token.tokenType, expiresAt: token.expiresAt, obtainedAt: token.obtainedAt, scopes: [...token.scopes] };
}

function removedMailbox(mailbox: string): BrokerError {
  return new BrokerError(`mailbox ${mailbox} was removed from the configuration by a reload.`, {
    code: 'unknown_mailbox',
    permanent: true,
    mailbox,
    remediation: 'Stop asking for it, or add it back to the mailboxes section of the config and reload.',
  });
}
