// The broker engine: one slot per configured mailbox, grouped into token
// lines (one per mailbox, or one per shared application identity). The
// cached path (cachedToken) is synchronous and does no I/O: it is what
// GetToken serves thousands of times a second. Everything else (acquisition,
// the sweep, reload, interactive authorization) goes through slots and lines.
import type { Logger } from 'pino';
import type { MailboxConfig, Protocol, RefreshConfig } from '../config/index.js';
import { BrokerError } from '../errors/index.js';
import { DeathWarnings, warningLevel } from '../forecast/index.js';
import type { CredentialDeath, ForecastSubject } from '../forecast/index.js';
import type { TokenStore } from '../store/index.js';
import type { Clock } from '../time/index.js';
import { InteractiveAuthorizations } from './authorization/interactive-authorizations.js';
import type { AuthorizationResponse, AuthorizationStarted } from './authorization/interactive-authorizations.js';
import { createGrant } from './grants/index.js';
import type { GrantDependencies, GrantFactory } from './grants/index.js';
import type { IssuedToken } from './issued-token.js';
import { MailboxRegistry } from './mailbox-registry.js';
import type { MailboxSlot, TokenWatcher } from './mailbox-slot.js';
import type { MailboxStatus } from './mailbox-status.js';
import { checkMinValidity, requiredValidityMs } from './min-validity.js';
import type { MinValidity } from './min-validity.js';
import { refreshTiming } from './refresh-timing.js';
import type { RefreshTiming } from './refresh-timing.js';
import { loggableRejectionReason } from './rejection-reason.js';
import { reloadMailboxes } from './reload.js';
import type { ReloadSummary } from './reload.js';
import { retryDelayMs } from './retry-policy.js';
import { MailboxStateChanges } from './state-changes.js';
import { TokenLine } from './token-line.js';
import type { TokenRequestObserver } from './token-request-observer.js';

export { jitterFraction } from './refresh-timing.js';
export type { ReloadSummary } from './reload.js';

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
  /** Hears each request sent to an authorization server (the metrics); none by default. */
  readonly onTokenRequest?: TokenRequestObserver;
  /** Deaths of credentials that are the broker's own, not a mailbox's (server.tls: forecast/serverTlsCertificateDeaths), warned about with the mailboxes'. */
  readonly serverCredentialDeaths?: () => readonly CredentialDeath[];
}

/**
 * How often the sweep looks at the token-death forecast. A warning threshold
 * is a day wide, so an hour late is early enough, and 10,000 mailboxes are
 * not re-forecast every 10 s.
 */
export const FORECAST_EVALUATION_INTERVAL_MS = 3_600_000;

/** The parts of a BrokerConfig the engine takes on reload. */
export interface ReloadableConfig {
  readonly mailboxes: Iterable<MailboxConfig>;
  readonly refresh: RefreshConfig;
}

export class TokenBroker {
  readonly #registry: MailboxRegistry;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #store: TokenStore;
  readonly #authorizations: InteractiveAuthorizations;
  readonly #stateChanges: MailboxStateChanges;
  #timing: RefreshTiming;
  #reloads: Promise<unknown> = Promise.resolve();
  #unfollow: (() => void) | undefined;
  readonly #deathWarnings: DeathWarnings;
  readonly #serverCredentialDeaths: () => readonly CredentialDeath[];
  #nextForecastAt = Number.NEGATIVE_INFINITY;

  constructor(options: TokenBrokerOptions) {
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#store = options.store;
    this.#timing = refreshTiming(options.refresh);
    this.#deathWarnings = new DeathWarnings(options.logger);
    this.#serverCredentialDeaths = options.serverCredentialDeaths ?? (() => []);
    const random = options.random ?? Math.random;
    this.#stateChanges = new MailboxStateChanges(options.logger, options.clock);
    this.#registry = new MailboxRegistry({
      clock: options.clock,
      grantFactory: options.grantFactory ?? createGrant,
      grantDependencies: options.dependencies,
      maxConcurrentPerServer: options.refresh.maxConcurrentPerServer,
      line: {
        clock: options.clock,
        logger: options.logger,
        store: options.store,
        timing: () => this.#timing,
        retryDelayMs: options.retryDelayMs ?? ((failure, consecutiveFailures) => retryDelayMs(failure, consecutiveFailures, random)),
        onTokenRequest: options.onTokenRequest,
        stateEvent: (line, event) => this.#stateChanges.lineEvent(line, event),
      },
    });
    // A new refresh token has a forecast of its own (a testing app's 7 days): the next sweep looks, not the next hourly one.
    this.#authorizations = new InteractiveAuthorizations(
      options.clock,
      options.logger,
      options.store,
      () => {
        this.#nextForecastAt = Number.NEGATIVE_INFINITY;
      },
      options.onTokenRequest,
    );
    for (const config of options.mailboxes) this.#registry.place(config);
  }

  /**
   * Takes up what the store holds, so still-valid tokens are served at once
   * without asking any server; on a store shared with other instances,
   * follows their writes from now on.
   */
  async restore(): Promise<void> {
    const lines = [...this.#registry.lines.values()];
    // One pass over the store (a query per 1,000 records) rather than a read per line: 10,000 reads one
    // by one kept start-up waiting on the store's worker. A store that cannot be read fails every line alike.
    const stored = await TokenLine.readRecords(this.#store, lines);
    await Promise.all(lines.map((line) => line.restore(stored)));
    this.#registry.refreshDueTimes();
    if (this.#store.shared && this.#unfollow === undefined) {
      this.#unfollow = this.#store.onForeignWrite((name) => {
        if (name !== undefined) void this.#followForeignWrite(name);
        else void this.#followEverything();
      });
    }
  }

  has(mailbox: string): boolean {
    return this.#registry.slots.has(mailbox);
  }

  /** The protocol of a configured mailbox (what its tokens are for); undefined for an unknown name. */
  protocolOf(mailbox: string): Protocol | undefined {
    return this.#registry.slots.get(mailbox)?.config.protocol;
  }

  mailboxNames(): IterableIterator<string> {
    return this.#registry.slots.keys();
  }

  /**
   * The current token if it stays valid for at least `minValidity`
   * (requiredValidityMs), else undefined (then call getToken). Starts a
   * background refresh when the token is due. Synchronous, no I/O and no
   * allocation on the common path.
   */
  cachedToken(mailbox: string, minValidity: MinValidity): IssuedToken | undefined {
    const slot = this.#registry.slots.get(mailbox);
    if (slot === undefined) return undefined;
    const now = this.#clock.now();
    slot.lastUsedAt = now;
    const token = slot.token;
    if (token === undefined || token.expiresAt - now < requiredValidityMs(minValidity, token)) return undefined;
    if (now >= slot.refreshDueAt && slot.line.mayStart(now)) {
      slot.line.acquire().catch(() => {
        // Recorded on the line and logged; the caller still has a valid token.
      });
    }
    return token;
  }

  /**
   * The periodic sweep: each token line that is due (TokenLine.dueForSweep:
   * in use and due for refresh, or idle and due for keep-alive) starts an
   * acquisition. Returns how many it started.
   */
  sweep(): number {
    const now = this.#clock.now();
    let started = 0;
    for (const line of this.#registry.lines.values()) {
      // No event marks a token running out: the sweep notices it (before it starts a new acquisition, so the cause is told apart).
      this.#stateChanges.lineEvent(line, 'its token expired and no new one was obtained');
      const reason = line.dueForSweep(now);
      if (reason === undefined) continue;
      if (reason === 'keep-alive') {
        this.#logger.info({ mailbox: line.leader.config.name }, 'keep-alive: redeeming the refresh token of an idle mailbox so the server does not expire it');
      }
      started++;
      line.acquire().catch(() => {
        // Recorded on the line and logged; the next sweep tries again after the pause.
      });
    }
    // Records the store refused are written again (a rotated refresh token must reach it sooner or later).
    for (const line of this.#registry.lines.values()) {
      if (line.hasUnsaved) void line.saveUnsaved();
    }
    if (now >= this.#nextForecastAt) {
      this.#nextForecastAt = now + FORECAST_EVALUATION_INTERVAL_MS;
      this.warnOfCredentialDeaths();
    }
    return started;
  }

  /**
   * Logs each credential death (of a mailbox, or the broker's own) that has
   * crossed 14, 7 or 1 days ahead, or passed, since it was last said (the
   * sweep calls this hourly). Returns how many lines it logged.
   */
  warnOfCredentialDeaths(): number {
    const now = this.#clock.now();
    const subjects: ForecastSubject[] = [];
    for (const slot of this.#registry.slots.values()) {
      for (const death of slot.status(now).credentialDeaths ?? []) {
        // DeathWarnings drops deaths beyond 14 days itself, but handing it one object per far death made the hourly
        // look 2-3x slower at 10,000 mailboxes (bench/forecast-sweep.ts): they are left out here.
        if (warningLevel(death.at, now) !== undefined) subjects.push({ mailbox: slot.config.name, death, line: slot.line.id });
      }
    }
    for (const death of this.#serverCredentialDeaths()) subjects.push({ death });
    return this.#deathWarnings.evaluate(subjects, now);
  }

  /**
   * The current token, acquiring one first when none is valid for
   * `minValidity` (seconds, at most MAX_MIN_VALIDITY_SECONDS, or 'default':
   * requiredValidityMs). Asked for more than the tokens the server issues
   * last, it answers invalid_request from what it knows, without a request,
   * until the current token is due for refresh: otherwise every such call
   * would cost a token request. The default never asks for more than a token
   * lives. Throws BrokerError.
   */
  async getToken(mailbox: string, minValidity: MinValidity = 'default'): Promise<IssuedToken> {
    checkMinValidity(minValidity, 'min_validity_seconds');
    const cached = this.cachedToken(mailbox, minValidity);
    if (cached !== undefined) return cached;
    const slot = this.#registry.slot(mailbox);
    const now = this.#clock.now();
    const refusal = slot.line.refusal(now);
    if (refusal !== undefined) throw slot.ownError(refusal);
    const lifetimeMs = slot.line.issuedLifetimeMs;
    const current = slot.token;
    if (minValidity !== 'default' && lifetimeMs !== undefined && minValidity * 1000 > lifetimeMs && current !== undefined && current.expiresAt > now && now < slot.refreshDueAt) {
      throw this.#shortfall(slot, current, minValidity, lifetimeMs);
    }
    const token = await slot.acquire();
    if (token.expiresAt - this.#clock.now() < requiredValidityMs(minValidity, token)) {
      throw this.#shortfall(slot, token, minValidity, token.expiresAt - token.obtainedAt);
    }
    return token;
  }

  /** A request for more validity than `token` has: `lifetimeMs` is what the server gives a new token. */
  #shortfall(slot: MailboxSlot, token: IssuedToken, minValidity: MinValidity, lifetimeMs: number): BrokerError {
    const mailbox = slot.config.name;
    const server = slot.config.authorizationServer.name;
    const left = Math.max(0, Math.floor((token.expiresAt - this.#clock.now()) / 1000));
    const lifetime = Math.round(lifetimeMs / 1000);
    // Tokens are refreshed this long before they expire: asking for no more is always answered from the cache.
    const window = Math.floor(Math.min(this.#timing.leadTimeMs, lifetimeMs / 2) / 1000);
    const options = { code: 'invalid_request' as const, mailbox, authorizationServer: server };
    const requiredMs = requiredValidityMs(minValidity, token);
    if (lifetimeMs >= requiredMs) {
      // A token obtained a while ago (another instance's): a new one would do, after the pause the refresh takes.
      const asked =
        minValidity === 'default'
          ? `the ${Math.ceil(requiredMs / 1000)} s that min_validity_seconds 0 asks for (60 s, or half the lifetime of a token that lives less)`
          : `the ${minValidity} s asked for (min_validity_seconds)`;
      return new BrokerError(`mailbox ${mailbox}: the current token has ${left} s left, less than ${asked}.`, {
        ...options,
        remediation: `Ask again shortly, or for at most ${window} s, which is always served at once.`,
      });
    }
    // Only an explicit value gets here: the default never asks for more than the token's lifetime.
    const minValiditySeconds = requiredMs / 1000;
    return new BrokerError(
      `mailbox ${mailbox}: ${server} issues tokens valid for ${lifetime} s, less than the ${minValiditySeconds} s asked for (min_validity_seconds); the current token has ${left} s left. ` +
        'No token can be valid that long, so none is requested for it before the current one is due for refresh.',
      { ...options, remediation: `Ask for less than ${lifetime} s; up to ${window} s is always served at once.` },
    );
  }

  /**
   * Calls `watcher` with every new token of the mailbox that is valid for at
   * least `minValidity` (requiredValidityMs) when it arrives, as GetToken would judge it
   * (a shorter one is not pushed: the watcher waits for the next), and
   * calls its `end` when a reload removes the mailbox. Returns the
   * unsubscribe function. Throws unknown_mailbox.
   */
  watch(mailbox: string, watcher: TokenWatcher | ((token: IssuedToken) => void), minValidity: MinValidity = 0): () => void {
    const slot = this.#registry.slot(mailbox);
    slot.lastUsedAt = this.#clock.now();
    const original: TokenWatcher = typeof watcher === 'function' ? { next: watcher } : watcher;
    const subscription: TokenWatcher = {
      next: (token) => {
        const leftMs = token.expiresAt - this.#clock.now();
        if (leftMs >= requiredValidityMs(minValidity, token)) {
          original.next(token);
          return;
        }
        this.#logger.debug({ mailbox, leftMs, minValidity }, 'a new token is not pushed to a watcher: it is valid for less than the watch asked for');
      },
      ...(original.end === undefined ? {} : { end: (reason: BrokerError) => original.end?.(reason) }),
    };
    slot.watch(subscription);
    // Reloads may replace the slot: unsubscribe from whichever slot holds the watcher then.
    return () => {
      for (const candidate of [this.#registry.slots.get(mailbox), slot]) candidate?.unwatch(subscription);
    };
  }

  /**
   * A mail server refused `accessToken`: refresh once and return the new
   * token. At most one such refresh per token line per
   * REJECTION_REFRESH_INTERVAL_MS (TokenLine.forceRefresh); a report of a
   * token already replaced, or within that interval, gets the current token.
   */
  async reportRejected(mailbox: string, accessToken: string, reason: string): Promise<IssuedToken> {
    const slot = this.#registry.slot(mailbox);
    const now = this.#clock.now();
    slot.lastUsedAt = now;
    const current = slot.token;
    const stale = current !== undefined && accessToken !== '' && accessToken !== current.accessToken;
    this.#logger.warn(
      { mailbox, server: slot.config.authorizationServer.name, reason: loggableRejectionReason(reason, accessToken, current), stale },
      rejectionHint(slot.config),
    );
    const refreshed = stale ? undefined : slot.forceRefresh(accessToken === '' ? current?.accessToken : accessToken, now);
    return refreshed ?? this.getToken(mailbox, 0);
  }

  startAuthorization(mailbox: string): Promise<AuthorizationStarted> {
    return this.#authorizations.start(this.#registry.slot(mailbox));
  }

  completeAuthorization(mailbox: string, response: AuthorizationResponse): Promise<MailboxStatus> {
    return this.#authorizations.complete(this.#registry.slot(mailbox), response);
  }

  status(mailbox: string): MailboxStatus {
    return this.#registry.slot(mailbox).status(this.#clock.now());
  }

  statuses(): MailboxStatus[] {
    const now = this.#clock.now();
    return [...this.#registry.slots.values()].map((slot) => slot.status(now));
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
    await TokenLine.settle([...this.#registry.lines.values()]);
  }

  async #reload(next: ReloadableConfig): Promise<ReloadSummary> {
    this.#timing = refreshTiming(next.refresh);
    this.#registry.resizeLimits(next.refresh.maxConcurrentPerServer);
    const summary = await reloadMailboxes(next.mailboxes, {
      registry: this.#registry,
      store: this.#store,
      logger: this.#logger,
      cancelAuthorization: (mailbox) => this.#authorizations.cancel(mailbox),
    });
    this.#reportReload(summary);
    // New and re-credentialed mailboxes get their tokens now, not when a client first asks; a changed end date is looked at now too.
    this.#nextForecastAt = Number.NEGATIVE_INFINITY;
    this.sweep();
    return summary;
  }

  /** The mailboxes a reload removed, changed or added: their new states, with the reload as the cause. */
  #reportReload(summary: ReloadSummary): void {
    for (const mailbox of summary.removed) this.#stateChanges.removed(mailbox, 'removed from the configuration by a reload');
    const causes = new Map<string, string>();
    for (const mailbox of summary.added) causes.set(mailbox, 'added to the configuration by a reload');
    for (const mailbox of summary.changed) causes.set(mailbox, 'its settings changed in a reload');
    for (const mailbox of summary.reacquiring) causes.set(mailbox, 'its credentials changed in a reload: the tokens of the previous ones are discarded');
    for (const [mailbox, cause] of causes) {
      const slot = this.#registry.slots.get(mailbox);
      if (slot !== undefined) this.#stateChanges.lineEvent(slot.line, cause);
    }
  }

  /** News of other instances' writes may have been missed: read every line's record again, one at a time (no burst on the store). */
  async #followEverything(): Promise<void> {
    this.#logger.info('reading every token record again: news of other instances\' writes may have been missed');
    for (const line of [...this.#registry.lines.values()]) await this.#follow(line);
  }

  /**
   * Another instance wrote the record of `name`: a shared line's id
   * (`app:<digest>`; no mailbox name has a `:`) or a mailbox. A mailbox on a
   * shared line has no record of its own any more (only an older version
   * writes one, or this one deletes it): nothing to take up.
   */
  #followForeignWrite(name: string): Promise<void> {
    const line = this.#registry.lines.get(name);
    if (line?.shared === true) return this.#follow(line);
    const slot = this.#registry.slots.get(name);
    if (slot === undefined || slot.line.shared) return Promise.resolve();
    return this.#follow(slot.line);
  }

  #follow(line: TokenLine): Promise<void> {
    return line.follow().catch((error: unknown) => {
      const failure = error instanceof BrokerError ? error.describe() : String(error);
      const [fields, what] = line.shared ? [{ line: line.id }, `token line ${line.id}`] : [{ mailbox: line.id }, `mailbox ${line.id}`];
      this.#logger.warn(fields, `another instance wrote ${what}, but its record could not be read: ${failure}`);
    });
  }
}

/** What a rejected token usually means, for the log line ops read. */
function rejectionHint(config: MailboxConfig): string {
  const appOnlyMailProtocol = config.grantType === 'client-credentials' && config.protocol !== 'graph' && config.authorizationServer.type === 'microsoft';
  return appOnlyMailProtocol
    ? `the mail server rejected the token of mailbox ${config.name}; refreshing once. If a fresh token is rejected too, the Exchange Online service principal of the application or its permission on the mailbox is missing (New-ServicePrincipal, Add-MailboxPermission).`
    : `the mail server rejected the token of mailbox ${config.name}; refreshing once.`;
}
