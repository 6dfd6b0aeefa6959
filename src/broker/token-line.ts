// One token line: the unit the engine acquires and refreshes. Usually one
// mailbox; for client credentials, every mailbox of one application identity
// (line-identity.ts), which then share one request and one refresh. The line
// owns what belongs to the token rather than to a mailbox: the grant and its
// state (the newest refresh token), the acquisition in flight, the last
// failure and when to try again, and its one store record. Each member
// mailbox keeps its own issued token (the SASL user differs). Whether the
// line may send a request now is decided here and nowhere else.
import type { Logger } from 'pino';
import type { MailboxConfig } from '../config/index.js';
import { BrokerError, toBrokerError } from '../errors/index.js';
import type { RefreshTokenFacts } from '../forecast/index.js';
import type { MailboxRecord, RecordsWanted, StoredRecords, StoredToken, TokenStore } from '../store/index.js';
import type { Clock } from '../time/index.js';
import type { ConcurrencyLimit } from './concurrency-limit.js';
import type { Grant, GrantState, TokenResult } from './grants/index.js';
import type { IssuedToken } from './issued-token.js';
import type { MailboxState } from './mailbox-status.js';
import { RefreshTokenHistory } from './refresh-token-history.js';
import { refreshDueAt } from './refresh-timing.js';
import { observeTokenRequest } from './token-request-observer.js';
import type { TokenRequestObserver } from './token-request-observer.js';
import type { RefreshTiming } from './refresh-timing.js';

/** ReportRejected forces at most one refresh per token line in this interval. */
export const REJECTION_REFRESH_INTERVAL_MS = 30_000;

/**
 * A token from the server valid for no more than this on arrival (expires_in
 * 0 or 1) satisfies no caller: the smallest min_validity_seconds is 1 s, and
 * msal-node keeps expiry in whole seconds, so an `expires_in: 1` can arrive
 * looking valid for up to 2 s (the fault suite met it as 1.x s, blamed on the
 * caller as INVALID_ARGUMENT). It is the server's failure
 * (authorization_server_error, with backoff), never a token to serve nor the
 * caller's invalid request.
 */
export const EXPIRED_ON_ARRIVAL_MS = 2_000;

/** The end of every message about a rotated refresh token the store refused: what the broker does, and what an operator must not. */
const UNSTORED_ROTATION_ADVICE =
  'The broker keeps the new refresh token in memory and writes it again, with backoff, until the store takes it; ' +
  'a restart before then loses it, and the mailbox must then be authorized again.';

/** What a line needs of a mailbox on it (MailboxSlot). */
export interface LineMember {
  readonly config: MailboxConfig;
  /** credentialFingerprint(config): the store record is this member's only while it matches. */
  readonly fingerprint: string;
  readonly token: IssuedToken | undefined;
  /** When `token` is due for refresh (ms). */
  readonly refreshDueAt: number;
  /** When a client last asked for the mailbox (ms). */
  readonly lastUsedAt: number;
  readonly watched: boolean;
  /** Issues `stored` as the member's token; `announce` tells its watchers. */
  setToken(stored: StoredToken, announce: boolean): void;
}


/**
 * Why the sweep starts an acquisition: a line in use is refreshed when due,
 * an idle one only keeps its refresh token alive, and a rotated refresh
 * token the store refused is written again (`store`, no request to the server).
 */
export type SweepReason = 'refresh' | 'keep-alive' | 'store';

/** What status reports of a line, as seen by a member with or without a valid token of its own. */
export interface LineStatus {
  readonly state: MailboxState;
  readonly lastRefreshAt: number | undefined;
  /** Undefined without a refresh token. */
  readonly refreshTokenUsedAt: number | undefined;
  readonly lastError: BrokerError | undefined;
  /** What the token-death forecast needs to know of the refresh token. */
  readonly refreshTokenFacts: RefreshTokenFacts;
}

export interface LineDependencies {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly store: TokenStore;
  /** Shared by the lines of one authorization server. */
  readonly serverLimit: ConcurrencyLimit;
  /** The current refresh settings (they change on reload). */
  readonly timing: () => RefreshTiming;
  /** How long to wait after the `consecutiveFailures`-th failure in a row. */
  readonly retryDelayMs: (failure: BrokerError, consecutiveFailures: number) => number;
  /** Hears each request sent to the authorization server (metrics); none by default. */
  readonly onTokenRequest?: TokenRequestObserver;
  /** Told after every event that may change the members' states (`event`, in words): state-changes.ts logs the changes. */
  readonly stateEvent?: (line: TokenLine, event: string) => void;
}

export interface AcquireOptions {
  /** A mail server refused this token: a token from the store that is this one does not count as new. */
  readonly rejectedAccessToken?: string;
}

export class TokenLine {
  /** Mailbox name, or `app:<digest>` for a shared application token: the lock name, jitter seed and (shared) record key. */
  readonly id: string;
  readonly grant: Grant;
  /**
   * Set on a line whose mailboxes share one token (see `shared`): the
   * credential fingerprint of the application, without a user, that its
   * `line:` record must carry to be served.
   */
  readonly #applicationFingerprint: string | undefined;
  /** Sorted by name, so every instance has the same leader (the mailbox failures name; on a line of one, whose record it is). */
  readonly #members: LineMember[] = [];
  #inflight: Promise<void> | undefined;
  #lastError: BrokerError | undefined;
  /** No new request to the server before this time (ms), after a failure. */
  #retryNotBefore = 0;
  #lastRefreshAt: number | undefined;
  /** When the refresh token was last redeemed or issued (keep-alive). */
  #refreshTokenUsedAt: number | undefined;
  /** When ReportRejected last forced a refresh (ms); rate-limits such refreshes. */
  #lastForcedRefreshAt = Number.NEGATIVE_INFINITY;
  #grantState: GrantState = {};
  /** The refresh token's history for the token-death forecast (kept in the record). */
  #history = new RefreshTokenHistory();
  #consecutiveFailures = 0;
  /**
   * The line's newest record that the store refused (a failed or timed-out
   * batch), written again by saveUnsaved() (every sweep) until the store
   * takes it. Its token is served meanwhile only when nothing durable is at
   * stake (no new refresh token came with it); else see #rotation.
   */
  #unsaved: MailboxRecord | undefined;
  /**
   * Set while the refresh token in #grantState is a NEW one (rotated, or
   * from an authorization) that the store has not taken. The server may
   * have revoked the previous one, so this one lives only in memory: a
   * restart now would cost an authorization. Meanwhile the access token that
   * came with it (`token`; undefined when it was useless) is not handed out
   * (stored before use), the status shows the store's failure, and every
   * acquisition writes the record instead of asking the server: a request
   * would rotate again on top of an unsaved rotation. Cleared once a record
   * carrying that refresh token is in the store (#save), or when the store
   * holds a newer one (another instance).
   */
  #rotation: { readonly token: StoredToken | undefined; readonly obtainedAt: number } | undefined;
  /**
   * The lifetime (ms) of the last token this line obtained from the server,
   * as issued: what a new request would get. A caller asking for more
   * validity than that cannot be satisfied by any request (min_validity).
   */
  #issuedLifetimeMs: number | undefined;
  /** The record the latest save carries: a failure of an older save must not shelve it over a newer one. */
  #latestSave: MailboxRecord | undefined;
  /**
   * Members whose own `mailbox:` record a shared line was restored from (a
   * store written when every mailbox kept a copy): deleted once the line's
   * record is in the store, so no stale token stays at rest.
   */
  readonly #legacy = new Set<string>();
  readonly #dependencies: LineDependencies;

  /** `applicationFingerprint`: given for a line shared by the mailboxes of one application (see `shared`). */
  constructor(id: string, grant: Grant, dependencies: LineDependencies, applicationFingerprint?: string) {
    this.id = id;
    this.grant = grant;
    this.#dependencies = dependencies;
    this.#applicationFingerprint = applicationFingerprint;
  }

  /**
   * Whether the members share one token (client credentials: every mailbox
   * of one application), so that the line keeps ONE record under its id
   * (`line:app:<digest>`) instead of an identical copy per mailbox: with
   * 10,000 mailboxes, 7,000 of them client credentials over 200 applications,
   * a refresh wave writes 3,200 records instead of 10,000, and a start reads
   * as many. Any other line has one member and keeps its `mailbox:` record.
   */
  get shared(): boolean {
    return this.#applicationFingerprint !== undefined;
  }

  /**
   * What the store holds for `lines`, in one pass (TokenStore.getRecords, a
   * query per 1,000 keys): a shared line's record, any other line's mailbox
   * record. Shared lines without a record of their own (a store written by a
   * version that kept one per mailbox) have their members' records read in
   * a second pass, for restore() to migrate. A store that cannot be read at
   * all fails every record alike.
   */
  static async readRecords(store: TokenStore, lines: readonly TokenLine[]): Promise<StoredRecords> {
    const found = await readOrFail(store, {
      mailboxes: lines.filter((line) => !line.shared).flatMap((line) => line.#memberNames()),
      lines: lines.filter((line) => line.shared).map((line) => line.id),
    });
    const migrating = lines.filter((line) => line.shared && !found.lines.has(line.id)).flatMap((line) => line.#memberNames());
    if (migrating.length > 0) {
      const older = await readOrFail(store, { mailboxes: migrating });
      for (const [name, record] of older.mailboxes) found.mailboxes.set(name, record);
    }
    return found;
  }

  /** Waits until none of `lines` has an acquisition in flight (one may start while another ends). */
  static async settle(lines: readonly TokenLine[]): Promise<void> {
    for (;;) {
      const inflight = lines.map((line) => line.#inflight).filter((promise) => promise !== undefined);
      if (inflight.length === 0) return;
      await Promise.allSettled(inflight);
    }
  }

  get members(): readonly LineMember[] {
    return this.#members;
  }

  get leader(): LineMember {
    const leader = this.#members[0];
    if (leader === undefined) throw new BrokerError(`token line ${this.id} has no mailbox.`, { code: 'internal' });
    return leader;
  }

  /**
   * Whether a caller may start an acquisition now: none in flight and not
   * inside the pause after a failure. The cached path asks this on every
   * call: it compares numbers and allocates nothing.
   */
  mayStart(now: number): boolean {
    return this.#inflight === undefined && now >= this.#retryNotBefore;
  }

  /** The last failure while inside the pause after it (and nothing in flight): a caller gets it instead of a new request. */
  refusal(now: number): BrokerError | undefined {
    return this.#inflight === undefined && now < this.#retryNotBefore ? this.#lastError : undefined;
  }

  /**
   * The sweep's decision for this line: undefined to leave it alone, else
   * why to acquire now. On-demand (ropc-deprecated) lines, lines with an
   * acquisition in flight or inside the pause after a failure, and permanent
   * failures (they wait for a caller, a reload or an authorization) are left
   * alone. In use (a member asked for within refresh.idleAfterHours, or
   * watched): refresh when due, and acquire when there is no valid token
   * although one can be had without a person. Idle: only redeem the refresh
   * token every refresh.keepAliveDays. A rotated refresh token the store
   * refused is written again after the pause, in use or idle.
   */
  dueForSweep(now: number): SweepReason | undefined {
    const leader = this.leader;
    // ropc-deprecated is the on-demand path (DOMAIN.md): never refreshed ahead.
    if (leader.config.grantType === 'ropc-deprecated') return undefined;
    if (!this.mayStart(now)) return undefined;
    if (this.#rotation !== undefined) return 'store';
    if (this.#lastError?.permanent === true) return undefined;
    const { idleAfterMs, keepAliveMs } = this.#dependencies.timing();
    const hasRefreshToken = this.#grantState.refreshToken !== undefined;
    if (this.#members.some((slot) => slot.watched || now - slot.lastUsedAt < idleAfterMs)) {
      const token = leader.token;
      const due = token !== undefined && token.expiresAt > now ? now >= leader.refreshDueAt : !this.grant.interactive || hasRefreshToken;
      return due ? 'refresh' : undefined;
    }
    return hasRefreshToken && now - (this.#refreshTokenUsedAt ?? 0) >= keepAliveMs ? 'keep-alive' : undefined;
  }

  /**
   * A mail server refused a token of the line: acquire anew, the refused
   * token not counting as new when the store holds it. At most one such
   * refresh per REJECTION_REFRESH_INTERVAL_MS: within it, undefined (the
   * caller gets the current token).
   */
  forceRefresh(rejectedAccessToken: string | undefined, now: number): Promise<void> | undefined {
    if (now - this.#lastForcedRefreshAt < REJECTION_REFRESH_INTERVAL_MS) return undefined;
    this.#lastForcedRefreshAt = now;
    return this.acquire(rejectedAccessToken === undefined ? {} : { rejectedAccessToken });
  }

  /**
   * The lifetime (ms) the server gave the last token this line obtained
   * from it; undefined before the first (a token taken from the store, or
   * from another instance, does not count). A new request would get about
   * as much, so a caller asking for more validity cannot be satisfied.
   */
  get issuedLifetimeMs(): number | undefined {
    return this.#issuedLifetimeMs;
  }

  /** What status reports, for a member whose own token is valid (`hasValidToken`) or not. */
  status(hasValidToken: boolean): LineStatus {
    const hasRefreshToken = this.#grantState.refreshToken !== undefined;
    return {
      state: this.#state(hasValidToken, hasRefreshToken),
      lastRefreshAt: this.#lastRefreshAt,
      refreshTokenUsedAt: hasRefreshToken ? this.#refreshTokenUsedAt : undefined,
      lastError: this.#lastError,
      refreshTokenFacts: this.#history.facts(hasRefreshToken, this.#refreshTokenUsedAt),
    };
  }

  /** Adds a mailbox made for this line; joining a line that has a token, it gets that token at once. */
  join(slot: LineMember): void {
    const current = this.#members[0]?.token;
    // Kept sorted by inserting in place: sorting on every join made building an application's line of n mailboxes O(n² log n).
    const name = slot.config.name;
    let low = 0;
    let high = this.#members.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.#members[middle]?.config.name ?? '') < name) low = middle + 1;
      else high = middle;
    }
    this.#members.splice(low, 0, slot);
    if (current !== undefined && slot.token === undefined) {
      const { accessToken, tokenType, expiresAt, obtainedAt, scopes } = current;
      slot.setToken({ accessToken, tokenType, expiresAt, obtainedAt, scopes: [...scopes] }, false);
    }
  }

  /**
   * A reload replaced the line of a mailbox whose credentials did not change:
   * the refresh token, history and a record the store refused carry over
   * (the same credentials' record, written where this line keeps it); failures
   * do not, except the store's refusal of a rotated refresh token, which still holds.
   */
  inherit(previous: TokenLine): void {
    this.#grantState = previous.#grantState;
    this.#history = previous.#history;
    this.#refreshTokenUsedAt = previous.#refreshTokenUsedAt;
    this.#lastRefreshAt = previous.#lastRefreshAt;
    this.#lastForcedRefreshAt = previous.#lastForcedRefreshAt;
    this.#issuedLifetimeMs ??= previous.#issuedLifetimeMs;
    this.#unsaved ??= previous.#unsaved;
    if (previous.#rotation !== undefined && this.#rotation === undefined) {
      this.#rotation = previous.#rotation;
      this.#lastError = previous.#lastError;
      this.#consecutiveFailures = previous.#consecutiveFailures;
      this.#retryNotBefore = previous.#retryNotBefore;
    }
  }

  /** When `token` is due for refresh under the current settings. */
  dueAt(token: { readonly expiresAt: number; readonly obtainedAt: number }): number {
    return refreshDueAt(this.id, token, this.#dependencies.timing().leadTimeMs);
  }

  /**
   * Takes `slot` off the line. True when its per-mailbox record of the
   * previous layout was still to be deleted (#legacy): no longer this line's
   * to delete, it falls to the reload (purge) or to the mailbox's next line (keepLegacy).
   */
  leave(slot: LineMember): boolean {
    const index = this.#members.indexOf(slot);
    if (index >= 0) this.#members.splice(index, 1);
    return this.#legacy.delete(slot.config.name);
  }

  /** A member moved here (reload) with its per-mailbox record of the previous layout still to delete: this shared line deletes it after its next write. */
  keepLegacy(mailbox: string): void {
    // On a line of its own, that record is the line's record: never deleted for being old.
    if (this.shared) this.#legacy.add(mailbox);
  }

  /**
   * Takes up what the store holds for the line: a still-valid token is
   * served without asking the server; a record of other credentials (the
   * config changed) is discarded; an unreadable one is reported, not dropped.
   * `stored`: the records as the broker read them for every line in one pass
   * at start (readRecords); without it the line reads them itself (reload).
   */
  async restore(stored?: StoredRecords): Promise<void> {
    const found = stored ?? (await TokenLine.readRecords(this.#dependencies.store, [this]));
    const own = this.shared ? found.lines.get(this.id) : found.mailboxes.get(this.leader.config.name);
    const record = this.shared && own === undefined ? await this.#migrate(found.mailboxes) : await this.#usable(own, this.#fingerprint(), this.#owner());
    if (record === undefined) {
      this.#stateEvent('nothing usable was stored for it');
      return;
    }
    if (record.token !== undefined) for (const slot of this.#members) slot.setToken(record.token, false);
    this.#takeRecordState(record);
    if (record.error !== undefined) {
      this.#consecutiveFailures = record.error.transientFailures;
      const { oauthError, aadsts } = record.error;
      this.#lastError = new BrokerError(record.error.message, {
        code: record.error.code as BrokerError['code'],
        permanent: record.error.permanent,
        mailbox: this.leader.config.name,
        authorizationServer: this.leader.config.authorizationServer.name,
        // The server's own code survives the restart: status and gRPC metadata show AADSTS7000215, not only invalid_client.
        ...(oauthError === undefined && aadsts === undefined ? {} : { oauth: { ...(oauthError === undefined ? {} : { error: oauthError }), ...(aadsts === undefined ? {} : { aadsts }) } }),
      });
      // Not retried at once by a restart: a permanent failure waits as it would have (an hour; `token-broker
      // authorize` or a config change retries sooner), a transient one its backoff. Records of earlier versions
      // have no retryNotBefore: the policy's delay from the last attempt.
      this.#retryNotBefore =
        record.error.retryNotBefore ?? record.error.lastAttemptAt + this.#dependencies.retryDelayMs(this.#lastError, Math.max(1, record.error.transientFailures));
    }
    this.#stateEvent('its token was restored from the store');
  }

  /**
   * A shared line with no record of its own, in a store written when each
   * mailbox kept a copy: the newest of its members' records stands for the
   * line, and those records are deleted once the line's own is written (#save).
   */
  async #migrate(mailboxes: StoredRecords['mailboxes']): Promise<MailboxRecord | undefined> {
    const records = await Promise.all(
      this.#members.map(async (slot) => {
        const entry = mailboxes.get(slot.config.name);
        const record = await this.#usable(entry, slot.fingerprint, memberOwner(slot, this.#dependencies.store));
        // An unreadable copy goes too: the line's record replaces it (a store that could not be read at all proves nothing).
        const exists = record !== undefined || (entry instanceof Error && !(entry instanceof BrokerError && entry.code === 'store_unavailable'));
        if (exists) this.#legacy.add(slot.config.name);
        return record;
      }),
    );
    let newest: MailboxRecord | undefined;
    for (const record of records) {
      if (record !== undefined && (newest === undefined || (record.token?.obtainedAt ?? 0) > (newest.token?.obtainedAt ?? 0))) newest = record;
    }
    if (this.#legacy.size > 0) {
      this.#dependencies.logger.info(
        { line: this.id, mailboxes: this.#legacy.size },
        `token line ${this.id}: restored from the per-mailbox records of a previous version; they are deleted once the line's own record is written`,
      );
    }
    return newest;
  }

  /** `entry` when it may be served: one of other credentials is deleted, an unreadable one reported; else undefined. */
  async #usable(entry: MailboxRecord | Error | undefined, fingerprint: string, owner: RecordOwner): Promise<MailboxRecord | undefined> {
    const { logger } = this.#dependencies;
    try {
      if (entry instanceof Error) throw entry;
      if (entry === undefined || entry.fingerprint === fingerprint) return entry;
      logger.info(owner.logFields, `${owner.label}: the credential settings changed: stored tokens are discarded and new ones acquired`);
      await owner.delete();
    } catch (error) {
      this.#lastError = toBrokerError(error, {
        message: `${owner.label}: the stored record cannot be read.`,
        code: 'store_record_invalid',
        mailbox: owner.mailbox,
      });
      logger.error({ ...owner.logFields, code: this.#lastError.code }, this.#lastError.describe());
    }
    return undefined;
  }

  /**
   * One acquisition at a time; every caller shares its outcome. With a store
   * shared by several instances it runs under the line's lock and first
   * re-reads the store: when another instance has just refreshed, its token
   * (and rotated refresh token) is taken up instead of asking the server again.
   */
  acquire(options: AcquireOptions = {}): Promise<void> {
    if (this.#inflight !== undefined) return this.#inflight;
    const inflight = this.#acquire(options).finally(() => {
      this.#inflight = undefined;
      this.#stateEvent('the token acquisition ended');
    });
    this.#inflight = inflight;
    this.#stateEvent('a token acquisition started');
    return inflight;
  }

  async #acquire(options: AcquireOptions): Promise<void> {
    const { store, serverLimit } = this.#dependencies;
    try {
      if (this.#rotation !== undefined) {
        // No request on top of a rotated refresh token the store has not taken: it would rotate again, and the chain of
        // refresh tokens that only this process knows would grow with every request. The record goes first.
        await this.#storeRotation();
        if (this.#serves(options)) return;
      }
      const refresh = async (): Promise<void> => {
        const request = { server: this.leader.config.authorizationServer.name, grant: this.grant.type };
        // Without a refresh token the grant signs in (password, client credential): the forecast counts sign-ins.
        const signedIn = this.#grantState.refreshToken === undefined;
        const result = await serverLimit.run(() => observeTokenRequest(this.#dependencies.onTokenRequest, request, () => this.grant.acquire(this.#grantState)));
        await this.install(result, signedIn);
      };
      if (!store.shared) {
        // One instance: `#inflight` already makes this the only acquisition of the line.
        await refresh();
        return;
      }
      // What this acquisition set out to replace: a token taken up meanwhile (another instance's write) may already be the answer.
      const startedWith = this.#members[0]?.token;
      // The write happens inside the lock: the next holder's re-read must find it.
      await store.withLock(this.id, async () => {
        if (!(await this.#adoptFromStore(options, startedWith))) await refresh();
      });
    } catch (error) {
      throw this.recordFailure(error);
    }
  }

  /**
   * Takes a new token from the server. The line's record, with the new
   * refresh token, is written to the store before the access token is handed
   * to anyone: with rotation the previous refresh token is already dead, and
   * losing the new one would mean authorizing the mailbox again. So when the
   * store refuses a record that carries a NEW refresh token, the access token
   * is withheld (#rotation) and the store's failure thrown; the new refresh
   * token is kept in memory all the same, as the one to use next. A token
   * already expired on arrival is the server's failure (thrown after its
   * refresh token is kept). `signedIn`: the answer to a sign-in (an
   * authorization, a password), not to a redeemed refresh token.
   */
  async install(result: TokenResult, signedIn = true): Promise<void> {
    const { clock, logger } = this.#dependencies;
    const now = clock.now();
    const rotated = result.refreshToken !== undefined && result.refreshToken !== this.#grantState.refreshToken;
    this.#history.noteAnswer(result, this.#grantState.refreshToken, signedIn, now);
    if (this.#history.outlivedStatedLifetime(now)) {
      logger.info(this.#owner().logFields, 'the refresh token outlived the sign-in frequency Entra stated in AADSTS70043: the policy changed, and its forecast is dropped');
    }
    // A refresh token not yet in the store, from an earlier answer, is still at stake if this answer repeats it.
    const atStake = rotated || this.#rotation !== undefined;
    // In memory at once, whatever the store says: the server may have revoked the previous one with this answer.
    if (result.refreshToken !== undefined) this.#grantState = { refreshToken: result.refreshToken };
    if (this.#grantState.refreshToken !== undefined) this.#refreshTokenUsedAt = now;
    this.#lastRefreshAt = now;
    const expired = this.#expiredOnArrival(result, now);
    const stored: StoredToken | undefined = expired
      ? undefined
      : { accessToken: result.accessToken, tokenType: result.tokenType, expiresAt: result.expiresAt, obtainedAt: now, scopes: [...result.scopes] };
    if (stored !== undefined) this.#issuedLifetimeMs = stored.expiresAt - now;
    // This answer's record supersedes any pending one: it carries the newest refresh token.
    this.#rotation = undefined;
    const failure = await this.#save(this.#record(undefined, stored));
    if (failure !== undefined && atStake) {
      this.#rotation = { token: stored, obtainedAt: now };
      throw expired ?? this.#withheld(failure);
    }
    if (expired !== undefined) throw expired;
    if (stored === undefined) return;
    this.#clearFailure();
    logger.info(
      {
        mailbox: this.#members.length === 1 ? this.leader.config.name : this.#members.map((slot) => slot.config.name),
        server: this.leader.config.authorizationServer.name,
        expiresAt: new Date(result.expiresAt).toISOString(),
      },
      'token acquired',
    );
    for (const slot of this.#members) slot.setToken(stored, true);
    this.#stateEvent(`a new token was obtained from ${this.leader.config.authorizationServer.name}`);
  }

  /** The server's failure when `result` is no token any caller could use (valid for at most EXPIRED_ON_ARRIVAL_MS), else undefined. */
  #expiredOnArrival(result: TokenResult, now: number): BrokerError | undefined {
    const validMs = result.expiresAt - now;
    if (validMs > EXPIRED_ON_ARRIVAL_MS) return undefined;
    const leader = this.leader.config;
    const server = leader.authorizationServer.name;
    const expiresIn = Math.max(0, Math.round(validMs / 1000));
    return new BrokerError(
      `mailbox ${leader.name}: authorization server ${server} answered with an access token that is already expired or about to (expires_in ${expiresIn}), which no client can use; the broker asks again later, with backoff.`,
      {
        code: 'authorization_server_error',
        permanent: false,
        mailbox: leader.name,
        authorizationServer: server,
        remediation: `Check the access token lifetime that ${server} issues for this application (a token lifetime policy), and that this host's clock is right.`,
      },
    );
  }

  /** What the waiters of an acquisition get when the store refused the record of the rotated refresh token it brought. */
  #withheld(failure: BrokerError): BrokerError {
    const leader = this.leader.config;
    return this.#unstoredRotation(
      `mailbox ${leader.name}: the new token from ${leader.authorizationServer.name} is not handed out: it came with a new refresh token, which must be stored before use, and ${failure.message}`,
      failure,
    );
  }

  /** store_unavailable for a rotated refresh token the store refused: `message`, the store's remediation and what the broker does meanwhile. */
  #unstoredRotation(message: string, failure: BrokerError): BrokerError {
    const leader = this.leader.config;
    return new BrokerError(message, {
      code: 'store_unavailable',
      permanent: false,
      mailbox: leader.name,
      authorizationServer: leader.authorizationServer.name,
      remediation: `${failure.remediation === undefined ? '' : `${failure.remediation} `}${UNSTORED_ROTATION_ADVICE}`,
      cause: failure,
    });
  }

  /**
   * Writes the record of a rotated refresh token the store refused (see
   * #rotation), instead of a request to the server. On a shared store,
   * under the line's lock, and only when the store holds nothing newer:
   * another instance that refreshed since has the live refresh token.
   * Throws store_unavailable while the store still refuses it.
   */
  async #storeRotation(): Promise<void> {
    const { store } = this.#dependencies;
    const write = async (): Promise<void> => {
      const failure = await this.#save(this.#record(undefined));
      if (failure === undefined || this.#rotation === undefined) return;
      throw this.#unstoredRotation(
        `mailbox ${this.leader.config.name}: the new refresh token is still not stored, so no token is handed out or requested for the mailbox until it is: ${failure.message}`,
        failure,
      );
    };
    if (!store.shared) {
      await write();
      return;
    }
    await store.withLock(this.id, async () => {
      const rotation = this.#rotation;
      if (rotation === undefined) return;
      const current = await this.#readRecord();
      if (current?.fingerprint === this.#fingerprint() && current.token !== undefined && current.token.obtainedAt > rotation.obtainedAt) {
        this.#takeUp(current, current.token);
        return;
      }
      await write();
    });
  }

  /** After the rotation is stored: whether the line's current token answers this acquisition, so that no request is needed. */
  #serves(options: AcquireOptions): boolean {
    const token = this.#members[0]?.token;
    const now = this.#dependencies.clock.now();
    return token !== undefined && token.accessToken !== options.rejectedAccessToken && token.expiresAt > now && now < this.dueAt(token);
  }

  recordFailure(error: unknown): BrokerError {
    const { clock, logger, retryDelayMs } = this.#dependencies;
    const leader = this.leader.config;
    const failure = toBrokerError(error, {
      message: `mailbox ${leader.name}: token acquisition failed unexpectedly.`,
      code: 'internal',
      mailbox: leader.name,
      authorizationServer: leader.authorizationServer.name,
    });
    const now = clock.now();
    this.#lastError = failure;
    this.#history.noteFailure(failure, now);
    this.#consecutiveFailures = failure.permanent ? 0 : this.#consecutiveFailures + 1;
    const delay = retryDelayMs(failure, Math.max(1, this.#consecutiveFailures));
    this.#retryNotBefore = now + delay;
    logger.warn(
      { mailbox: leader.name, server: leader.authorizationServer.name, code: failure.displayCode, permanent: failure.permanent, retryInMs: delay },
      failure.describe(),
    );
    // The error state lives beside the token, so `status` tells the truth after a restart too. Not while a rotated
    // refresh token waits for the store: its record (written by the next acquisition, after the pause) carries it.
    if (this.#rotation === undefined) {
      const stored = {
        code: failure.code,
        message: failure.describe(),
        permanent: failure.permanent,
        transientFailures: this.#consecutiveFailures,
        lastAttemptAt: now,
        retryNotBefore: this.#retryNotBefore,
        ...(failure.oauth?.error === undefined ? {} : { oauthError: failure.oauth.error }),
        ...(failure.oauth?.aadsts === undefined ? {} : { aadsts: failure.oauth.aadsts }),
      };
      void this.#save(this.#record(stored));
    }
    this.#stateEvent('a token acquisition failed');
    return failure;
  }

  /**
   * Another instance wrote the line's record: take up its token when it is
   * newer than ours (and its refresh token, which may have rotated), for
   * every member. An acquisition in flight re-reads the store under the lock anyway.
   */
  async follow(): Promise<void> {
    if (this.#inflight !== undefined || this.#members.length === 0) return;
    const record = await this.#readRecord();
    if (record?.fingerprint !== this.#fingerprint() || record.token === undefined) return;
    if (!isNewer(record.token, this.leader.token)) return;
    // Older than a rotation of ours the store refused: ours is the newer refresh token, still to be written.
    if (this.#rotation !== undefined && record.token.obtainedAt <= this.#rotation.obtainedAt) return;
    this.#takeUp(record, record.token);
  }

  /**
   * Takes up a record another instance wrote, newer than anything this line
   * holds: its token for every member, its refresh token (which may have
   * rotated). A record of ours the store refused, rotated refresh token
   * included, must not go over it: the live refresh token is the store's.
   */
  #takeUp(record: MailboxRecord, token: StoredToken): void {
    this.#unsaved = undefined;
    this.#rotation = undefined;
    this.#takeRecordState(record);
    if (token.expiresAt > this.#dependencies.clock.now()) this.#clearFailure();
    for (const slot of this.#members) slot.setToken(token, true);
    this.#stateEvent('a token another instance obtained was taken up from the store');
  }

  /**
   * Under the lock, on a shared store: is there already a fresh token, so
   * that no request is needed? Either the line's record as the other
   * instances left it holds one newer than ours (then it is taken up, with
   * its refresh token, which may have rotated), or ours changed since this
   * acquisition began (a write of another instance was followed meanwhile).
   * Neither counts when it is the token a mail server refused, or is itself due.
   */
  async #adoptFromStore(options: AcquireOptions, startedWith: IssuedToken | undefined): Promise<boolean> {
    const leader = this.leader;
    const now = this.#dependencies.clock.now();
    const usable = (token: { readonly accessToken: string; readonly expiresAt: number; readonly obtainedAt: number }): boolean =>
      token.accessToken !== options.rejectedAccessToken && now < this.dueAt(token) && token.expiresAt > now;
    const record = await this.#readRecord();
    if (record?.fingerprint === this.#fingerprint()) {
      if (record.refreshToken !== undefined) this.#grantState = { refreshToken: record.refreshToken };
      const stored = record.token;
      if (stored !== undefined && isNewer(stored, leader.token)) {
        if (!usable(stored)) return false;
        this.#dependencies.logger.debug({ mailbox: leader.config.name }, 'token taken up from the store: another instance refreshed it');
        this.#takeUp(record, stored);
        return true;
      }
    }
    const current = leader.token;
    return current !== undefined && current !== startedWith && usable(current);
  }

  #takeRecordState(record: MailboxRecord): void {
    if (record.refreshToken !== undefined) this.#grantState = { refreshToken: record.refreshToken };
    if (record.refreshTokenUsedAt !== undefined) this.#refreshTokenUsedAt = record.refreshTokenUsedAt;
    if (record.lastRefreshAt !== undefined) this.#lastRefreshAt = record.lastRefreshAt;
    this.#history.takeRecord(record);
  }

  #clearFailure(): void {
    this.#lastError = undefined;
    this.#retryNotBefore = 0;
    this.#consecutiveFailures = 0;
  }

  #state(hasValidToken: boolean, hasRefreshToken: boolean): MailboxState {
    const lastError = this.#lastError;
    if (lastError?.code === 'needs_authorization') return 'NEEDS_AUTHORIZATION';
    // A permanent failure shows even while the last token is still served: it will not be replaced by itself.
    if (lastError?.permanent === true) return 'FAILING';
    // Not READY while the newest refresh token lives only in memory, even with the last stored token still served.
    if (this.#rotation !== undefined) return 'FAILING';
    if (hasValidToken) return 'READY';
    if (this.grant.interactive && !hasRefreshToken) return 'NEEDS_AUTHORIZATION';
    if (this.#inflight !== undefined) return 'ACQUIRING';
    return lastError === undefined ? 'IDLE' : 'FAILING';
  }

  /**
   * The record as the line holds it now, with `error` as its error state;
   * its token is `token`, else a withheld one (#rotation), else the members' current one.
   */
  #record(error: MailboxRecord['error'], token: RecordToken | undefined = this.#rotation?.token ?? this.leader.token): MailboxRecord {
    return {
      fingerprint: this.#fingerprint(),
      ...(token === undefined
        ? {}
        : { token: { accessToken: token.accessToken, tokenType: token.tokenType, expiresAt: token.expiresAt, obtainedAt: token.obtainedAt, scopes: [...token.scopes] } }),
      ...(this.#grantState.refreshToken === undefined ? {} : { refreshToken: this.#grantState.refreshToken }),
      ...(this.#refreshTokenUsedAt === undefined ? {} : { refreshTokenUsedAt: this.#refreshTokenUsedAt }),
      ...(this.#lastRefreshAt === undefined ? {} : { lastRefreshAt: this.#lastRefreshAt }),
      ...(error === undefined ? {} : { error }),
      ...this.#history.recordFields(),
    };
  }

  /** Whether a record the store refused waits to be written again. */
  get hasUnsaved(): boolean {
    return this.#unsaved !== undefined;
  }

  /**
   * Writes again the record the store refused (see #unsaved). Skipped while
   * an acquisition is in flight (it writes a newer record itself), and while
   * a rotated refresh token waits for the store: acquisitions write that one,
   * with the backoff of a failure (dueForSweep).
   */
  async saveUnsaved(): Promise<void> {
    if (this.#inflight !== undefined || this.#rotation !== undefined || this.#unsaved === undefined) return;
    const { store } = this.#dependencies;
    if (!store.shared) {
      await this.#save(this.#unsaved);
      return;
    }
    // Other instances may have refreshed meanwhile (rotating the refresh token): under the line's lock, the record
    // is written only when the store holds nothing newer, or it would put back a refresh token already dead.
    await store
      .withLock(this.id, async () => {
        const record = this.#unsaved;
        if (record === undefined) return;
        const current = await this.#readRecord();
        if (current?.fingerprint === record.fingerprint && (current.token?.obtainedAt ?? 0) > (record.token?.obtainedAt ?? 0)) {
          this.#unsaved = undefined;
          return;
        }
        await this.#save(record);
      })
      .catch((error: unknown) => {
        // Still unsaved: the next sweep tries again.
        const failure = toBrokerError(error, { message: `token line ${this.id}: the unsaved record could not be written.`, code: 'store_unavailable' });
        this.#dependencies.logger.warn({ ...this.#owner().logFields, code: failure.code }, failure.describe());
      });
  }

  /**
   * Writes the line's record. A failure is logged and returned, not thrown:
   * the record is kept to be written again (#unsaved), and the caller
   * decides whether its token may be served meanwhile (install). A record
   * that carries the line's refresh token ends a pending rotation (see
   * #rotation). Once the line's record is in the store, members' records of
   * the previous layout (#legacy) go.
   */
  async #save(record: MailboxRecord): Promise<BrokerError | undefined> {
    this.#latestSave = record;
    const owner = this.#owner();
    try {
      await owner.write(record);
    } catch (error) {
      if (this.#latestSave === record) this.#unsaved = record;
      const failure = toBrokerError(error, { message: `${owner.label}: the token could not be written to the store.`, code: 'store_unavailable', mailbox: owner.mailbox });
      // Ops must know it is not durable until then.
      this.#dependencies.logger.error(
        { ...owner.logFields, code: failure.code },
        `${failure.describe()} The broker keeps the record and writes it again${this.#rotation === undefined ? ' at the next sweep' : ', with backoff'}.`,
      );
      return failure;
    }
    if (this.#latestSave === record) {
      this.#unsaved = undefined;
      this.#latestSave = undefined;
    }
    if (this.#rotation !== undefined && record.refreshToken === this.#grantState.refreshToken) this.#rotationStored();
    if (this.#legacy.size > 0) await this.#dropLegacy();
    return undefined;
  }

  /** The store took the rotated refresh token (#rotation): the mailbox is READY again, and the token that came with it is handed out. */
  #rotationStored(): void {
    const rotation = this.#rotation;
    if (rotation === undefined) return;
    this.#rotation = undefined;
    this.#clearFailure();
    this.#dependencies.logger.info(this.#owner().logFields, 'the new refresh token is in the store now; the token that came with it is handed out');
    const token = rotation.token;
    if (token !== undefined && isNewer(token, this.#members[0]?.token)) for (const slot of this.#members) slot.setToken(token, true);
    this.#stateEvent('the store took the new refresh token');
  }

  /** Deletes the members' records of the previous layout; one that cannot be deleted is tried again after the next write. */
  async #dropLegacy(): Promise<void> {
    const { store, logger } = this.#dependencies;
    const names = [...this.#legacy];
    this.#legacy.clear();
    await Promise.all(
      names.map(async (name) => {
        try {
          await store.deleteMailbox(name);
        } catch (error) {
          this.#legacy.add(name);
          const failure = toBrokerError(error, { message: `mailbox ${name}: its old record could not be deleted.`, code: 'store_unavailable', mailbox: name });
          logger.warn({ mailbox: name, line: this.id, code: failure.code }, `${failure.describe()} It is deleted after the next write of token line ${this.id}.`);
        }
      }),
    );
  }

  /** The fingerprint the line's record carries: the application's for a shared line, else its mailbox's. */
  #fingerprint(): string {
    return this.#applicationFingerprint ?? this.leader.fingerprint;
  }

  #readRecord(): Promise<MailboxRecord | undefined> {
    const { store } = this.#dependencies;
    return this.shared ? store.getLine(this.id) : store.getMailbox(this.leader.config.name);
  }

  /** Where the line's one record lives, and how to name it to an operator. */
  #owner(): RecordOwner {
    const { store } = this.#dependencies;
    if (!this.shared) return memberOwner(this.leader, store);
    const leader = this.#members[0]?.config.name;
    const others = this.#members.length - 1;
    const mailboxes = leader === undefined ? 'no mailbox' : others > 0 ? `mailbox ${leader} and ${others} more` : `mailbox ${leader}`;
    return {
      label: `token line ${this.id} (${mailboxes})`,
      mailbox: leader,
      logFields: { line: this.id, mailbox: leader },
      write: (record) => store.putLine(this.id, record),
      delete: () => store.deleteLine(this.id),
    };
  }

  /** See LineDependencies.stateEvent. */
  #stateEvent(event: string): void {
    this.#dependencies.stateEvent?.(this, event);
  }

  #memberNames(): string[] {
    return this.#members.map((slot) => slot.config.name);
  }
}

/** A token as #record copies it into a record: a stored one, or a member's issued one. */
type RecordToken = Omit<StoredToken, 'scopes'> & { readonly scopes: readonly string[] };

/** A record's place in the store and its name in messages: a member's mailbox record, or a shared line's record. */
interface RecordOwner {
  /** "mailbox sales", "token line app:<digest> (mailbox a and 34 more)" */
  readonly label: string;
  /** For BrokerError.mailbox: the mailbox, or a shared line's first. */
  readonly mailbox: string | undefined;
  readonly logFields: Readonly<Record<string, string | undefined>>;
  write(record: MailboxRecord): Promise<void>;
  delete(): Promise<void>;
}

function memberOwner(slot: LineMember, store: TokenStore): RecordOwner {
  const name = slot.config.name;
  return {
    label: `mailbox ${name}`,
    mailbox: name,
    logFields: { mailbox: name },
    write: (record) => store.putMailbox(name, record),
    delete: () => store.deleteMailbox(name),
  };
}

/** getRecords, or every wanted record failing with the store's error when it cannot be read at all. */
async function readOrFail(store: TokenStore, wanted: RecordsWanted): Promise<StoredRecords> {
  try {
    return await store.getRecords(wanted);
  } catch (error) {
    const failure = toBrokerError(error, { message: `token store ${store.description}: the stored records cannot be read.`, code: 'store_unavailable' });
    return {
      mailboxes: new Map((wanted.mailboxes ?? []).map((name) => [name, failure])),
      lines: new Map((wanted.lines ?? []).map((name) => [name, failure])),
    };
  }
}

/**
 * Whether a stored token replaces `current`: obtained later, or at the same
 * millisecond but another token (the store holds the last one written).
 */
function isNewer(stored: StoredToken, current: { readonly accessToken: string; readonly obtainedAt: number } | undefined): boolean {
  if (current === undefined) return true;
  return stored.obtainedAt > current.obtainedAt || (stored.obtainedAt === current.obtainedAt && stored.accessToken !== current.accessToken);
}
