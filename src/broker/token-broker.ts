// The broker engine: one entry per configured mailbox holding its current
// token, at most one acquisition in flight per mailbox (callers share it),
// and the last error. The cached path (cachedToken) is synchronous and does
// no I/O: it is what GetToken serves thousands of times a second.
import type { Logger } from 'pino';
import type { MailboxConfig, RefreshConfig } from '../config/index.js';
import { BrokerError, toBrokerError } from '../errors/index.js';
import type { Clock } from '../time/index.js';
import { createGrant } from './grants/index.js';
import type { Grant, GrantDependencies, GrantFactory } from './grants/index.js';
import { issueToken } from './issued-token.js';
import type { IssuedToken } from './issued-token.js';
import type { MailboxState, MailboxStatus } from './mailbox-status.js';

export const DEFAULT_MIN_VALIDITY_SECONDS = 60;

/**
 * How long to wait before asking the server again after a failure. Fixed for
 * now; the refresh engine replaces this with backoff and Retry-After.
 */
const RETRY_AFTER_TRANSIENT_MS = 5_000;
const RETRY_AFTER_PERMANENT_MS = 60_000;

interface MailboxEntry {
  readonly config: MailboxConfig;
  readonly grant: Grant;
  token: IssuedToken | undefined;
  inflight: Promise<IssuedToken> | undefined;
  lastRefreshAt: number | undefined;
  lastError: BrokerError | undefined;
  /** No new request to the server before this time (ms), after a failure. */
  retryNotBefore: number;
}

export interface TokenBrokerOptions {
  readonly mailboxes: Iterable<MailboxConfig>;
  readonly refresh: RefreshConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly dependencies: GrantDependencies;
  readonly grantFactory?: GrantFactory;
}

export class TokenBroker {
  readonly #entries = new Map<string, MailboxEntry>();
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #leadTimeMs: number;

  constructor(options: TokenBrokerOptions) {
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#leadTimeMs = options.refresh.leadTimeSeconds * 1000;
    const factory = options.grantFactory ?? createGrant;
    for (const config of options.mailboxes) {
      this.#entries.set(config.name, {
        config,
        grant: factory(config, options.dependencies),
        token: undefined,
        inflight: undefined,
        lastRefreshAt: undefined,
        lastError: undefined,
        retryNotBefore: 0,
      });
    }
  }

  has(mailbox: string): boolean {
    return this.#entries.has(mailbox);
  }

  mailboxNames(): IterableIterator<string> {
    return this.#entries.keys();
  }

  /**
   * The current token if it stays valid for at least `minValiditySeconds`,
   * else undefined (then call getToken). Starts a background refresh when the
   * token is within the lead time of its expiry.
   */
  cachedToken(mailbox: string, minValiditySeconds: number): IssuedToken | undefined {
    const entry = this.#entries.get(mailbox);
    const token = entry?.token;
    if (entry === undefined || token === undefined) return undefined;
    const now = this.#clock.now();
    const remaining = token.expiresAt - now;
    if (remaining < minValiditySeconds * 1000) return undefined;
    if (entry.inflight === undefined && remaining < this.#refreshWindow(token) && now >= entry.retryNotBefore) {
      this.#acquire(entry).catch(() => {
        // Recorded on the entry and logged by #acquire; the caller still has a valid token.
      });
    }
    return token;
  }

  /** The current token, acquiring one first when none is valid for `minValiditySeconds`. Throws BrokerError. */
  async getToken(mailbox: string, minValiditySeconds = DEFAULT_MIN_VALIDITY_SECONDS): Promise<IssuedToken> {
    const cached = this.cachedToken(mailbox, minValiditySeconds);
    if (cached !== undefined) return cached;
    const entry = this.#entries.get(mailbox);
    if (entry === undefined) throw unknownMailbox(mailbox);
    if (entry.inflight !== undefined) return this.#awaitValid(entry.inflight, entry, minValiditySeconds);
    if (entry.lastError !== undefined && this.#clock.now() < entry.retryNotBefore) throw entry.lastError;
    return this.#awaitValid(this.#acquire(entry), entry, minValiditySeconds);
  }

  status(mailbox: string): MailboxStatus {
    const entry = this.#entries.get(mailbox);
    if (entry === undefined) throw unknownMailbox(mailbox);
    return this.#statusOf(entry);
  }

  statuses(): MailboxStatus[] {
    return [...this.#entries.values()].map((entry) => this.#statusOf(entry));
  }

  /** Waits for acquisitions in flight so that shutdown does not cut a token request in half. */
  async drain(): Promise<void> {
    const inflight: Promise<IssuedToken>[] = [];
    for (const entry of this.#entries.values()) if (entry.inflight !== undefined) inflight.push(entry.inflight);
    await Promise.allSettled(inflight);
  }

  async #awaitValid(pending: Promise<IssuedToken>, entry: MailboxEntry, minValiditySeconds: number): Promise<IssuedToken> {
    const token = await pending;
    if (token.expiresAt - this.#clock.now() < minValiditySeconds * 1000) {
      const lifetime = Math.round((token.expiresAt - this.#clock.now()) / 1000);
      throw new BrokerError(
        `mailbox ${entry.config.name}: ${entry.config.authorizationServer.name} issued a token valid for ${lifetime} s, less than the ${minValiditySeconds} s asked for.`,
        {
          code: 'invalid_request',
          mailbox: entry.config.name,
          authorizationServer: entry.config.authorizationServer.name,
          remediation: 'Ask for a smaller min_validity_seconds.',
        },
      );
    }
    return token;
  }

  /** One acquisition per mailbox at a time; every caller shares its outcome. */
  #acquire(entry: MailboxEntry): Promise<IssuedToken> {
    if (entry.inflight !== undefined) return entry.inflight;
    const { config } = entry;
    const inflight = entry.grant.acquire({}).then(
      (result) => {
        const now = this.#clock.now();
        const token = issueToken(config, result, now);
        entry.token = token;
        entry.lastRefreshAt = now;
        entry.lastError = undefined;
        entry.retryNotBefore = 0;
        entry.inflight = undefined;
        this.#logger.info(
          { mailbox: config.name, server: config.authorizationServer.name, expiresAt: new Date(token.expiresAt).toISOString() },
          'token acquired',
        );
        return token;
      },
      (error: unknown) => {
        const failure = toBrokerError(error, {
          message: `mailbox ${config.name}: token acquisition failed unexpectedly.`,
          code: 'internal',
          mailbox: config.name,
          authorizationServer: config.authorizationServer.name,
        });
        entry.lastError = failure;
        entry.retryNotBefore = this.#clock.now() + (failure.permanent ? RETRY_AFTER_PERMANENT_MS : RETRY_AFTER_TRANSIENT_MS);
        entry.inflight = undefined;
        this.#logger.warn(
          { mailbox: config.name, server: config.authorizationServer.name, code: failure.displayCode, permanent: failure.permanent },
          failure.describe(),
        );
        throw failure;
      },
    );
    entry.inflight = inflight;
    return inflight;
  }

  /** Refresh ahead within the lead time, but never for more than half a token's life (short-lived tokens would otherwise refresh on every call). */
  #refreshWindow(token: IssuedToken): number {
    return Math.min(this.#leadTimeMs, (token.expiresAt - token.obtainedAt) / 2);
  }

  #statusOf(entry: MailboxEntry): MailboxStatus {
    const { config, token, lastError } = entry;
    const valid = token !== undefined && token.expiresAt > this.#clock.now();
    return {
      mailbox: config.name,
      protocol: config.protocol,
      grantType: config.grantType,
      authorizationServer: config.authorizationServer.name,
      state: stateOf(valid, entry.inflight !== undefined, lastError),
      tokenExpiresAt: token?.expiresAt,
      lastRefreshAt: entry.lastRefreshAt,
      lastError,
    };
  }
}

function stateOf(hasValidToken: boolean, acquiring: boolean, lastError: BrokerError | undefined): MailboxState {
  if (lastError?.code === 'needs_authorization') return 'NEEDS_AUTHORIZATION';
  if (hasValidToken) return 'READY';
  if (acquiring) return 'ACQUIRING';
  return lastError === undefined ? 'IDLE' : 'FAILING';
}

function unknownMailbox(mailbox: string): BrokerError {
  return new BrokerError(`no mailbox named "${mailbox}" is configured.`, {
    code: 'unknown_mailbox',
    permanent: true,
    mailbox,
    remediation: 'Check the name against `token-broker status` or the mailboxes section of the config.',
  });
}
