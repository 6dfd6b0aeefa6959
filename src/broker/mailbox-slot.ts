// One configured mailbox inside the engine: its settings, the token as this
// mailbox hands it out (its own SASL user), its watchers and when a client
// last asked for it. Acquisition, failures and the refresh token belong to
// its token line (token-line.ts), which it may share with other mailboxes.
import type { MailboxConfig } from '../config/index.js';
import { BrokerError } from '../errors/index.js';
import { mailboxCredentialDeaths } from '../forecast/index.js';
import type { StoredToken } from '../store/index.js';
import type { Grant, TokenResult } from './grants/index.js';
import { issueToken } from './issued-token.js';
import { settingsDigest } from './line-identity.js';
import type { IssuedToken } from './issued-token.js';
import type { MailboxStatus } from './mailbox-status.js';
import type { AcquireOptions, LineMember, TokenLine } from './token-line.js';

/** Gets every new token of a mailbox; `end` when the mailbox goes away (reload) and no more will come. */
export interface TokenWatcher {
  readonly next: (token: IssuedToken) => void;
  readonly end?: (reason: BrokerError) => void;
}

export class MailboxSlot implements LineMember {
  readonly config: MailboxConfig;
  /** credentialFingerprint(config): stored tokens of other credentials are never served. */
  readonly fingerprint: string;
  /** settingsDigest(config), made on first use: only a reload compares it, and a start of 10,000 mailboxes need not pay for it. */
  #settings: string | undefined;
  /** The line this slot is made for; it joins it right after (line.join). */
  readonly line: TokenLine;
  token: IssuedToken | undefined;
  /** When `token` is due for refresh (ms): computed when it arrives, so the cached path only compares numbers. */
  refreshDueAt = Number.POSITIVE_INFINITY;
  /** When a client last asked for this mailbox (ms); idle mailboxes are not refreshed ahead. */
  lastUsedAt: number;
  readonly #watchers = new Set<TokenWatcher>();

  constructor(config: MailboxConfig, identity: { fingerprint: string }, line: TokenLine, now: number) {
    this.config = config;
    this.fingerprint = identity.fingerprint;
    this.line = line;
    // A new mailbox counts as used: the broker warms it at start.
    this.lastUsedAt = now;
  }

  /** Equal digests mean a reload leaves the mailbox as it is. */
  get settings(): string {
    this.#settings ??= settingsDigest(this.config);
    return this.#settings;
  }

  get grant(): Grant {
    return this.line.grant;
  }

  get watched(): boolean {
    return this.#watchers.size > 0;
  }

  /** Calls `watcher` with every new token from now on. */
  watch(watcher: TokenWatcher): void {
    this.#watchers.add(watcher);
  }

  unwatch(watcher: TokenWatcher): void {
    this.#watchers.delete(watcher);
  }

  /** Hands the watchers to the slot that replaces this one on reload. */
  moveWatchersTo(successor: MailboxSlot): void {
    for (const watcher of this.#watchers) successor.#watchers.add(watcher);
    this.#watchers.clear();
  }

  /** The mailbox is gone: every watcher ends with `reason`. */
  endWatchers(reason: BrokerError): void {
    const watchers = [...this.#watchers];
    this.#watchers.clear();
    for (const watcher of watchers) watcher.end?.(reason);
  }

  /** The line's acquisition, then this mailbox's token. */
  acquire(options?: AcquireOptions): Promise<IssuedToken> {
    return this.#tokenAfter(this.line.acquire(options));
  }

  /**
   * A mail server refused `rejectedAccessToken`: the line's forced refresh,
   * then this mailbox's token; undefined when the line had one too recently.
   */
  forceRefresh(rejectedAccessToken: string | undefined, now: number): Promise<IssuedToken> | undefined {
    const refresh = this.line.forceRefresh(rejectedAccessToken, now);
    return refresh === undefined ? undefined : this.#tokenAfter(refresh);
  }

  async #tokenAfter(acquisition: Promise<void>): Promise<IssuedToken> {
    try {
      await acquisition;
    } catch (error) {
      throw this.ownError(error);
    }
    const token = this.token;
    if (token === undefined) throw new BrokerError(`mailbox ${this.config.name}: the acquisition ended without a token.`, { code: 'internal', mailbox: this.config.name });
    return token;
  }

  /**
   * A token from an interactive authorization (or a test): installed for the
   * whole line. A token the line does not hand out (the store refused its
   * new refresh token; the server sent it already expired) is recorded as
   * the line's failure, so the status that the authorization answers with
   * says why; it does not throw (a device-code completion has no caller).
   */
  async install(result: TokenResult): Promise<void> {
    try {
      await this.line.install(result);
    } catch (error) {
      this.line.recordFailure(error);
    }
  }

  recordFailure(error: unknown): BrokerError {
    return this.line.recordFailure(error);
  }

  /** Issues `stored` as this mailbox's token; `announce` tells the watchers. */
  setToken(stored: StoredToken, announce: boolean): void {
    const { accessToken, tokenType, expiresAt, scopes, obtainedAt } = stored;
    const token = issueToken(this.config, { accessToken, tokenType, expiresAt, scopes }, obtainedAt);
    this.token = token;
    this.refreshDueAt = this.line.dueAt(token);
    if (announce) for (const watcher of this.#watchers) watcher.next(token);
  }

  /**
   * A failure of a shared line names the mailbox whose settings made the
   * request; asked about this one, say so, so the operator is not sent
   * looking at the wrong mailbox.
   */
  ownError<T>(error: T): T | BrokerError {
    if (!(error instanceof BrokerError) || error.mailbox === undefined || error.mailbox === this.config.name) return error;
    return new BrokerError(`mailbox ${this.config.name} shares the application token of mailbox ${error.mailbox}: ${error.message}`, {
      code: error.code,
      permanent: error.permanent,
      mailbox: this.config.name,
      ...(error.authorizationServer === undefined ? {} : { authorizationServer: error.authorizationServer }),
      ...(error.oauth === undefined ? {} : { oauth: error.oauth }),
      ...(error.remediation === undefined ? {} : { remediation: error.remediation }),
      ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
      cause: error,
    });
  }

  /** The refresh settings changed (reload): the due time moves with them. */
  updateRefreshDueAt(): void {
    if (this.token !== undefined) this.refreshDueAt = this.line.dueAt(this.token);
  }

  status(now: number): MailboxStatus {
    const { config, token } = this;
    const { state, lastRefreshAt, refreshTokenUsedAt, lastError, refreshTokenFacts } = this.line.status(token !== undefined && token.expiresAt > now);
    const credentialDeaths = mailboxCredentialDeaths(config, refreshTokenFacts);
    return {
      mailbox: config.name,
      protocol: config.protocol,
      grantType: config.grantType,
      authorizationServer: config.authorizationServer.name,
      state,
      tokenExpiresAt: token?.expiresAt,
      lastRefreshAt,
      refreshTokenUsedAt,
      lastUsedAt: this.lastUsedAt,
      lastError: lastError === undefined ? undefined : this.ownError(lastError),
      ...(credentialDeaths.length === 0 ? {} : { credentialDeaths }),
    };
  }
}
