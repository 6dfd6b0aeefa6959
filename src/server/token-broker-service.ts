// Handlers of tokenbroker.v1.TokenBroker. GetToken answers from the engine's
// cache synchronously when it can; only a miss goes async.
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { Metadata, ServerWritableStream, ServiceError, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { IssuedToken, MinValidity, TokenBroker } from '../broker/index.js';
import { loggableRejectionReason, requestedMinValidity } from '../broker/index.js';
import type { TokenBrokerGrpcHandlers, TokenMessage, WatchTokenRequest__Output } from '../proto/index.js';
import type { CallAudit } from './call-audit.js';
import type { ClientAuthenticator } from './client-auth.js';
import { isAuthenticated, permissionDenied } from './client-auth.js';
import type { AuthenticatedClient } from './client-auth.js';
import { mailboxStatusMessage, tokenMessage } from './messages.js';
import { toStatus } from './to-status.js';

/** The service's handlers, and a way to end its open WatchToken streams on shutdown. */
export interface TokenBrokerHandlers {
  readonly implementation: UntypedServiceImplementation;
  /** Ends every open WatchToken stream with UNAVAILABLE, so clients reconnect (to another instance, or after the restart). */
  endWatches(reason: string): void;
  /**
   * Checks every open WatchToken stream against the current allow-list (after
   * a reload): a stream whose key was removed, or whose client may no longer
   * read the mailbox, ends with UNAUTHENTICATED or PERMISSION_DENIED. Returns how many ended.
   */
  recheckWatches(): number;
  /** WatchToken streams open now (the metrics' gauge). */
  readonly openWatches: number;
}

export function tokenBrokerService(broker: TokenBroker, auth: ClientAuthenticator, audit: CallAudit): TokenBrokerHandlers {
  // Each open stream with the function that unsubscribes it.
  const watches = new Map<ServerWritableStream<WatchTokenRequest__Output, TokenMessage>, () => void>();
  // Open WatchToken streams per client name, for server.clients[].maxWatches.
  const openWatches = new Map<string, number>();
  // Typed by the generated handlers: the requests as decoded, the responses as sent.
  const implementation: TokenBrokerGrpcHandlers = {
    GetToken(call, answer): void {
      const callback = audit.unary('token.get', call, call.request.mailbox, answer);
      const refused = refuse(auth, call.metadata, call.request.mailbox, 'GetToken');
      if (refused !== undefined) {
        callback(refused);
        return;
      }
      const { mailbox } = call.request;
      let minValidity: MinValidity;
      try {
        // Checked before the cache: a request no token can satisfy is refused alike whatever the cache holds.
        minValidity = requestedMinValidity(call.request.min_validity_seconds, 'GetTokenRequest.min_validity_seconds');
      } catch (error) {
        callback(toStatus(error));
        return;
      }
      const cached = broker.cachedToken(mailbox, minValidity);
      if (cached !== undefined) {
        callback(null, tokenMessage(cached));
        return;
      }
      broker.getToken(mailbox, minValidity).then(
        (token) => callback(null, tokenMessage(token)),
        (error: unknown) => callback(toStatus(error)),
      );
    },

    WatchToken(call): void {
      const admitted = admitRead(auth, call.metadata, call.request.mailbox, 'WatchToken');
      const refused = isAuthenticated(admitted) ? watchRefusal(admitted, openWatches.get(admitted.name) ?? 0) : admitted;
      if (refused !== undefined) {
        audit.watch(call, call.request.mailbox, refused);
        call.emit('error', refused);
        return;
      }
      const client = admitted as AuthenticatedClient;
      const { mailbox } = call.request;
      let minValidity: MinValidity;
      try {
        minValidity = requestedMinValidity(call.request.min_validity_seconds, 'WatchTokenRequest.min_validity_seconds');
      } catch (error) {
        const status = toStatus(error);
        audit.watch(call, mailbox, status);
        call.emit('error', status);
        return;
      }
      let unsubscribe: (() => void) | undefined;
      // The first acquisition reaches both the subscription and getToken below:
      // send each token once, and never an older one after a newer.
      let lastSent: IssuedToken | undefined;
      const send = (token: IssuedToken): void => {
        if (lastSent !== undefined && (token.accessToken === lastSent.accessToken || token.obtainedAt < lastSent.obtainedAt)) return;
        lastSent = token;
        const message = tokenMessage(token);
        call.write(message);
        audit.push(call, mailbox, message);
      };
      // Counted from here until the stream ends, however it ends (once).
      openWatches.set(client.name, (openWatches.get(client.name) ?? 0) + 1);
      let counted = true;
      const end = (): void => {
        unsubscribe?.();
        watches.delete(call);
        if (counted) {
          counted = false;
          const open = (openWatches.get(client.name) ?? 1) - 1;
          if (open === 0) openWatches.delete(client.name);
          else openWatches.set(client.name, open);
        }
      };
      call.on('cancelled', end);
      call.on('close', end);
      try {
        // Subscribed before the current token is fetched: no new token can slip between the two. A pushed token
        // honours the stream's min_validity as GetToken does (the broker skips one valid for less).
        unsubscribe = broker.watch(
          mailbox,
          {
            next: send,
            // A reload removed the mailbox: NOT_FOUND tells the client to stop, not to reconnect.
            end: (reason) => {
              end();
              call.emit('error', toStatus(reason));
            },
          },
          minValidity,
        );
      } catch (error) {
        end();
        const status = toStatus(error);
        audit.watch(call, mailbox, status);
        call.emit('error', status);
        return;
      }
      audit.watch(call, mailbox);
      watches.set(call, end);
      broker.getToken(mailbox, minValidity).then(send, (error: unknown) => {
        end();
        call.emit('error', toStatus(error));
      });
    },

    ReportRejected(call, answer): void {
      // The reason may quote the refused token (or its SASL string): the audit log keeps it without.
      const callback = audit.unary('token.rejected', call, call.request.mailbox, answer, loggableRejectionReason(call.request.reason, call.request.access_token, undefined));
      const refused = refuse(auth, call.metadata, call.request.mailbox, 'ReportRejected');
      if (refused !== undefined) {
        callback(refused);
        return;
      }
      broker.reportRejected(call.request.mailbox, call.request.access_token, call.request.reason).then(
        (token) => callback(null, tokenMessage(token)),
        (error: unknown) => callback(toStatus(error)),
      );
    },

    ListMailboxes(call, answer): void {
      const callback = audit.unary('admin.list', call, undefined, answer);
      const client = auth.admit(call.metadata);
      if (!isAuthenticated(client)) {
        callback(client);
        return;
      }
      const visible = broker.statuses().filter((status) => client.mayRead(status.mailbox));
      callback(null, { mailboxes: visible.map(mailboxStatusMessage) });
    },
  };
  return {
    implementation,
    endWatches(reason) {
      for (const call of watches.keys()) call.emit('error', { code: GrpcStatus.UNAVAILABLE, details: reason });
      watches.clear();
    },
    recheckWatches() {
      let ended = 0;
      for (const [call, end] of watches) {
        const refused = refuseOpenStream(auth, call.metadata, call.request.mailbox);
        if (refused === undefined) continue;
        end();
        call.emit('error', refused);
        ended++;
      }
      return ended;
    },
    get openWatches() {
      return watches.size;
    },
  };
}

/** The caller admitted to read `mailbox` (one call taken from its budget), or the refusal to answer with. */
function admitRead(auth: ClientAuthenticator, metadata: Metadata, mailbox: string, rpc: string): AuthenticatedClient | Partial<ServiceError> {
  const client = auth.admit(metadata);
  if (!isAuthenticated(client)) return client;
  return auth.refuseMailbox(client, mailbox, rpc, 'read') ?? client;
}

/** The refusal for a caller that may not read `mailbox`, or for a `mailbox` that is malformed or unknown; undefined when the call may go ahead. */
function refuse(auth: ClientAuthenticator, metadata: Metadata, mailbox: string, rpc: string): Partial<ServiceError> | undefined {
  const admitted = admitRead(auth, metadata, mailbox, rpc);
  return isAuthenticated(admitted) ? undefined : admitted;
}

/** refuse() for an open stream after a reload: the same checks, without taking a call from the budget. */
function refuseOpenStream(auth: ClientAuthenticator, metadata: Metadata, mailbox: string): Partial<ServiceError> | undefined {
  const client = auth.authenticate(metadata);
  if (!isAuthenticated(client)) return client;
  if (!client.watch) return permissionDenied(client, 'open WatchToken streams (server.clients[].watch is false)');
  return auth.refuseMailbox(client, mailbox, 'WatchToken', 'read');
}

/** Why `client`, holding `open` streams, may not open another WatchToken stream; undefined when it may. */
function watchRefusal(client: AuthenticatedClient, open: number): Partial<ServiceError> | undefined {
  if (!client.watch) return permissionDenied(client, 'open WatchToken streams (server.clients[].watch is false); call GetToken when a token is needed');
  if (client.maxWatches !== undefined && open >= client.maxWatches) {
    return {
      code: GrpcStatus.RESOURCE_EXHAUSTED,
      details: `client ${client.name} already holds ${open} WatchToken stream(s), its limit (server.clients[].maxWatches); cancel one first, or raise the limit.`,
    };
  }
  return undefined;
}
