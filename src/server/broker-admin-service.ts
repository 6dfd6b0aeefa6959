// Handlers of tokenbroker.v1.BrokerAdmin: admin clients only.
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { Metadata, sendUnaryData, ServerUnaryCall, ServiceError, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { TokenBroker } from '../broker/index.js';
import { toTimestamp } from '../proto/index.js';
import type {
  CompleteAuthorizationRequest,
  GetMailboxStatusRequest,
  MailboxStatusMessage,
  StartAuthorizationRequest,
  StartAuthorizationResponse,
} from '../proto/index.js';
import type { ClientAuthenticator } from './client-auth.js';
import { isAuthenticated, permissionDenied } from './client-auth.js';
import { mailboxStatusMessage } from './messages.js';
import { invalidArgument, toStatus } from './to-status.js';

/** The admin caller's refusal, or undefined when the call may go ahead. */
function refuseNonAdmin(auth: ClientAuthenticator, metadata: Metadata, mailbox: string, rpc: string): Partial<ServiceError> | undefined {
  const client = auth.authenticate(metadata);
  if (!isAuthenticated(client)) return client;
  if (!client.admin) return permissionDenied(client, 'call BrokerAdmin (admin: true is needed)');
  if (mailbox === '') return invalidArgument(`${rpc}Request.mailbox is empty; give the mailbox name from the config.`);
  return undefined;
}

export function brokerAdminService(broker: TokenBroker, auth: ClientAuthenticator): UntypedServiceImplementation {
  return {
    GetMailboxStatus(call: ServerUnaryCall<GetMailboxStatusRequest, MailboxStatusMessage>, callback: sendUnaryData<MailboxStatusMessage>): void {
      const refused = refuseNonAdmin(auth, call.metadata, call.request.mailbox, 'GetMailboxStatus');
      if (refused !== undefined) {
        callback(refused);
        return;
      }
      try {
        callback(null, mailboxStatusMessage(broker.status(call.request.mailbox)));
      } catch (error) {
        callback(toStatus(error));
      }
    },

    StartAuthorization(call: ServerUnaryCall<StartAuthorizationRequest, StartAuthorizationResponse>, callback: sendUnaryData<StartAuthorizationResponse>): void {
      const refused = refuseNonAdmin(auth, call.metadata, call.request.mailbox, 'StartAuthorization');
      if (refused !== undefined) {
        callback(refused);
        return;
      }
      broker.startAuthorization(call.request.mailbox).then(
        (started) =>
          callback(null, {
            authorization_url: started.authorizationUrl ?? '',
            state: started.state ?? '',
            expires_at: toTimestamp(started.expiresAt),
            user_code: started.userCode ?? '',
            verification_uri: started.verificationUri ?? '',
          }),
        (error: unknown) => callback(toStatus(error)),
      );
    },

    CompleteAuthorization(call: ServerUnaryCall<CompleteAuthorizationRequest, MailboxStatusMessage>, callback: sendUnaryData<MailboxStatusMessage>): void {
      const { mailbox, redirect_url: redirectUrl, code, state } = call.request;
      const refused = refuseNonAdmin(auth, call.metadata, mailbox, 'CompleteAuthorization');
      if (refused !== undefined) {
        callback(refused);
        return;
      }
      if (redirectUrl === '' && (code === '' || state === '')) {
        callback(invalidArgument('CompleteAuthorizationRequest needs redirect_url, or both code and state.'));
        return;
      }
      broker.completeAuthorization(mailbox, { redirectUrl, code, state }).then(
        (status) => callback(null, mailboxStatusMessage(status)),
        (error: unknown) => callback(toStatus(error)),
      );
    },

    Reload(_call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>): void {
      callback({ code: GrpcStatus.UNIMPLEMENTED, details: 'Reload is not available in this version of token-broker; restart the service to apply config changes.' });
    },
  };
}
