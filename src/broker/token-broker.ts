// The broker engine: one slot per configured mailbox, grouped into token
// lines (one per mailbox, or one per shared application identity). The
// cached path (cachedToken) is synchronous and does no I/O: it is what
// GetToken serves thousands of times a second. Everything else (acquisition,
// the sweep, reload, interactive authorization) goes through slots and lines.
import type { Logger } from 'pino';
import type { MailboxConfig, RefreshConfig } from '../config/index.js';
import { BrokerError } from '../errors/index.js';
import { credentialFingerprint } from '../store/index.js';
import type { StoredToken, TokenStore } from '../store/index.js';
import type { Clock } from '../time/index.js';
import { InteractiveAuthorizations } from './authorization/interactive-authorizations.js';
import type { AuthorizationResponse, AuthorizationStarted } from './authorization/interactive-authorizations.js';
import { ConcurrencyLimit } from './concurrency-limit.js';
import { createGrant } from './grants/index.js';
import type { GrantDependencies, GrantFactory } from './grants/index.js';
import type { IssuedToken } from './issued-token.js';
import { settingsDigest, tokenLineId } from './line-identity.js';
import { MailboxSlot } from './mailbox-slot.js';
import type { TokenWatcher } from './mailbox-slot.js';
import type { MailboxStatus } from './mailbox-status.js';
import { refreshTiming } from './refresh-timing.js';
import { retryDelayMs } from './retry-policy.js';
import type { RefreshTiming } from './refresh-timing.js';
import { TokenLine } from './token-line.js';

export { jitterFraction } from './refresh-timing.js';

export const DEFAULT_MIN_VALIDITY_SECONDS = 60;
/** ReportRejected forces at most one refresh per mailbox in this interval. */
export const REJECTION_REFRESH_INTERVAL_MS = 30_000;

export interface TokenBrokerOptions {
  readonly mailboxes: Iterable<MailboxConfig>;
  readonly refresh: RefreshConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly dependencies: GrantDependencies;
  readonly store: TokenStore;
  readonly grantFactory?: GrantFactory;
  /** How long to wait after the `consecutiveFailures`-th failure in a row; default the retry policy (retry-policy.ts). */
  readonly retryDelayMs?: (failure: BrokerError, consecutiveFailures: number) => number;
  /** The jitter of the retry policy, [0, 1); default Math.random. */
  readonly random?: () => number;
}

/** The parts of a BrokerConfig the engine takes on reload. */
export interface ReloadableConfig {
  readonly mailboxes: Iterable<MailboxConfig>;
  readonly refresh: RefreshConfig;
}

/** What a reload changed, by mailbox name (for the log line and the Reload RPC). */
export interface ReloadSummary {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /** Changed in any way; `reacquiring` lists those whose credentials changed. */
  readonly changed: readonly string[];
  readonly reacquiring: readonly string[];
}

export class TokenBroker {
  readonly #slots = new Map<string, MailboxSlot>();
  readonly #lines = new Map<string, TokenLine>();
  readonly #limits = new Map<string, ConcurrencyLimit>();
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #store: TokenStore;
  readonly #grantFactory: GrantFactory;
  readonly #grantDependencies: GrantDependencies;
  readonly #authorizations: InteractiveAuthorizations;
  readonly #retryDelayMs: (failure: BrokerError, consecutiveFailures: number) => number;
  #timing: RefreshTiming;
  #maxConcurrentPerServer: number;
  #reloads: Promise<unknown> = Promise.resolve();
  #unfollow: (() => void) | undefined;

  constructor(options: TokenBrokerOptions) {
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#store = options.store;
    this.#grantFactory = options.grantFactory ?? createGrant;
    this.#grantDependencies = options.dependencies;
    this.#timing = refreshTiming(options.refresh);
    this.#maxConcurrentPerServer = options.refresh.maxConcurrentPerServer;
    const random = options.random ?? Math.random;
    this.#retryDelayMs = options.retryDelayMs ?? ((failure, consecutiveFailures) => retryDelayMs(failure, consecutiveFailures, random));
    this.#authorizations = new InteractiveAuthorizations(options.clock, options.logger, options.store);
    for (const config of options.mailboxes) this.#place(this.#newSlot(config));
  }

  /**
   * Takes up what the store holds, so still-valid tokens are served at once
   * without asking any server; on a store shared with other instances,
   * follows their writes from now on.
   */
  async restore(): Promise<void> {
    await Promise.all([...this.#lines.values()].map((line) => line.restore()));
    this.#refreshDueTimes();
    if (this.#store.shared && this.#unfollow === undefined) {
      this.#unfollow = this.#store.onForeignWrite((mailbox) => {
        this.#followForeignWrite(mailbox);
      });
    }
  }

  has(mailbox: string): boolean {
    return this.#slots.has(mailbox);
  }

  mailboxNames(): IterableIterator<string> {
    return this.#slots.keys();
  }

  /**
   * The current token if it stays valid for at least `minValiditySeconds`,
   * else undefined (then call getToken). Starts a background refresh when the
   * token is due. Synchronous, no I/O and no allocation on the common path.
   */
  cachedToken(mailbox: string, minValiditySeconds: number): IssuedToken | undefined {
    const slot = this.#slots.get(mailbox);
    if (slot === undefined) return undefined;
    const now = this.#clock.now();
    slot.lastUsedAt = now;
    const token = slot.token;
    if (token === undefined || token.expiresAt - now < minValiditySeconds * 1000) return undefined;
    const line = slot.line;
    if (line.inflight === undefined && now >= slot.refreshDueAt && now >= line.retryNotBefore) {
      line.acquire().catch(() => {
        // Recorded on the line and logged; the caller still has a valid token.
      });
    }
    return token;
  }

  /**
   * The periodic sweep, per token line:
   * - in use (a client asked within refresh.idleAfterHours, or watches it):
   *   refresh when due (lead time and jitter), and acquire when there is no
   *   token although one can be had without a person (client credentials, a
   *   stored refresh token);
   * - idle: only keep its refresh token alive (redeemed every keepAliveDays).
   * Permanent failures wait for a caller, a reload or an authorization.
   * Returns how many acquisitions it started.
   */
  sweep(): number {
    const now = this.#clock.now();
    const { idleAfterMs, keepAliveMs } = this.#timing;
    let started = 0;
    for (const line of this.#lines.values()) {
      const leader = line.leader;
      // ropc-deprecated is the on-demand path (DOMAIN.md): never refreshed ahead.
      if (leader.config.grantType === 'ropc-deprecated') continue;
      if (line.inflight !== undefined || now < line.retryNotBefore || line.lastError?.permanent === true) continue;
      const inUse = line.members.some((slot) => slot.watched || now - slot.lastUsedAt < idleAfterMs);
      let due: boolean;
      if (inUse) {
        const token = leader.token;
        due = token !== undefined && token.expiresAt > now ? now >= leader.refreshDueAt : !line.grant.interactive || line.hasRefreshToken;
      } else {
        due = line.hasRefreshToken && now - (line.refreshTokenUsedAt ?? 0) >= keepAliveMs;
        if (due) this.#logger.info({ mailbox: leader.config.name }, 'keep-alive: redeeming the refresh token of an idle mailbox so the server does not expire it');
      }
      if (!due) continue;
      started++;
      line.acquire().catch(() => {
        // Recorded on the line and logged; the next sweep tries again after the pause.
      });
    }
    return started;
  }

  /** The current token, acquiring one first when none is valid for `minValiditySeconds`. Throws BrokerError. */
  async getToken(mailbox: string, minValiditySeconds = DEFAULT_MIN_VALIDITY_SECONDS): Promise<IssuedToken> {
    const cached = this.cachedToken(mailbox, minValiditySeconds);
    if (cached !== undefined) return cached;
    const slot = this.#slot(mailbox);
    const line = slot.line;
    if (line.inflight === undefined && line.lastError !== undefined && this.#clock.now() < line.retryNotBefore) throw slot.ownError(line.lastError);
    const token = await slot.acquire();
    if (token.expiresAt - this.#clock.now() < minValiditySeconds * 1000) {
      const lifetime = Math.round((token.expiresAt - this.#clock.now()) / 1000);
      throw new BrokerError(
        `mailbox ${mailbox}: ${slot.config.authorizationServer.name} issued a token valid for ${lifetime} s, less than the ${minValiditySeconds} s asked for.`,
        { code: 'invalid_request', mailbox, authorizationServer: slot.config.authorizationServer.name, remediation: 'Ask for a smaller min_validity_seconds.' },
      );
    }
    return token;
  }

  /**
   * Calls `watcher` with every new token of the mailbox (and its `end` when a
   * reload removes the mailbox); returns the unsubscribe function. Throws unknown_mailbox.
   */
  watch(mailbox: string, watcher: TokenWatcher | ((token: IssuedToken) => void)): () => void {
    const slot = this.#slot(mailbox);
    slot.lastUsedAt = this.#clock.now();
    const subscription = typeof watcher === 'function' ? { next: watcher } : watcher;
    slot.watch(subscription);
    // Reloads may replace the slot: unsubscribe from whichever slot holds the watcher then.
    return () => {
      for (const candidate of [this.#slots.get(mailbox), slot]) candidate?.unwatch(subscription);
    };
  }

  /**
   * A mail server refused `accessToken`: refresh once and return the new
   * token. At most one such refresh per token line per
   * REJECTION_REFRESH_INTERVAL_MS; a report of a token already replaced, or
   * within that interval, gets the current token.
   */
  async reportRejected(mailbox: string, accessToken: string, reason: string): Promise<IssuedToken> {
    const slot = this.#slot(mailbox);
    const line = slot.line;
    const now = this.#clock.now();
    slot.lastUsedAt = now;
    const current = slot.token;
    const stale = current !== undefined && accessToken !== '' && accessToken !== current.accessToken;
    this.#logger.warn(
      { mailbox, server: slot.config.authorizationServer.name, reason: reason.slice(0, 200), stale },
      rejectionHint(slot.config),
    );
    if (stale || now - line.lastForcedRefreshAt < REJECTION_REFRESH_INTERVAL_MS) {
      return this.getToken(mailbox, 0);
    }
    line.lastForcedRefreshAt = now;
    const rejected = accessToken === '' ? current?.accessToken : accessToken;
    return slot.acquire(rejected === undefined ? {} : { rejectedAccessToken: rejected });
  }

  startAuthorization(mailbox: string): Promise<AuthorizationStarted> {
    return this.#authorizations.start(this.#slot(mailbox));
  }

  completeAuthorization(mailbox: string, response: AuthorizationResponse): Promise<MailboxStatus> {
    return this.#authorizations.complete(this.#slot(mailbox), response);
  }

  status(mailbox: string): MailboxStatus {
    return this.#slot(mailbox).status(this.#clock.now());
  }

  statuses(): MailboxStatus[] {
    const now = this.#clock.now();
    return [...this.#slots.values()].map((slot) => slot.status(now));
  }

  /**
   * Applies a new, already validated configuration: added mailboxes start,
   * removed ones stop (their watchers end with unknown_mailbox, their records
   * are purged from the store), changed ones keep their tokens unless their
   * credential fingerprint changed (then they re-acquire at once). The new
   * refresh settings apply at once. Reloads run one at a time.
   */
  reload(next: ReloadableConfig): Promise<ReloadSummary> {
    const run = this.#reloads.then(() => this.#reload(next));
    this.#reloads = run.catch(() => undefined);
    return run;
  }

  /** Ends interactive authorizations and waits for acquisitions in flight, so shutdown cuts no token request in half. */
  async drain(): Promise<void> {
    this.#authorizations.cancelAll();
    this.#unfollow?.();
    this.#unfollow = undefined;
    await settle([...this.#lines.values()]);
  }

  async #reload(next: ReloadableConfig): Promise<ReloadSummary> {
    this.#timing = refreshTiming(next.refresh);
    this.#maxConcurrentPerServer = next.refresh.maxConcurrentPerServer;
    for (const limit of this.#limits.values()) limit.resize(this.#maxConcurrentPerServer);

    const configs = new Map<string, MailboxConfig>();
    for (const config of next.mailboxes) configs.set(config.name, config);
    const removed = [...this.#slots.keys()].filter((name) => !configs.has(name));
    const changed: string[] = [];
    const reacquiring: string[] = [];
    const added: MailboxSlot[] = [];
    for (const [name, config] of configs) {
      const old = this.#slots.get(name);
      if (old === undefined) added.push(this.#newSlot(config));
      else if (settingsDigest(config) !== old.settings) {
        changed.push(name);
        if (credentialFingerprint(config) !== old.fingerprint) reacquiring.push(name);
      }
    }

    // Acquisitions of mailboxes that go or change finish first: none may write a record after it is purged or replaced.
    const leaving = [...removed, ...changed].map((name) => this.#slot(name));
    await settle([...new Set(leaving.map((slot) => slot.line))]);
    for (const name of [...removed, ...reacquiring]) {
      this.#authorizations.cancel(name);
      await this.#purge(name, removed.includes(name));
    }
    // Mailboxes that start a line of their own take up what the store holds (a record from an earlier run).
    const fresh = added.filter((slot) => !this.#lines.has(tokenLineId(slot.config)));
    await Promise.all(
      fresh.map((slot) => {
        const line = this.#newLine(slot.config);
        line.join(slot);
        return line.restore();
      }),
    );

    // From here on no await: the swap is atomic for callers.
    for (const name of removed) {
      const slot = this.#slot(name);
      this.#unplace(slot);
      this.#slots.delete(name);
      slot.endWatchers(removedMailbox(name));
    }
    for (const name of changed) {
      const old = this.#slot(name);
      const config = configs.get(name);
      if (config === undefined) continue;
      const successor = this.#newSlot(config);
      this.#unplace(old);
      const line = this.#place(successor);
      const sameCredentials = !reacquiring.includes(name);
      if (sameCredentials) {
        // Same credentials: the token stays; the new settings (proxy, shared mailbox, ...) apply from the next request.
        if (line.members.length === 1) line.inherit(old.line);
        if (old.token !== undefined && successor.token === undefined) successor.setToken(storedTokenOf(old.token), false);
      }
      successor.lastUsedAt = old.lastUsedAt;
      old.moveWatchersTo(successor);
    }
    for (const slot of added) {
      if (fresh.includes(slot)) {
        this.#slots.set(slot.config.name, slot);
        this.#lines.set(slot.line.id, slot.line);
      } else this.#place(slot);
    }
    this.#refreshDueTimes();

    const summary: ReloadSummary = { added: added.map((slot) => slot.config.name), removed, changed, reacquiring };
    this.#logger.info(
      { added: summary.added, removed, changed, reacquiring },
      `configuration reloaded: ${summary.added.length} added, ${removed.length} removed, ${changed.length} changed (${reacquiring.length} with new credentials)`,
    );
    // New and re-credentialed mailboxes get their tokens now, not when a client first asks.
    this.sweep();
    return summary;
  }

  async #purge(mailbox: string, withPending: boolean): Promise<void> {
    try {
      await this.#store.deleteMailbox(mailbox);
      if (withPending) await this.#store.deletePendingAuthorization(mailbox);
    } catch (error) {
      // The mailbox still goes: a record left behind is never served (fingerprint) and is overwritten if it comes back.
      const failure = error instanceof BrokerError ? error.describe() : String(error);
      this.#logger.error({ mailbox }, `the stored tokens of mailbox ${mailbox} could not be purged: ${failure}`);
    }
  }

  #newSlot(config: MailboxConfig): MailboxSlot {
    return new MailboxSlot(config, { fingerprint: credentialFingerprint(config), settings: settingsDigest(config) }, this.#clock.now());
  }

  #newLine(config: MailboxConfig): TokenLine {
    const server = config.authorizationServer.name;
    let serverLimit = this.#limits.get(server);
    if (serverLimit === undefined) {
      serverLimit = new ConcurrencyLimit(this.#maxConcurrentPerServer);
      this.#limits.set(server, serverLimit);
    }
    return new TokenLine(tokenLineId(config), this.#grantFactory(config, this.#grantDependencies), {
      clock: this.#clock,
      logger: this.#logger,
      store: this.#store,
      serverLimit,
      timing: () => this.#timing,
      retryDelayMs: this.#retryDelayMs,
    });
  }

  /** Puts the slot on its line (joining a shared one when it exists). */
  #place(slot: MailboxSlot): TokenLine {
    const id = tokenLineId(slot.config);
    let line = this.#lines.get(id);
    if (line === undefined) {
      line = this.#newLine(slot.config);
      this.#lines.set(id, line);
    }
    line.join(slot);
    this.#slots.set(slot.config.name, slot);
    return line;
  }

  #unplace(slot: MailboxSlot): void {
    const line = slot.line;
    line.leave(slot);
    if (line.members.length === 0 && this.#lines.get(line.id) === line) this.#lines.delete(line.id);
  }

  #refreshDueTimes(): void {
    for (const slot of this.#slots.values()) slot.updateRefreshDueAt();
  }

  #followForeignWrite(mailbox: string): void {
    const slot = this.#slots.get(mailbox);
    // An acquisition in flight re-reads the store under the lock anyway.
    if (slot === undefined || slot.line.inflight !== undefined) return;
    slot.line.follow(slot).catch((error: unknown) => {
      const failure = error instanceof BrokerError ? error.describe() : String(error);
      this.#logger.warn({ mailbox }, `another instance wrote mailbox ${mailbox}, but its record could not be read: ${failure}`);
    });
  }

  #slot(mailbox: string): MailboxSlot {
    const slot = this.#slots.get(mailbox);
    if (slot === undefined) throw unknownMailbox(mailbox);
    return slot;
  }
}

/** Waits until none of `lines` has an acquisition in flight (one may start while another ends). */
async function settle(lines: readonly TokenLine[]): Promise<void> {
  for (;;) {
    const inflight = lines.map((line) => line.inflight).filter((promise) => promise !== undefined);
    if (inflight.length === 0) return;
    await Promise.allSettled(inflight);
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

/** What a rejected token usually means, for the log line ops read. */
function rejectionHint(config: MailboxConfig): string {
  const appOnlyMailProtocol = config.grantType === 'client-credentials' && config.protocol !== 'graph' && config.authorizationServer.type === 'microsoft';
  return appOnlyMailProtocol
    ? `the mail server rejected the token of mailbox ${config.name}; refreshing once. If a fresh token is rejected too, the Exchange Online service principal of the application or its permission on the mailbox is missing (New-ServicePrincipal, Add-MailboxPermission).`
    : `the mail server rejected the token of mailbox ${config.name}; refreshing once.`;
}

function unknownMailbox(mailbox: string): BrokerError {
  return new BrokerError(`no mailbox named "${mailbox}" is configured.`, {
    code: 'unknown_mailbox',
    permanent: true,
    mailbox,
    remediation: 'Check the name against `token-broker status` or the mailboxes section of the config.',
  });
}
