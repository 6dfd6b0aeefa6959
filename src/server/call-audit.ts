// What the gRPC face tells the audit log (src/audit): for each call that
// hands out a token (GetToken, a WatchToken push, ReportRejected), each
// authorization and each admin call, who asked (the client's name in
// server.clients, "local" without an allow-list, "unauthenticated" for a
// refused key), from where (the transport peer), for which mailbox, and how
// it ended: "ok" or the error code sent in token-broker-error-code. The
// token itself never: its SHA-256, computed once per token.
//
// The same outcome and client feed the metrics (CallObserver): one place
// computes both, so the audit log and the counters cannot disagree.
//
// The unix peer's uid/pid would name the process on the host, but neither
// Node nor grpc-js exposes SO_PEERCRED without a native addon; the client
// key's name is what identifies a caller here (the socket's mode and owner
// say who may connect at all).
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { Metadata, sendUnaryData } from '@grpc/grpc-js';
import { tokenFingerprint } from '../audit/index.js';
import type { AuditEvent, AuditEventKind, AuditLog } from '../audit/index.js';
import { fromTimestamp } from '../proto/index.js';
import type { TokenMessage } from '../proto/index.js';
import type { ClientAuthenticator } from './client-auth.js';
import { isAuthenticated } from './client-auth.js';
import { clientText } from './client-text.js';
import { ERROR_CODE_METADATA_KEY } from './to-status.js';

/** The part of a call the audit needs. */
export interface AuditedCall {
  readonly metadata: Metadata;
  getPeer(): string;
}

/** How a call failed, as handlers answer it. */
type CallError = Exclude<Parameters<sendUnaryData<unknown>>[0], null>;
type ProtoTimestamp = Parameters<typeof fromTimestamp>[0];

/**
 * Hears each call as it is answered: the RPC's name, "ok" or the outcome the
 * audit records, and the client's name in server.clients ("anonymous"
 * without a list, "unauthenticated" for a refused key). Called on the GetToken
 * path: it must stay cheap (no I/O).
 */
export type CallObserver = (method: string, status: string, client: string) => void;

/** The RPC each audited kind of call stands for (the method label of the metrics). */
const METHOD_OF: Readonly<Record<AuditEventKind, string>> = {
  'token.get': 'GetToken',
  'token.watch': 'WatchToken',
  'token.push': 'WatchToken',
  'token.rejected': 'ReportRejected',
  'authorization.start': 'StartAuthorization',
  'authorization.complete': 'CompleteAuthorization',
  'admin.status': 'GetMailboxStatus',
  'admin.list': 'ListMailboxes',
  'admin.reload': 'Reload',
};

/** Fingerprints of the tokens handed out lately: a token is hashed once, not once per call that receives it. */
const FINGERPRINT_CACHE_LIMIT = 20_000;

export class CallAudit {
  readonly #log: AuditLog | undefined;
  readonly #auth: ClientAuthenticator;
  readonly #fingerprints = new Map<string, string>();
  readonly #observer: CallObserver | undefined;

  constructor(log: AuditLog | undefined, auth: ClientAuthenticator, observer?: CallObserver) {
    this.#log = log;
    this.#auth = auth;
    this.#observer = observer;
  }

  /** `callback`, recording the call's outcome first; `callback` itself when there is neither an audit log nor an observer (no cost on the hot path). */
  unary<T>(kind: AuditEventKind, call: AuditedCall, mailbox: string | undefined, callback: sendUnaryData<T>, reason?: string): sendUnaryData<T> {
    if (this.#log === undefined && this.#observer === undefined) return callback;
    return (error, value, ...rest) => {
      if (this.#log !== undefined) this.#record(kind, call, mailbox, error, kind.startsWith('token.') ? (value as TokenMessage | null | undefined) : undefined, reason);
      this.#observe(kind, call, error);
      callback(error, value, ...rest);
    };
  }

  /** A WatchToken stream opened (error undefined) or refused. */
  watch(call: AuditedCall, mailbox: string, error?: CallError): void {
    if (this.#log !== undefined) this.#record('token.watch', call, mailbox, error ?? null, undefined);
    this.#observe('token.watch', call, error ?? null);
  }

  /** A token pushed on a WatchToken stream. */
  push(call: AuditedCall, mailbox: string, token: TokenMessage): void {
    if (this.#log !== undefined) this.#record('token.push', call, mailbox, null, token);
  }

  #observe(kind: AuditEventKind, call: AuditedCall, error: CallError | null): void {
    if (this.#observer === undefined) return;
    this.#observer(METHOD_OF[kind], error === null ? 'ok' : outcomeOf(error), this.#clientName(call));
  }

  /** The metrics' client label: without server.clients nobody is authenticated, and no key is hashed for the name. */
  #clientName(call: AuditedCall): string {
    if (!this.#auth.enforcing) return 'anonymous';
    const client = this.#auth.authenticate(call.metadata);
    return isAuthenticated(client) ? client.name : 'unauthenticated';
  }

  #record(
    kind: AuditEventKind,
    call: AuditedCall,
    mailbox: string | undefined,
    error: CallError | null,
    token: TokenMessage | null | undefined,
    reason?: string,
  ): void {
    const client = this.#auth.authenticate(call.metadata);
    const event: AuditEvent = {
      event: kind,
      client: isAuthenticated(client) ? client.name : 'unauthenticated',
      peer: call.getPeer(),
      // Client input, as in status messages: a short excerpt with control characters escaped.
      ...(mailbox === undefined ? {} : { mailbox: clientText(mailbox, 128) }),
      outcome: error === null ? 'ok' : outcomeOf(error),
      ...(reason === undefined || reason === '' ? {} : { reason: clientText(reason, 200) }),
      ...(error === null && token?.access_token !== undefined && token.access_token !== '' ? this.#tokenFields(token.access_token, token.expires_at as ProtoTimestamp) : {}),
    };
    this.#log?.record(event);
  }

  #tokenFields(accessToken: string, expiresAt: ProtoTimestamp): Pick<AuditEvent, 'tokenSha256' | 'tokenExpiresAt'> {
    const expiresMs = fromTimestamp(expiresAt);
    return { tokenSha256: this.#fingerprint(accessToken), ...(expiresMs === undefined ? {} : { tokenExpiresAt: new Date(expiresMs).toISOString() }) };
  }

  #fingerprint(accessToken: string): string {
    let fingerprint = this.#fingerprints.get(accessToken);
    if (fingerprint === undefined) {
      if (this.#fingerprints.size >= FINGERPRINT_CACHE_LIMIT) this.#fingerprints.clear();
      fingerprint = tokenFingerprint(accessToken);
      this.#fingerprints.set(accessToken, fingerprint);
    }
    return fingerprint;
  }
}

/** The broker's error code (token-broker-error-code), else the gRPC status name. */
function outcomeOf(error: CallError): string {
  const code = error.metadata?.get(ERROR_CODE_METADATA_KEY)[0];
  if (typeof code === 'string' && code !== '') return code;
  return error.code === undefined ? 'error' : (GrpcStatus[error.code] ?? String(error.code));
}
