// Handlers of tokenbroker.v1.BrokerAdmin: admin clients only.
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { Metadata, ServiceError } from '@grpc/grpc-js';
import type { TokenBroker } from '../broker/index.js';
import { toTimestamp } from '../proto/index.js';
import type { BrokerAdminGrpcHandlers, ReloadResponse, StartAuthorizationResponse } from '../proto/index.js';
import type { ClientAuthenticator } from './client-auth.js';
import { isAuthenticated, permissionDenied } from './client-auth.js';
import { mailboxStatusMessage } from './messages.js';
import type { ReloadHandler } from './reload-handler.js';
import { invalidArgument, toStatus } from './to-status.js';

/** The refusal of a caller that is not an admin client, or undefined. */
function refuseNonAdminClient(auth: ClientAuthenticator, metadata: Metadata): Partial<ServiceError> | undefined {
  const client = auth.authenticate(metadata);
  if (!isAuthenticated(client)) return client;
  if (!client.admin) return permissionDenied(client, 'call BrokerAdmin (admin: true is needed)');
  return undefined;
}

/** The admin caller's refusal, or undefined when the call about `mailbox` may go ahead. */
function refuseNonAdmin(auth: ClientAuthenticator, metadata: Metadata, mailbox: string, rpc: string): Partial<ServiceError> | undefined {
  const refused = refuseNonAdminClient(auth, metadata);
  if (refused !== undefined) return refused;
  if (mailbox === '') return invalidArgument(`${rpc}Request.mailbox is empty; give the mailbox name from the config.`);
  return undefined;
}

/** `reload` is absent when the server runs without a config file behind it (tests): Reload is then UNIMPLEMENTED. */
export function brokerAdminService(broker: TokenBroker, auth: ClientAuthenticator, reload?: ReloadHandler): BrokerAdminGrpcHandlers {
  return {
    GetMailboxStatus(call, callback): void {
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

    StartAuthorization(call, callback): void {
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
          } satisfies Required<StartAuthorizationResponse>),
        (error: unknown) => callback(toStatus(error)),
      );
    },

    CompleteAuthorization(call, callback): void {
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

    Reload(call, callback): void {
      const refused = refuseNonAdminClient(auth, call.metadata);
      if (refused !== undefined) {
        callback(refused);
        return;
      }
      if (reload === undefined) {
        callback({ code: GrpcStatus.UNIMPLEMENTED, details: 'this server has no config file to reload.' });
        return;
      }
      // A config that does not load is an answer (applied: false, errors), not a failed call.
      reload().then(
        (outcome) =>
          callback(null, {
            applied: outcome.applied,
            errors: [...outcome.errors],
            added: [...(outcome.summary?.added ?? [])],
            removed: [...(outcome.summary?.removed ?? [])],
            changed: [...(outcome.summary?.changed ?? [])],
            reacquiring: [...(outcome.summary?.reacquiring ?? [])],
            restart_required: [...outcome.restartRequired],
          } satisfies Required<ReloadResponse>),
        (error: unknown) => callback(toStatus(error)),
      );
    },
  };
}
