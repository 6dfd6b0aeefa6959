// Which mailboxes one client of server.clients may read. The configured
// mailboxes its patterns match are found once, when the config is loaded or
// reloaded, so a GetToken is a set lookup; only a name that is not configured
// (unknown, or added by a reload not yet applied here) is matched against
// the patterns, in linear time.
import { compileGlob } from '../config/index.js';
import type { GlobPattern } from '../config/index.js';

export class MailboxAllowList {
  /** The configured mailboxes the patterns match. */
  readonly readable: ReadonlySet<string>;
  readonly #configured: ReadonlySet<string>;
  readonly #patterns: readonly GlobPattern[];

  constructor(patterns: readonly string[], configured: ReadonlySet<string>) {
    this.#patterns = patterns.map(compileGlob);
    this.#configured = configured;
    const readable = new Set<string>();
    for (const name of configured) if (this.#matches(name)) readable.add(name);
    this.readable = readable;
  }

  mayRead(mailbox: string): boolean {
    if (this.readable.has(mailbox)) return true;
    // Configured and not readable: no need to match.
    if (this.#configured.has(mailbox)) return false;
    return this.#matches(mailbox);
  }

  #matches(name: string): boolean {
    return this.#patterns.some((pattern) => pattern.matches(name));
  }
}
