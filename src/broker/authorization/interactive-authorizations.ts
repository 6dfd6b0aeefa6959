// Interactive authorization of a mailbox (authorization-code, device-code):
// start it, hold its PKCE verifier and state until the redirect comes back
// (pasted, code + state, or through the loopback listener), and install the
// resulting tokens in the mailbox. One authorization per mailbox at a time:
// starting again replaces the previous one.
import { timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import { BrokerError } from '../../errors/index.js';
import type { TokenStore } from '../../store/index.js';
import type { Clock } from '../../time/index.js';
import type { PendingAuthorization } from '../grants/index.js';
import type { MailboxSlot } from '../mailbox-slot.js';
import type { MailboxStatus } from '../mailbox-status.js';
import { summarizeToken } from '../token-summary.js';
import type { TokenSummary } from '../token-summary.js';
import { observeTokenRequest } from '../token-request-observer.js';
import type { TokenRequestObserver } from '../token-request-observer.js';
import { isLoopbackRedirect, LoopbackRedirectListener } from './loopback-listener.js';

export interface AuthorizationStarted {
  readonly mailbox: string;
  readonly authorizationUrl?: string;
  readonly state?: string;
  readonly expiresAt: number;
  readonly userCode?: string;
  readonly verificationUri?: string;
  readonly message?: string;
  /** True when the broker listens for the browser's redirect itself. */
  readonly listening: boolean;
  /** A grant that needs no person: what the token acquired at once is for (expiresAt is its expiry). */
  readonly acquired?: TokenSummary;
}

export interface AuthorizationResponse {
  /** The full URL the browser landed on. */
  readonly redirectUrl?: string;
  readonly code?: string;
  readonly state?: string;
}

interface InProgress {
  readonly pending?: PendingAuthorization;
  readonly listener?: LoopbackRedirectListener;
  cancel(): void;
}

export class InteractiveAuthorizations {
  readonly #inProgress = new Map<string, InProgress>();
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #store: TokenStore;
  /** Told after each completed authorization (a new refresh token, with a forecast of its own). */
  readonly #onAuthorized: () => void;

  /** Hears the token requests an authorization sends (the code's redemption, the device code's outcome): the metrics. */
  readonly #onTokenRequest: TokenRequestObserver | undefined;

  constructor(clock: Clock, logger: Logger, store: TokenStore, onAuthorized: () => void = () => undefined, onTokenRequest?: TokenRequestObserver) {
    this.#clock = clock;
    this.#logger = logger;
    this.#store = store;
    this.#onAuthorized = onAuthorized;
    this.#onTokenRequest = onTokenRequest;
  }

  async start(slot: MailboxSlot): Promise<AuthorizationStarted> {
    const { config, grant } = slot;
    if (!grant.interactive || grant.startAuthorization === undefined) {
      // No person is needed (ROPC, client credentials, a service account): authorizing such a mailbox means
      // acquiring a token now, which proves the credentials and shows what they grant (the seed's Authorize
      // button). A failure is recorded and thrown with its remediation, like any acquisition's.
      const token = await slot.acquire();
      return { mailbox: config.name, expiresAt: token.expiresAt, listening: false, acquired: summarizeToken(token, config.username) };
    }
    this.cancel(config.name);
    let start;
    try {
      start = await grant.startAuthorization();
    } catch (error) {
      throw slot.recordFailure(error);
    }
    if (start.kind === 'device-code') {
      const entry: InProgress = { cancel: () => start.cancel() };
      this.#inProgress.set(config.name, entry);
      // Counted as one request from the code's issue to its outcome (the polling in between is msal-node's or
      // openid-client's), so its time includes the person's: the device-code histogram tells how long people take.
      const completion = start.completion;
      observeTokenRequest(this.#onTokenRequest, { server: config.authorizationServer.name, grant: config.grantType }, () => completion).then(
        async (result) => {
          if (this.#inProgress.get(config.name) !== entry) return;
          this.#inProgress.delete(config.name);
          await slot.install(result);
          this.#onAuthorized();
        },
        (error: unknown) => {
          if (this.#inProgress.get(config.name) !== entry) return;
          this.#inProgress.delete(config.name);
          slot.recordFailure(error);
        },
      );
      return {
        mailbox: config.name,
        expiresAt: start.expiresAt,
        userCode: start.userCode,
        verificationUri: start.verificationUri,
        message: start.message,
        listening: false,
      };
    }
    const { pending } = start;
    // In the store too: an authorization started on one instance can be completed on another.
    await this.#store.putPendingAuthorization(config.name, { ...pending });
    const listener = await this.#listen(slot, pending);
    this.#inProgress.set(config.name, { pending, listener, cancel: () => listener?.close() });
    return {
      mailbox: config.name,
      authorizationUrl: start.authorizationUrl,
      state: pending.state,
      expiresAt: pending.expiresAt,
      listening: listener !== undefined,
    };
  }

  /** Finishes a redirect-based authorization with what the browser brought back. */
  async complete(slot: MailboxSlot, response: AuthorizationResponse): Promise<MailboxStatus> {
    const { config, grant } = slot;
    const inProgress = this.#inProgress.get(config.name);
    const pending = inProgress?.pending ?? (await this.#store.getPendingAuthorization(config.name));
    if (pending === undefined || grant.completeAuthorization === undefined) {
      throw notInProgress(config.name, 'no authorization is in progress for it (never started, already completed, or replaced)');
    }
    if (this.#clock.now() > pending.expiresAt) {
      this.cancel(config.name);
      throw notInProgress(config.name, 'the authorization started for it has expired');
    }
    const callbackUrl = callbackUrlOf(config.name, pending, response);
    const expected = new URL(pending.redirectUri);
    if (callbackUrl.origin !== expected.origin || callbackUrl.pathname !== expected.pathname) {
      // A code is only worth redeeming if it came back to the redirect URI it was issued for: a URL of
      // another site carries a code someone else obtained (or made up), so it is refused before the state
      // is even compared, and the authorization in progress stays as it was. Only origin and path are quoted: the query holds the code.
      throw new BrokerError(
        `mailbox ${config.name}: the redirect URL goes to ${callbackUrl.origin}${callbackUrl.pathname}, not to the mailbox's redirect URI ${expected.origin}${expected.pathname}.`,
        { code: 'invalid_request', permanent: true, mailbox: config.name, remediation: `Paste the address the browser landed on after signing in for ${config.name}; it starts with ${expected.origin}${expected.pathname}.` },
      );
    }
    if (!sameState(callbackUrl.searchParams.get('state'), pending.state)) {
      // Not ours: leave the real authorization in progress untouched.
      throw new BrokerError(
        `mailbox ${config.name}: the state in the redirect does not match the authorization in progress; the URL belongs to another (or a forged) authorization.`,
        { code: 'invalid_request', permanent: true, mailbox: config.name, remediation: `Paste the URL of the latest sign-in, or run: token-broker authorize ${config.name}` },
      );
    }
    const code = callbackUrl.searchParams.get('code');
    if ((code === null || code === '') && !callbackUrl.searchParams.has('error')) {
      // The right state but no code (a URL cut short when copied): the operator's slip, not an answer of the
      // server. The authorization stays in progress, so the whole address can still be pasted.
      throw new BrokerError(`mailbox ${config.name}: the redirect URL has no "code" parameter (nor an "error"); the authorization in progress is kept.`, {
        code: 'invalid_request',
        permanent: true,
        mailbox: config.name,
        remediation: 'Paste the whole address the browser shows after signing in, starting with the redirect URI.',
      });
    }
    // Single use: a replayed redirect finds nothing in progress.
    this.#inProgress.delete(config.name);
    inProgress?.listener?.close();
    await this.#store.deletePendingAuthorization(config.name);
    let result;
    try {
      const completeAuthorization = grant.completeAuthorization.bind(grant);
      result = await observeTokenRequest(this.#onTokenRequest, { server: config.authorizationServer.name, grant: config.grantType }, () =>
        completeAuthorization(pending, callbackUrl),
      );
    } catch (error) {
      throw slot.recordFailure(error);
    }
    await slot.install(result);
    this.#onAuthorized();
    this.#logger.info({ mailbox: config.name }, 'mailbox authorized');
    return slot.status(this.#clock.now());
  }

  /** Ends this instance's part of an authorization (listener, device-code polling); the stored state expires by itself. */
  cancel(mailbox: string): void {
    const inProgress = this.#inProgress.get(mailbox);
    if (inProgress === undefined) return;
    this.#inProgress.delete(mailbox);
    inProgress.cancel();
  }

  cancelAll(): void {
    for (const mailbox of [...this.#inProgress.keys()]) this.cancel(mailbox);
  }

  async #listen(slot: MailboxSlot, pending: PendingAuthorization): Promise<LoopbackRedirectListener | undefined> {
    if (!isLoopbackRedirect(pending.redirectUri)) return undefined;
    const name = slot.config.name;
    try {
      return await LoopbackRedirectListener.start(
        pending.redirectUri,
        async (url) => {
          try {
            await this.complete(slot, { redirectUrl: url.href });
            return { ok: true, message: `Mailbox ${name} is authorized; token-broker keeps its tokens fresh from now on.` };
          } catch (error) {
            return { ok: false, message: error instanceof BrokerError ? error.describe() : `Mailbox ${name} was not authorized.` };
          }
        },
        Math.max(0, pending.expiresAt - this.#clock.now()),
      );
    } catch (error) {
      // The browser may be on another machine: the pasted URL still works.
      this.#logger.warn(
        { mailbox: name, redirectUri: pending.redirectUri, err: (error as Error).message },
        'cannot listen for the loopback redirect; paste the redirect URL instead',
      );
      return undefined;
    }
  }
}

function callbackUrlOf(mailbox: string, pending: PendingAuthorization, response: AuthorizationResponse): URL {
  if (response.redirectUrl !== undefined && response.redirectUrl !== '') {
    try {
      return new URL(response.redirectUrl.trim());
    } catch {
      throw new BrokerError(`mailbox ${mailbox}: the redirect URL is not a URL.`, {
        code: 'invalid_request',
        permanent: true,
        mailbox,
        remediation: 'Paste the whole address from the browser, starting with http:// or https://.',
      });
    }
  }
  if (response.code === undefined || response.code === '' || response.state === undefined || response.state === '') {
    throw new BrokerError(`mailbox ${mailbox}: give either the redirect URL, or both code and state.`, {
      code: 'invalid_request',
      permanent: true,
      mailbox,
    });
  }
  const url = new URL(pending.redirectUri);
  url.searchParams.set('code', response.code);
  url.searchParams.set('state', response.state);
  return url;
}

function sameState(received: string | null, expected: string): boolean {
  if (received === null) return false;
  const a = Buffer.from(received);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function notInProgress(mailbox: string, why: string): BrokerError {
  return new BrokerError(`mailbox ${mailbox}: ${why}.`, {
    code: 'needs_authorization',
    permanent: true,
    mailbox,
    remediation: `Run: token-broker authorize ${mailbox}`,
  });
}
