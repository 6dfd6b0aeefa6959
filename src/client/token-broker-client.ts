// A small typed client for the broker's gRPC API, used by connectors, the
// command line and the tests. It converts wire messages to plain values
// (Dates, camelCase), sends the client key on every call, and keeps
// WatchToken going across broker restarts.
import { credentials, Metadata } from '@grpc/grpc-js';
import type { CallOptions, ChannelCredentials, ChannelOptions, requestCallback, ServiceError } from '@grpc/grpc-js';
import { loadBrokerProto } from '../proto/index.js';
import type {
  BrokerAdminGrpcClient,
  CompleteAuthorizationRequest,
  GetTokenRequest,
  ListMailboxesResponse__Output,
  MailboxStatusMessage__Output,
  ReloadResponse__Output,
  ReportRejectedRequest,
  StartAuthorizationResponse__Output,
  TokenBrokerGrpcClient,
  TokenMessage__Output,
  WatchTokenRequest,
} from '../proto/index.js';
import { resolveDaemonAddress } from './address.js';
import type { DaemonAddress } from './address.js';
import { fromReloadResponse, fromStartAuthorizationResponse, fromStatusMessage, fromTokenMessage } from './messages.js';
import type { BrokerAuthorizationStart, BrokerMailboxStatus, BrokerReloadResult, BrokerToken } from './messages.js';
import { iterateWatch, watchWithReconnect } from './token-watch.js';
import type { TokenWatch, WatchTokenOptions } from './token-watch.js';

export interface TokenBrokerClientOptions {
  /** unix:///path, /path or tcp://host:port; default $TOKEN_BROKER_ADDRESS, else the default socket. */
  readonly address?: string;
  /** Client key for server.clients (sent as `authorization: Bearer <key>`). */
  readonly key?: string;
  readonly credentials?: ChannelCredentials;
  /** Per-call deadline, default 30 s. */
  readonly deadlineMs?: number;
}

/**
 * grpc-js waits up to 120 s between connection attempts after repeated
 * failures; a connector should find a restarted broker within seconds.
 */
const CHANNEL_OPTIONS: ChannelOptions = { 'grpc.initial_reconnect_backoff_ms': 250, 'grpc.max_reconnect_backoff_ms': 5_000 };

/** Starts one unary call with the client's metadata and deadline. */
type StartUnary<Response> = (metadata: Metadata, options: CallOptions, callback: requestCallback<Response>) => unknown;

export class TokenBrokerClient {
  readonly address: DaemonAddress;
  readonly #broker: TokenBrokerGrpcClient;
  readonly #admin: BrokerAdminGrpcClient;
  readonly #metadata: Metadata;
  readonly #deadlineMs: number;
  readonly #watches = new Set<TokenWatch>();

  constructor(options: TokenBrokerClientOptions = {}) {
    this.address = resolveDaemonAddress(options.address);
    const proto = loadBrokerProto();
    const channelCredentials = options.credentials ?? credentials.createInsecure();
    this.#broker = new proto.TokenBrokerClient(this.address.target, channelCredentials, CHANNEL_OPTIONS);
    this.#admin = new proto.BrokerAdminClient(this.address.target, channelCredentials, CHANNEL_OPTIONS);
    this.#metadata = new Metadata();
    if (options.key !== undefined) this.#metadata.set('authorization', `Bearer ${options.key}`);
    this.#deadlineMs = options.deadlineMs ?? 30_000;
  }

  async getToken(mailbox: string, options: { minValiditySeconds?: number } = {}): Promise<BrokerToken> {
    const request: GetTokenRequest = { mailbox, min_validity_seconds: options.minValiditySeconds ?? 0 };
    return fromTokenMessage(await this.#unary<TokenMessage__Output>('GetToken', (...call) => this.#broker.GetToken(request, ...call)));
  }

  /**
   * The current token at once, then every new one, until `cancel()`. When the
   * broker restarts or the connection drops (UNAVAILABLE), the watch
   * resubscribes with backoff and goes on (`reconnect: false` turns that off),
   * delivering only tokens newer than the last one delivered. `onEnd` gets
   * the status the watch ended with (NOT_FOUND, PERMISSION_DENIED,
   * UNAUTHENTICATED, INVALID_ARGUMENT, FAILED_PRECONDITION, ...), or undefined
   * after cancel().
   */
  watchToken(
    mailbox: string,
    onToken: (token: BrokerToken) => void,
    onEnd: (error: ServiceError | undefined) => void,
    options: WatchTokenOptions = {},
  ): TokenWatch {
    const request: WatchTokenRequest = { mailbox, min_validity_seconds: options.minValiditySeconds ?? 0 };
    const watch = watchWithReconnect(
      // grpc-js takes waitForReady from the Metadata's options, not from call options (where it never
      // had an effect): a resubscription fails fast while the daemon is down and the watch's backoff retries it.
      (_waitForReady) => this.#broker.WatchToken(request, this.#metadata),
      onToken,
      (error) => {
        this.#watches.delete(watch);
        onEnd(error);
      },
      options,
    );
    this.#watches.add(watch);
    return watch;
  }

  /**
   * watchToken as an async iterator: `for await (const token of client.watchTokens('sales-imap'))`.
   * A status that ends the watch is thrown; `break` or `signal` ends it quietly.
   */
  watchTokens(mailbox: string, options: WatchTokenOptions & { readonly signal?: AbortSignal } = {}): AsyncIterableIterator<BrokerToken> {
    return iterateWatch((onToken, onEnd) => this.watchToken(mailbox, onToken, onEnd, options), options.signal);
  }

  /** The mail server refused `accessToken`: the broker refreshes once (rate limited) and returns the new token. */
  async reportRejected(mailbox: string, accessToken: string, reason: string): Promise<BrokerToken> {
    const request: ReportRejectedRequest = { mailbox, access_token: accessToken, reason };
    return fromTokenMessage(await this.#unary<TokenMessage__Output>('ReportRejected', (...call) => this.#broker.ReportRejected(request, ...call)));
  }

  async listMailboxes(): Promise<BrokerMailboxStatus[]> {
    const response = await this.#unary<ListMailboxesResponse__Output>('ListMailboxes', (...call) => this.#broker.ListMailboxes({}, ...call));
    return response.mailboxes.map(fromStatusMessage);
  }

  async startAuthorization(mailbox: string): Promise<BrokerAuthorizationStart> {
    return fromStartAuthorizationResponse(
      await this.#unary<StartAuthorizationResponse__Output>('StartAuthorization', (...call) => this.#admin.StartAuthorization({ mailbox }, ...call)),
    );
  }

  async completeAuthorization(mailbox: string, response: { redirectUrl?: string; code?: string; state?: string }): Promise<BrokerMailboxStatus> {
    const request: CompleteAuthorizationRequest = {
      mailbox,
      redirect_url: response.redirectUrl ?? '',
      code: response.code ?? '',
      state: response.state ?? '',
    };
    return fromStatusMessage(
      await this.#unary<MailboxStatusMessage__Output>('CompleteAuthorization', (...call) => this.#admin.CompleteAuthorization(request, ...call)),
    );
  }

  async getMailboxStatus(mailbox: string): Promise<BrokerMailboxStatus> {
    return fromStatusMessage(
      await this.#unary<MailboxStatusMessage__Output>('GetMailboxStatus', (...call) => this.#admin.GetMailboxStatus({ mailbox }, ...call)),
    );
  }

  /** Makes the daemon re-read its config file (an admin client's call). A file with errors is `applied: false`, not a rejection. */
  async reload(): Promise<BrokerReloadResult> {
    return fromReloadResponse(await this.#unary<ReloadResponse__Output>('Reload', (...call) => this.#admin.Reload({}, ...call)));
  }

  /** Cancels open watches and closes the connection. */
  close(): void {
    for (const watch of this.#watches) watch.cancel();
    this.#watches.clear();
    this.#broker.close();
    this.#admin.close();
  }

  #unary<Response>(method: string, start: StartUnary<Response>): Promise<Response> {
    return new Promise((resolve, reject) => {
      start(this.#metadata, { deadline: new Date(Date.now() + this.#deadlineMs) }, (error, response) => {
        if (error !== null) reject(error);
        else if (response === undefined) reject(new Error(`${method} returned no message`));
        else resolve(response);
      });
    });
  }
}
