// One configured mailbox inside the engine: its grant, current token, grant
// state (the newest refresh token), at most one acquisition in flight, and
// the last error. All state transitions of a mailbox happen here, and each
// one that matters after a restart is written to the store first.
import type { Logger } from 'pino';
import type { MailboxConfig } from '../config/index.js';
import { BrokerError, toBrokerError } from '../errors/index.js';
import type { MailboxRecord, TokenStore } from '../store/index.js';
import type { Clock } from '../time/index.js';
import type { ConcurrencyLimit } from './concurrency-limit.js';
import type { Grant, GrantState, TokenResult } from './grants/index.js';
import { issueToken } from './issued-token.js';
import type { IssuedToken } from './issued-token.js';
import type { MailboxState, MailboxStatus } from './mailbox-status.js';

/**
 * How long to wait before asking the server again after a failure. Fixed for
 * now; the refresh engine replaces this with backoff and Retry-After.
 */
const RETRY_AFTER_TRANSIENT_MS = 5_000;
const RETRY_AFTER_PERMANENT_MS = 60_000;

export interface SlotDependencies {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly store: TokenStore;
  /** credentialFingerprint(config): stored tokens of other credentials are never served. */
  readonly fingerprint: string;
  /** Shared by the mailboxes of one authorization server. */
  readonly serverLimit: ConcurrencyLimit;
}

export class MailboxSlot {
  readonly config: MailboxConfig;
  readonly grant: Grant;
  token: IssuedToken | undefined;
  inflight: Promise<IssuedToken> | undefined;
  lastRefreshAt: number | undefined;
  lastError: BrokerError | undefined;
  /** No new request to the server before this time (ms), after a failure. */
  retryNotBefore = 0;
  /** When ReportRejected last forced a refresh (ms); rate-limits such refreshes. */
  lastForcedRefreshAt = Number.NEGATIVE_INFINITY;
  #grantState: GrantState = {};
  #transientFailures = 0;
  readonly #watchers = new Set<(token: IssuedToken) => void>();
  readonly #dependencies: SlotDependencies;

  constructor(config: MailboxConfig, grant: Grant, dependencies: SlotDependencies) {
    this.config = config;
    this.grant = grant;
    this.#dependencies = dependencies;
  }

  get hasRefreshToken(): boolean {
    return this.#grantState.refreshToken !== undefined;
  }

  /**
   * Takes up what the store holds for this mailbox: a still-valid token is
   * served without asking the server; a record of other credentials (the
   * config changed) is discarded; an unreadable one is reported, not dropped.
   */
  async restore(): Promise<void> {
    const { store, fingerprint, logger } = this.#dependencies;
    let record: MailboxRecord | undefined;
    try {
      record = await store.getMailbox(this.config.name);
    } catch (error) {
      this.lastError = toBrokerError(error, {
        message: `mailbox ${this.config.name}: the stored record cannot be read.`,
        code: 'store_record_invalid',
        mailbox: this.config.name,
      });
      logger.error({ mailbox: this.config.name, code: this.lastError.code }, this.lastError.describe());
      return;
    }
    if (record === undefined) return;
    if (record.fingerprint !== fingerprint) {
      logger.info({ mailbox: this.config.name }, 'the credential settings changed: stored tokens are discarded and new ones acquired');
      await store.deleteMailbox(this.config.name);
      return;
    }
    if (record.refreshToken !== undefined) this.#grantState = { refreshToken: record.refreshToken };
    if (record.token !== undefined) {
      const { accessToken, tokenType, expiresAt, scopes, obtainedAt } = record.token;
      this.token = issueToken(this.config, { accessToken, tokenType, expiresAt, scopes }, obtainedAt);
    }
    this.lastRefreshAt = record.lastRefreshAt;
    if (record.error !== undefined) {
      this.#transientFailures = record.error.transientFailures;
      this.lastError = new BrokerError(record.error.message, {
        code: record.error.code as BrokerError['code'],
        permanent: record.error.permanent,
        mailbox: this.config.name,
        authorizationServer: this.config.authorizationServer.name,
      });
    }
  }

  /** Calls `watcher` with every new token from now on; returns the unsubscribe function. */
  watch(watcher: (token: IssuedToken) => void): () => void {
    this.#watchers.add(watcher);
    return () => this.#watchers.delete(watcher);
  }

  /** One acquisition at a time; every caller shares its outcome. */
  acquire(): Promise<IssuedToken> {
    if (this.inflight !== undefined) return this.inflight;
    const inflight = this.#dependencies.serverLimit.run(() => this.grant.acquire(this.#grantState)).then(
      async (result) => {
        try {
          return await this.install(result);
        } finally {
          this.inflight = undefined;
        }
      },
      (error: unknown) => {
        this.inflight = undefined;
        throw this.recordFailure(error);
      },
    );
    this.inflight = inflight;
    return inflight;
  }

  /**
   * Takes a new token from the server. The record, with the new refresh
   * token, is written to the store before the access token is handed to
   * anyone: with rotation the previous refresh token is already dead, and
   * losing the new one would mean authorizing the mailbox again.
   */
  async install(result: TokenResult): Promise<IssuedToken> {
    const { clock, logger } = this.#dependencies;
    const grantState = result.refreshToken === undefined ? this.#grantState : { refreshToken: result.refreshToken };
    const now = clock.now();
    const token = issueToken(this.config, result, now);
    await this.#save({
      fingerprint: this.#dependencies.fingerprint,
      token: { accessToken: token.accessToken, tokenType: token.tokenType, expiresAt: token.expiresAt, obtainedAt: now, scopes: [...token.scopes] },
      ...(grantState.refreshToken === undefined ? {} : { refreshToken: grantState.refreshToken, refreshTokenUsedAt: now }),
      lastRefreshAt: now,
    });
    this.#grantState = grantState;
    this.token = token;
    this.lastRefreshAt = now;
    this.lastError = undefined;
    this.retryNotBefore = 0;
    this.#transientFailures = 0;
    logger.info(
      { mailbox: this.config.name, server: this.config.authorizationServer.name, expiresAt: new Date(token.expiresAt).toISOString() },
      'token acquired',
    );
    for (const watcher of this.#watchers) watcher(token);
    return token;
  }

  recordFailure(error: unknown): BrokerError {
    const { clock, logger } = this.#dependencies;
    const failure = toBrokerError(error, {
      message: `mailbox ${this.config.name}: token acquisition failed unexpectedly.`,
      code: 'internal',
      mailbox: this.config.name,
      authorizationServer: this.config.authorizationServer.name,
    });
    const now = clock.now();
    this.lastError = failure;
    this.#transientFailures = failure.permanent ? 0 : this.#transientFailures + 1;
    this.retryNotBefore = now + (failure.permanent ? RETRY_AFTER_PERMANENT_MS : RETRY_AFTER_TRANSIENT_MS);
    logger.warn(
      { mailbox: this.config.name, server: this.config.authorizationServer.name, code: failure.displayCode, permanent: failure.permanent },
      failure.describe(),
    );
    // The error state lives beside the token, so `status` tells the truth after a restart too.
    this.#save(this.#record({ code: failure.code, message: failure.describe(), permanent: failure.permanent, transientFailures: this.#transientFailures, lastAttemptAt: now })).catch(
      () => undefined,
    );
    return failure;
  }

  status(): MailboxStatus {
    const { config, token, lastError } = this;
    const valid = token !== undefined && token.expiresAt > this.#dependencies.clock.now();
    return {
      mailbox: config.name,
      protocol: config.protocol,
      grantType: config.grantType,
      authorizationServer: config.authorizationServer.name,
      state: this.#state(valid),
      tokenExpiresAt: token?.expiresAt,
      lastRefreshAt: this.lastRefreshAt,
      lastError,
    };
  }

  #record(error: MailboxRecord['error']): MailboxRecord {
    const token = this.token;
    return {
      fingerprint: this.#dependencies.fingerprint,
      ...(token === undefined
        ? {}
        : { token: { accessToken: token.accessToken, tokenType: token.tokenType, expiresAt: token.expiresAt, obtainedAt: token.obtainedAt, scopes: [...token.scopes] } }),
      ...(this.#grantState.refreshToken === undefined ? {} : { refreshToken: this.#grantState.refreshToken }),
      ...(this.lastRefreshAt === undefined ? {} : { lastRefreshAt: this.lastRefreshAt }),
      ...(error === undefined ? {} : { error }),
    };
  }

  async #save(record: MailboxRecord): Promise<void> {
    try {
      await this.#dependencies.store.putMailbox(this.config.name, record);
    } catch (error) {
      // The token is still served (it is valid); ops must know it is not durable.
      const failure = toBrokerError(error, {
        message: `mailbox ${this.config.name}: the token could not be written to the store.`,
        code: 'store_unavailable',
        mailbox: this.config.name,
      });
      this.#dependencies.logger.error({ mailbox: this.config.name, code: failure.code }, failure.describe());
    }
  }

  #state(hasValidToken: boolean): MailboxState {
    if (this.lastError?.code === 'needs_authorization') return 'NEEDS_AUTHORIZATION';
    if (hasValidToken) return 'READY';
    if (this.grant.interactive && !this.hasRefreshToken) return 'NEEDS_AUTHORIZATION';
    if (this.inflight !== undefined) return 'ACQUIRING';
    return this.lastError === undefined ? 'IDLE' : 'FAILING';
  }
}
