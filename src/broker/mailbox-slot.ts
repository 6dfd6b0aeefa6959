// One configured mailbox inside the engine: its grant, current token, grant
// state (the newest refresh token), at most one acquisition in flight, and
// the last error. All state transitions of a mailbox happen here.
import type { Logger } from 'pino';
import type { MailboxConfig } from '../config/index.js';
import type { BrokerError} from '../errors/index.js';
import { toBrokerError } from '../errors/index.js';
import type { Clock } from '../time/index.js';
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

export class MailboxSlot {
  readonly config: MailboxConfig;
  readonly grant: Grant;
  token: IssuedToken | undefined;
  inflight: Promise<IssuedToken> | undefined;
  lastRefreshAt: number | undefined;
  lastError: BrokerError | undefined;
  /** No new request to the server before this time (ms), after a failure. */
  retryNotBefore = 0;
  #grantState: GrantState = {};
  readonly #clock: Clock;
  readonly #logger: Logger;

  constructor(config: MailboxConfig, grant: Grant, clock: Clock, logger: Logger) {
    this.config = config;
    this.grant = grant;
    this.#clock = clock;
    this.#logger = logger;
  }

  get hasRefreshToken(): boolean {
    return this.#grantState.refreshToken !== undefined;
  }

  /** One acquisition at a time; every caller shares its outcome. */
  acquire(): Promise<IssuedToken> {
    if (this.inflight !== undefined) return this.inflight;
    const inflight = this.grant.acquire(this.#grantState).then(
      (result) => {
        this.inflight = undefined;
        return this.install(result);
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
   * Takes a new token from the server. The refresh token is kept before the
   * access token is handed to anyone: with rotation the previous one is
   * already dead, and losing the new one would mean authorizing again.
   */
  install(result: TokenResult): IssuedToken {
    if (result.refreshToken !== undefined) this.#grantState = { refreshToken: result.refreshToken };
    const now = this.#clock.now();
    const token = issueToken(this.config, result, now);
    this.token = token;
    this.lastRefreshAt = now;
    this.lastError = undefined;
    this.retryNotBefore = 0;
    this.#logger.info(
      { mailbox: this.config.name, server: this.config.authorizationServer.name, expiresAt: new Date(token.expiresAt).toISOString() },
      'token acquired',
    );
    return token;
  }

  recordFailure(error: unknown): BrokerError {
    const failure = toBrokerError(error, {
      message: `mailbox ${this.config.name}: token acquisition failed unexpectedly.`,
      code: 'internal',
      mailbox: this.config.name,
      authorizationServer: this.config.authorizationServer.name,
    });
    this.lastError = failure;
    this.retryNotBefore = this.#clock.now() + (failure.permanent ? RETRY_AFTER_PERMANENT_MS : RETRY_AFTER_TRANSIENT_MS);
    this.#logger.warn(
      { mailbox: this.config.name, server: this.config.authorizationServer.name, code: failure.displayCode, permanent: failure.permanent },
      failure.describe(),
    );
    return failure;
  }

  status(): MailboxStatus {
    const { config, token, lastError } = this;
    const valid = token !== undefined && token.expiresAt > this.#clock.now();
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

  #state(hasValidToken: boolean): MailboxState {
    if (this.lastError?.code === 'needs_authorization') return 'NEEDS_AUTHORIZATION';
    if (hasValidToken) return 'READY';
    if (this.grant.interactive && !this.hasRefreshToken) return 'NEEDS_AUTHORIZATION';
    if (this.inflight !== undefined) return 'ACQUIRING';
    return this.lastError === undefined ? 'IDLE' : 'FAILING';
  }
}
