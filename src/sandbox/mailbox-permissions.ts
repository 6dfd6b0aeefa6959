// Who may open which mailbox, as Exchange Online keeps it: FullAccess
// (Add-MailboxPermission) and SendAs (Add-RecipientPermission) granted to a
// user (a delegate, typically of a shared mailbox) or to an application's
// service principal. A user's own mailbox needs no grant: the access rules
// (resource-access.ts) give the owner every right.
import type { MailboxRight } from './types.js';

export const MAILBOX_RIGHTS: readonly MailboxRight[] = ['FullAccess', 'SendAs'];

const NO_RIGHTS: ReadonlySet<MailboxRight> = new Set();

/** What the access rules need to know of mailboxes; MailboxPermissions is the real one, unit tests bring their own. */
export interface MailboxView {
  /** A user's mailbox (its UPN) or one a grant named (a shared mailbox). */
  exists(address: string): boolean;
  /** Rights granted to a user's UPN or an application's client id; the own-mailbox rule is not applied here. */
  rightsOf(mailbox: string, principal: string): ReadonlySet<MailboxRight>;
}

export class MailboxPermissions implements MailboxView {
  /** mailbox (lower-case) -> principal (lower-case) -> rights. */
  readonly #grants = new Map<string, Map<string, Set<MailboxRight>>>();
  readonly #isUserMailbox: (address: string) => boolean;

  constructor(isUserMailbox: (address: string) => boolean) {
    this.#isUserMailbox = isUserMailbox;
  }

  /** Adds rights; the caller has checked that the principal exists. */
  grant(mailbox: string, principal: string, rights: readonly MailboxRight[] = MAILBOX_RIGHTS): void {
    const address = requireAddress(mailbox);
    if (typeof principal !== 'string' || principal.trim().length === 0) {
      throw new TypeError('"principal" must be a UPN or a client id');
    }
    const given: unknown = rights;
    if (!Array.isArray(given) || given.length === 0 || !given.every(isMailboxRight)) {
      throw new TypeError(`"rights" must be a non-empty list of ${MAILBOX_RIGHTS.join(', ')}`);
    }
    let principals = this.#grants.get(address.toLowerCase());
    if (principals === undefined) {
      principals = new Map();
      this.#grants.set(address.toLowerCase(), principals);
    }
    const granted = principals.get(principal.toLowerCase()) ?? new Set<MailboxRight>();
    for (const right of rights) granted.add(right);
    principals.set(principal.toLowerCase(), granted);
  }

  exists(address: string): boolean {
    return this.#grants.has(address.toLowerCase()) || this.#isUserMailbox(address);
  }

  rightsOf(mailbox: string, principal: string): ReadonlySet<MailboxRight> {
    return this.#grants.get(mailbox.toLowerCase())?.get(principal.toLowerCase()) ?? NO_RIGHTS;
  }
}

function isMailboxRight(value: unknown): value is MailboxRight {
  return MAILBOX_RIGHTS.includes(value as MailboxRight);
}

/** A mailbox address: local@domain, no whitespace. */
export function requireAddress(value: unknown, name = 'mailbox'): string {
  if (typeof value !== 'string' || !/^[^@\s/]+@[^@\s/]+$/.test(value)) {
    throw new TypeError(`"${name}" must be an address like name@domain, got '${String(value)}'`);
  }
  return value;
}
