// The broker engine: one slot per configured mailbox. The cached path
// (cachedToken) is synchronous and does no I/O: it is what GetToken serves
// thousands of times a second. Everything else (acquisition, interactive
// authorization) goes through the mailbox's slot.
import type { Logger } from 'pino';
import type { MailboxConfig, RefreshConfig } from '../config/index.js';
import { BrokerError } from '../errors/index.js';
import { credentialFingerprint } from '../store/index.js';
import type { TokenStore } from '../store/index.js';
import type { Clock } from '../time/index.js';
import { InteractiveAuthorizations } from './authorization/interactive-authorizations.js';
import type { AuthorizationResponse, AuthorizationStarted } from './authorization/interactive-authorizations.js';
import { ConcurrencyLimit } from './concurrency-limit.js';
import { createGrant } from './grants/index.js';
import type { GrantDependencies, GrantFactory } from './grants/index.js';
import type { IssuedToken } from './issued-token.js';
import { MailboxSlot } from './mailbox-slot.js';
import type { MailboxStatus } from './mailbox-status.js';

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
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #leadTimeMs: number;
  readonly #authorizations: InteractiveAuthorizations;

  constructor(options: TokenBrokerOptions) {
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#leadTimeMs = options.refresh.leadTimeSeconds * 1000;
    this.#authorizations = new InteractiveAuthorizations(options.clock, options.logger, options.store);
    const factory = options.grantFactory ?? createGrant;
    const limits = new Map<string, ConcurrencyLimit>();
    for (const config of options.mailboxes) {
      const grant = factory(config, options.dependencies);
      const server = config.authorizationServer.name;
      let serverLimit = limits.get(server);
      if (serverLimit === undefined) {
        serverLimit = new ConcurrencyLimit(options.refresh.maxConcurrentPerServer);
        limits.set(server, serverLimit);
      }
      const slotDependencies = { clock: options.clock, logger: options.logger, store: options.store, fingerprint: credentialFingerprint(config), serverLimit };
      this.#slots.set(config.name, new MailboxSlot(config, grant, slotDependencies));
    }
  }

  /** Takes up what the store holds, so still-valid tokens are served at once without asking any server. */
  async restore(): Promise<void> {
    await Promise.all([...this.#slots.values()].map((slot) => slot.restore()));
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
   * token is within the lead time of its expiry.
   */
  cachedToken(mailbox: string, minValiditySeconds: number): IssuedToken | undefined {
    const slot = this.#slots.get(mailbox);
    const token = slot?.token;
    if (slot === undefined || token === undefined) return undefined;
    const now = this.#clock.now();
    const remaining = token.expiresAt - now;
    if (remaining < minValiditySeconds * 1000) return undefined;
    if (slot.inflight === undefined && now >= this.#dueAt(slot.config.name, token) && now >= slot.retryNotBefore) {
      slot.acquire().catch(() => {
        // Recorded on the slot and logged; the caller still has a valid token.
      });
    }
    return token;
  }

  /**
   * The periodic sweep: starts an acquisition for every mailbox whose token
   * is due (lead time and jitter), or that has none although it could get
   * one without a person (client credentials, a stored refresh token).
   * Permanent failures wait for a caller, a reload or an authorization.
   * Returns how many acquisitions it started.
   */
  sweep(): number {
    const now = this.#clock.now();
    let started = 0;
    for (const slot of this.#slots.values()) {
      // ropc-deprecated is the on-demand path (DOMAIN.md): never refreshed ahead.
      if (slot.config.grantType === 'ropc-deprecated') continue;
      if (slot.inflight !== undefined || now < slot.retryNotBefore || slot.lastError?.permanent === true) continue;
      const token = slot.token;
      const valid = token !== undefined && token.expiresAt > now;
      const due = valid ? now >= this.#dueAt(slot.config.name, token) : !slot.grant.interactive || slot.hasRefreshToken;
      if (!due) continue;
      started++;
      slot.acquire().catch(() => {
        // Recorded on the slot and logged; the next sweep tries again after the pause.
      });
    }
    return started;
  }

  /** The current token, acquiring one first when none is valid for `minValiditySeconds`. Throws BrokerError. */
  async getToken(mailbox: string, minValiditySeconds = DEFAULT_MIN_VALIDITY_SECONDS): Promise<IssuedToken> {
    const cached = this.cachedToken(mailbox, minValiditySeconds);
    if (cached !== undefined) return cached;
    const slot = this.#slot(mailbox);
    if (slot.inflight === undefined && slot.lastError !== undefined && this.#clock.now() < slot.retryNotBefore) throw slot.lastError;
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

  /** Calls `watcher` with every new token of the mailbox; returns the unsubscribe function. Throws unknown_mailbox. */
  watch(mailbox: string, watcher: (token: IssuedToken) => void): () => void {
    return this.#slot(mailbox).watch(watcher);
  }

  /**
   * A mail server refused `accessToken`: refresh once and return the new
   * token. At most one such refresh per mailbox per REJECTION_REFRESH_INTERVAL_MS;
   * a report of a token already replaced, or within that interval, gets the
   * current token.
   */
  async reportRejected(mailbox: string, accessToken: string, reason: string): Promise<IssuedToken> {
    const slot = this.#slot(mailbox);
    const now = this.#clock.now();
    const current = slot.token;
    const stale = current !== undefined && accessToken !== '' && accessToken !== current.accessToken;
    this.#logger.warn(
      { mailbox, server: slot.config.authorizationServer.name, reason: reason.slice(0, 200), stale },
      rejectionHint(slot.config),
    );
    if (stale || now - slot.lastForcedRefreshAt < REJECTION_REFRESH_INTERVAL_MS) {
      return this.getToken(mailbox, 0);
    }
    slot.lastForcedRefreshAt = now;
    return slot.acquire();
  }

  startAuthorization(mailbox: string): Promise<AuthorizationStarted> {
    return this.#authorizations.start(this.#slot(mailbox));
  }

  completeAuthorization(mailbox: string, response: AuthorizationResponse): Promise<MailboxStatus> {
    return this.#authorizations.complete(this.#slot(mailbox), response);
  }

  status(mailbox: string): MailboxStatus {
    return this.#slot(mailbox).status();
  }

  statuses(): MailboxStatus[] {
    return [...this.#slots.values()].map((slot) => slot.status());
  }

  /**
   * Applies a new, already validated configuration: added mailboxes start,
   * removed ones stop (their watchers end with unknown_mailbox, their records
   * are purged from the store), changed ones keep their tokens unless their
   * credential fingerprint changed (then they re-acquire at once). The new
   * refresh settings apply from the next sweep.
   */
  reload(next: ReloadableConfig): Promise<ReloadSummary> {
    void next;
    return Promise.reject(new BrokerError('reload is not implemented yet.', { code: 'not_implemented' }));
  }

  /** Ends interactive authorizations and waits for acquisitions in flight, so shutdown cuts no token request in half. */
  async drain(): Promise<void> {
    this.#authorizations.cancelAll();
    const inflight: Promise<IssuedToken>[] = [];
    for (const slot of this.#slots.values()) if (slot.inflight !== undefined) inflight.push(slot.inflight);
    await Promise.allSettled(inflight);
  }

  #slot(mailbox: string): MailboxSlot {
    const slot = this.#slots.get(mailbox);
    if (slot === undefined) throw unknownMailbox(mailbox);
    return slot;
  }

  /**
   * When a token is due for refresh: the lead time before expiry (never more
   * than half the token's life, or short-lived tokens would refresh on every
   * call), plus up to a fifth of that window of jitter, so tokens issued
   * together do not all come due together. The jitter is derived from the
   * mailbox and the token (no randomness): tests and restarts see the same.
   */
  #dueAt(mailbox: string, token: IssuedToken): number {
    const window = Math.min(this.#leadTimeMs, (token.expiresAt - token.obtainedAt) / 2);
    return token.expiresAt - window - jitterFraction(mailbox, token.obtainedAt) * window * 0.2;
  }
}

/** A stable number in [0, 1) from the mailbox name and when its token was obtained (FNV-1a). */
export function jitterFraction(mailbox: string, obtainedAt: number): number {
  let hash = 0x811c9dc5;
  for (const char of `${mailbox}@${obtainedAt}`) {
    hash ^= char.charCodeAt(0);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash / 0x1_0000_0000;
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
