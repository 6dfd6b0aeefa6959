// Handlers of tokenbroker.v1.BrokerAdmin: admin clients only.
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { Metadata, ServiceError } from '@grpc/grpc-js';
import type { TokenBroker } from '../broker/index.js';
import { toTimestamp } from '../proto/index.js';
import type { BrokerAdminGrpcHandlers, ReloadResponse, StartAuthorizationResponse } from '../proto/index.js';
import type { CallAudit } from './call-audit.js';
import type { AuthenticatedClient, ClientAuthenticator } from './client-auth.js';
import { isAuthenticated, permissionDenied } from './client-auth.js';
import { mailboxStatusMessage } from './messages.js';
import type { ReloadHandler } from './reload-handler.js';
import { invalidArgument, toStatus } from './to-status.js';

/** The admin caller, or the refusal of one that is not. */
function adminClient(auth: ClientAuthenticator, metadata: Metadata): AuthenticatedClient | Partial<ServiceError> {
  const client = auth.admit(metadata);
  if (isAuthenticated(client) && !client.admin) return permissionDenied(client, 'call BrokerAdmin (admin: true is needed)');
  return client;
}

/** The refusal of a caller that is not an admin client, or undefined. */
function refuseNonAdminClient(auth: ClientAuthenticator, metadata: Metadata): Partial<ServiceError> | undefined {
  const client = adminClient(auth, metadata);
  return isAuthenticated(client) ? undefined : client;
}

/** The refusal of a non-admin caller, or of a malformed or unknown `mailbox`; undefined when the call about it may go ahead. */
function refuseNonAdmin(auth: ClientAuthenticator, metadata: Metadata, mailbox: string, rpc: string): Partial<ServiceError> | undefined {
  const client = adminClient(auth, metadata);
  return isAuthenticated(client) ? auth.refuseMailbox(client, mailbox, rpc, 'admin') : client;
}

/**
 * Runs an engine call that answers with a promise, so that what it throws
 * before returning one (a mailbox a reload just removed) is answered with its
 * status too, not with the UNKNOWN grpc-js gives a handler that throws.
 */
function settle<T>(work: () => Promise<T>): Promise<T> {
  return Promise.resolve().then(work);
}

/** `reload` is absent when the server runs without a config file behind it (tests): Reload is then UNIMPLEMENTED. */
export function brokerAdminService(broker: TokenBroker, auth: ClientAuthenticator, audit: CallAudit, reload?: ReloadHandler): BrokerAdminGrpcHandlers {
  return {
    GetMailboxStatus(call, answer): void {
      const callback = audit.unary('admin.status', call, call.request.mailbox, answer);
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

    StartAuthorization(call, answer): void {
      const callback = audit.unary('authorization.start', call, call.request.mailbox, answer);
      const refused = refuseNonAdmin(auth, call.metadata, call.request.mailbox, 'StartAuthorization');
      if (refused !== undefined) {
        callback(refused);
        return;
      }
      settle(() => broker.startAuthorization(call.request.mailbox)).then(
        (started) =>
          callback(null, {
            authorization_url: started.authorizationUrl ?? '',
            state: started.state ?? '',
            expires_at: toTimestamp(started.expiresAt),
            user_code: started.userCode ?? '',
            verification_uri: started.verificationUri ?? '',
            acquired: started.acquired !== undefined,
            token_subject: started.acquired?.subject ?? '',
            token_audience: started.acquired?.audience ?? '',
            token_permissions: [...(started.acquired?.permissions ?? [])],
          } satisfies Required<StartAuthorizationResponse>),
        (error: unknown) => callback(toStatus(error)),
      );
    },

    CompleteAuthorization(call, answer): void {
      const callback = audit.unary('authorization.complete', call, call.request.mailbox, answer);
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
      settle(() => broker.completeAuthorization(mailbox, { redirectUrl, code, state })).then(
        (status) => callback(null, mailboxStatusMessage(status)),
        (error: unknown) => callback(toStatus(error)),
      );
    },

    Reload(call, answer): void {
      const callback = audit.unary('admin.reload', call, undefined, answer);
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
