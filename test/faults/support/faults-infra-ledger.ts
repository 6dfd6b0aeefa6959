// Which refresh tokens the sandbox issued, to whom and to which daemon
// generation, set against what the broker's SQLite store holds while the
// daemon lies dead after a SIGKILL. Strict rotation makes every issued
// refresh token the only live one of its chain, so:
// - the store never goes back: what it holds is never older than what it held
//   at the previous kill (a received and stored refresh token is never lost);
// - at most one token issued to the killed generation is missing from the
//   store: the one whose answer was in flight (lost, or received but not yet
//   written) when the kill came; the broker stores before anything else;
// - every token the killed daemon logged as acquired ("token acquired" comes
//   after the store took the record) is in the store, or a newer one is;
// - a replay (AADSTS70008) or a fresh password grant can only follow such a
//   "stale" kill, once each: the lost-answer case, recovered with the password.
import { openTokenStore } from '../../../src/store/index.js';
import { silentLogger } from '../../../src/logging/index.js';
import type { TokenResponseInfo } from '../../../src/sandbox/index.js';

interface Issued {
  readonly token: string;
  readonly grantType: string;
  readonly generation: number;
}

/** What the store held for one mailbox after one kill. */
interface StoreCheck {
  readonly at: string;
  readonly user: string;
  readonly killedGeneration: number;
  /** Index of the stored refresh token among those issued to the user; -1 for none. */
  readonly index: number;
}

export class RefreshTokenLedger {
  /** "token acquired" lines read from killed daemons' logs: 0 would mean the check above saw nothing (a changed log line). */
  acquiredSeen = 0;
  readonly #problems: string[] = [];
  /**
   * Judged at the end, not at the kill: a request the daemon sent just before
   * its death may still be answered by the sandbox while the store is read.
   */
  readonly #checks: StoreCheck[] = [];
  readonly #issued = new Map<string, Issued[]>();
  readonly #successes = new Map<string, number>();
  /** What the store held for each user at the previous kill (index into #issued), -1 for nothing. */
  readonly #storedIndex = new Map<string, number>();
  /** The daemon generation running now: issued tokens are attributed to it. */
  readonly #generation: () => number;

  constructor(generation: () => number) {
    this.#generation = generation;
  }

  /** For sandbox.hooks.beforeTokenResponse. */
  record(info: TokenResponseInfo): void {
    this.#successes.set(info.grantType, (this.#successes.get(info.grantType) ?? 0) + 1);
    if (info.username === undefined || info.refreshToken === undefined) return;
    const user = info.username.toLowerCase();
    const list = this.#issued.get(user) ?? [];
    list.push({ token: info.refreshToken, grantType: info.grantType, generation: this.#generation() });
    this.#issued.set(user, list);
  }

  /** Token answers the sandbox sent (or, killed in the hook, meant to send) for `grantType`. */
  successes(grantType: string): number {
    return this.#successes.get(grantType) ?? 0;
  }

  /** Every rule broken so far. */
  get problems(): string[] {
    const late = this.#checks.flatMap((check) => {
      const missing = (this.#issued.get(check.user) ?? []).slice(check.index + 1).filter((entry) => entry.generation === check.killedGeneration);
      return missing.length > 1 ? [`${check.at}: ${missing.length} refresh tokens issued to the killed daemon are not in the store; only the one in flight at the kill may be missing`] : [];
    });
    return [...this.#problems, ...late];
  }

  /** Kills after which a mailbox's store held an older token than the newest issued to that daemon or before (an answer in flight was lost). */
  get staleKills(): number {
    return this.#checks.filter((check) => {
      const issued = this.#issued.get(check.user) ?? [];
      return issued.some((entry, index) => index > check.index && entry.generation <= check.killedGeneration);
    }).length;
  }

  /** Successful password grants for `username`. */
  passwordGrants(username: string): number {
    return (this.#issued.get(username.toLowerCase()) ?? []).filter((issued) => issued.grantType === 'password').length;
  }

  /**
   * Reads the refresh token each mailbox's record holds from the SQLite store
   * of a dead daemon (the project's own store code and key), and checks it
   * against what was issued; `users` maps mailbox to username.
   */
  async checkStore(storeUrl: string, encryptionKeyFile: string, users: ReadonlyMap<string, string>, killedGeneration: number, killedLog: string): Promise<void> {
    const store = await openTokenStore({ url: storeUrl, encryptionKeyFile }, { logger: silentLogger() });
    try {
      const records = await store.getMailboxes([...users.keys()]);
      for (const [mailbox, username] of users) {
        const record = records.get(mailbox);
        if (record instanceof Error) {
          this.#problems.push(`kill of generation ${killedGeneration}, ${mailbox}: its record cannot be read: ${record.message}`);
          continue;
        }
        this.#check(mailbox, username.toLowerCase(), record?.refreshToken, killedGeneration, acquiredAndStored(killedLog, mailbox));
      }
    } finally {
      await store.close();
    }
  }

  #check(mailbox: string, user: string, stored: string | undefined, killedGeneration: number, acquired: number): void {
    this.acquiredSeen += acquired;
    const issued = this.#issued.get(user) ?? [];
    const index = stored === undefined ? -1 : issued.findIndex((entry) => entry.token === stored);
    const at = `kill of generation ${killedGeneration}, ${mailbox}`;
    if (stored !== undefined && index === -1) {
      this.#problems.push(`${at}: the store holds a refresh token the sandbox never issued to ${user}`);
      return;
    }
    const before = this.#storedIndex.get(user) ?? -1;
    if (index < before) this.#problems.push(`${at}: the store went back from the ${before + 1}th to the ${index + 1}th refresh token issued: a stored refresh token was lost`);
    this.#storedIndex.set(user, Math.max(index, before));
    // One mailbox's token requests run one at a time, so its answers were received in the order the sandbox issued them.
    const issuedToKilled = issued.filter((entry) => entry.generation === killedGeneration);
    const lastStored = acquired === 0 ? undefined : issuedToKilled[Math.min(acquired, issuedToKilled.length) - 1];
    if (lastStored !== undefined && index < issued.indexOf(lastStored)) {
      this.#problems.push(`${at}: the daemon logged ${acquired} tokens acquired (stored), yet the store holds an older refresh token: a received and stored refresh token was lost`);
    }
    this.#checks.push({ at, user, killedGeneration, index });
  }
}

/** How many times `log` (pino JSON lines of one daemon generation) says the broker acquired, and so stored, a token for `mailbox`. */
function acquiredAndStored(log: string, mailbox: string): number {
  return log.split('\n').filter((line) => line.includes('"msg":"token acquired"') && line.includes(`"mailbox":"${mailbox}"`)).length;
}
