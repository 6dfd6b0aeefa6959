// Handlers of tokenbroker.v1.BrokerAdmin: admin clients only.
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { sendUnaryData, ServerUnaryCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { TokenBroker } from '../broker/index.js';
import type { GetMailboxStatusRequest, MailboxStatusMessage } from '../proto/index.js';
import type { ClientAuthenticator } from './client-auth.js';
import { isAuthenticated, permissionDenied } from './client-auth.js';
import { mailboxStatusMessage } from './messages.js';
import { invalidArgument, toStatus } from './to-status.js';

function notYet(rpc: string) {
  return (_call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>): void => {
    callback({ code: GrpcStatus.UNIMPLEMENTED, details: `${rpc} is not available in this version of token-broker.` });
  };
}

export function brokerAdminService(broker: TokenBroker, auth: ClientAuthenticator): UntypedServiceImplementation {
  return {
    GetMailboxStatus(call: ServerUnaryCall<GetMailboxStatusRequest, MailboxStatusMessage>, callback: sendUnaryData<MailboxStatusMessage>): void {
      const client = auth.authenticate(call.metadata);
      if (!isAuthenticated(client)) {
        callback(client);
        return;
      }
      if (!client.admin) {
        callback(permissionDenied(client, 'call BrokerAdmin (admin: true is needed)'));
        return;
      }
      if (call.request.mailbox === '') {
        callback(invalidArgument('GetMailboxStatusRequest.mailbox is empty; give the mailbox name from the config.'));
        return;
      }
      try {
        callback(null, mailboxStatusMessage(broker.status(call.request.mailbox)));
      } catch (error) {
        callback(toStatus(error));
      }
    },
    StartAuthorization: notYet('StartAuthorization'),
    CompleteAuthorization: notYet('CompleteAuthorization'),
    Reload: notYet('Reload'),
  };
}
