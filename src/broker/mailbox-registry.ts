// Which mailboxes the engine has and which token line each one is on: the
// slots by name, the lines by id (a shared application identity puts several
// mailboxes on one line), and one concurrency limit per authorization server.
import type { MailboxConfig } from '../config/index.js';
import { BrokerError } from '../errors/index.js';
import { credentialFingerprint } from '../store/index.js';
import type { Clock } from '../time/index.js';
import { ConcurrencyLimit } from './concurrency-limit.js';
import type { GrantDependencies, GrantFactory } from './grants/index.js';
import { tokenLineId } from './line-identity.js';
import { MailboxSlot } from './mailbox-slot.js';
import { TokenLine } from './token-line.js';
import type { LineDependencies } from './token-line.js';

export interface RegistryDependencies {
  readonly clock: Clock;
  readonly grantFactory: GrantFactory;
  readonly grantDependencies: GrantDependencies;
  /** What every line gets, but its server's concurrency limit. */
  readonly line: Omit<LineDependencies, 'serverLimit'>;
  readonly maxConcurrentPerServer: number;
}

export class MailboxRegistry {
  readonly slots = new Map<string, MailboxSlot>();
  readonly lines = new Map<string, TokenLine>();
  readonly #limits = new Map<string, ConcurrencyLimit>();
  readonly #dependencies: RegistryDependencies;
  #maxConcurrentPerServer: number;

  constructor(dependencies: RegistryDependencies) {
    this.#dependencies = dependencies;
    this.#maxConcurrentPerServer = dependencies.maxConcurrentPerServer;
  }

  /** The slot of `mailbox`; throws unknown_mailbox. */
  slot(mailbox: string): MailboxSlot {
    const slot = this.slots.get(mailbox);
    if (slot === undefined) throw unknownMailbox(mailbox);
    return slot;
  }

  /** A slot for `config` made for `line` and joined to it, not yet registered (see adopt). */
  newSlot(config: MailboxConfig, line: TokenLine): MailboxSlot {
    const slot = new MailboxSlot(config, { fingerprint: credentialFingerprint(config) }, line, this.#dependencies.clock.now());
    line.join(slot);
    return slot;
  }

  /** A line for `config`, not yet registered (see place and adopt). */
  newLine(config: MailboxConfig): TokenLine {
    const id = tokenLineId(config);
    const server = config.authorizationServer.name;
    let serverLimit = this.#limits.get(server);
    if (serverLimit === undefined) {
      serverLimit = new ConcurrencyLimit(this.#maxConcurrentPerServer);
      this.#limits.set(server, serverLimit);
    }
    const { grantFactory, grantDependencies, line } = this.#dependencies;
    return new TokenLine(id, grantFactory(config, grantDependencies), { ...line, serverLimit }, sharesToken(config, id) ? applicationFingerprint(config) : undefined);
  }

  /** Registers a slot for `config` on its line, joining a shared one when it exists. */
  place(config: MailboxConfig): MailboxSlot {
    const id = tokenLineId(config);
    let line = this.lines.get(id);
    if (line === undefined) {
      line = this.newLine(config);
      this.lines.set(id, line);
    }
    const slot = this.newSlot(config, line);
    this.slots.set(config.name, slot);
    return slot;
  }

  /** Registers a slot already joined to a new line (made with newLine and newSlot). */
  adopt(slot: MailboxSlot): void {
    this.slots.set(slot.config.name, slot);
    this.lines.set(slot.line.id, slot.line);
  }

  /**
   * Takes the slot off its line (the line goes when it has no mailbox left); the name stays registered.
   * True when the mailbox's record of the previous store layout is still to be deleted (TokenLine.leave).
   */
  unplace(slot: MailboxSlot): boolean {
    const line = slot.line;
    const legacy = line.leave(slot);
    if (line.members.length === 0 && this.lines.get(line.id) === line) this.lines.delete(line.id);
    return legacy;
  }

  remove(slot: MailboxSlot): void {
    this.unplace(slot);
    if (this.slots.get(slot.config.name) === slot) this.slots.delete(slot.config.name);
  }

  /** A reload changed refresh.maxConcurrentPerServer. */
  resizeLimits(maxConcurrentPerServer: number): void {
    this.#maxConcurrentPerServer = maxConcurrentPerServer;
    for (const limit of this.#limits.values()) limit.resize(maxConcurrentPerServer);
  }

  /** The refresh settings changed: every due time moves with them. */
  refreshDueTimes(): void {
    for (const slot of this.slots.values()) slot.updateRefreshDueAt();
  }
}

/**
 * Whether the mailboxes on `config`'s line share one token, so the line keeps
 * one record of its own: tokenLineId names such a line after the application
 * (`app:<digest>`, client credentials), every other line after its one mailbox.
 */
function sharesToken(config: MailboxConfig, lineId: string): boolean {
  return lineId !== config.name;
}

/**
 * What a shared line's record must carry to be served: the credential
 * fingerprint without the user, which every member has in common. Not the
 * line id: the id is already the record's key (bound into its encryption),
 * a truncated digest that also covers the proxy route; the fingerprint
 * answers exactly "obtained with these credentials?", as a mailbox record's does.
 */
function applicationFingerprint(config: MailboxConfig): string {
  return credentialFingerprint({ ...config, username: '' });
}

export function unknownMailbox(mailbox: string): BrokerError {
  return new BrokerError(`no mailbox named "${mailbox}" is configured.`, {
    code: 'unknown_mailbox',
    permanent: true,
    mailbox,
    remediation: 'Check the name against `token-broker status` or the mailboxes section of the config.',
  });
}
