// Handlers of tokenbroker.v1.TokenBroker. GetToken answers from the engine's
// cache synchronously when it can; only a miss goes async.
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { sendUnaryData, ServerUnaryCall, ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { TokenBroker } from '../broker/index.js';
import { DEFAULT_MIN_VALIDITY_SECONDS } from '../broker/index.js';
import type {
  GetTokenRequest,
  ListMailboxesRequest,
  ListMailboxesResponse,
  ReportRejectedRequest,
  TokenMessage,
  WatchTokenRequest,
} from '../proto/index.js';
import type { ClientAuthenticator } from './client-auth.js';
import { isAuthenticated, permissionDenied } from './client-auth.js';
import { mailboxStatusMessage, tokenMessage } from './messages.js';
import { invalidArgument, toStatus } from './to-status.js';

export function tokenBrokerService(broker: TokenBroker, auth: ClientAuthenticator): UntypedServiceImplementation {
  return {
    GetToken(call: ServerUnaryCall<GetTokenRequest, TokenMessage>, callback: sendUnaryData<TokenMessage>): void {
      const client = auth.authenticate(call.metadata);
      if (!isAuthenticated(client)) {
        callback(client);
        return;
      }
      const { mailbox } = call.request;
      if (mailbox === '') {
        callback(invalidArgument('GetTokenRequest.mailbox is empty; give the mailbox name from the config.'));
        return;
      }
      if (!client.mayRead(mailbox)) {
        callback(permissionDenied(client, `read mailbox ${mailbox}`));
        return;
      }
      const minValidity = call.request.min_validity_seconds === 0 ? DEFAULT_MIN_VALIDITY_SECONDS : call.request.min_validity_seconds;
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

    WatchToken(call: ServerWritableStream<WatchTokenRequest, TokenMessage>): void {
      call.emit('error', { code: GrpcStatus.UNIMPLEMENTED, details: 'WatchToken is not available in this version of token-broker; poll GetToken instead.' });
    },

    ReportRejected(_call: ServerUnaryCall<ReportRejectedRequest, TokenMessage>, callback: sendUnaryData<TokenMessage>): void {
      callback({ code: GrpcStatus.UNIMPLEMENTED, details: 'ReportRejected is not available in this version of token-broker.' });
    },

    ListMailboxes(call: ServerUnaryCall<ListMailboxesRequest, ListMailboxesResponse>, callback: sendUnaryData<ListMailboxesResponse>): void {
      const client = auth.authenticate(call.metadata);
      if (!isAuthenticated(client)) {
        callback(client);
        return;
      }
      const visible = broker.statuses().filter((status) => client.mayRead(status.mailbox));
      callback(null, { mailboxes: visible.map(mailboxStatusMessage) });
    },
  };
}
