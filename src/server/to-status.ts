// The one place where broker errors become gRPC statuses (CONTRACT.md).
// Messages carry the operator's remediation line and never a secret, and
// stay short whatever client input an engine message quotes.
import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { BrokerError } from '../errors/index.js';
import type { BrokerErrorCode } from '../errors/index.js';
import { boundedMessage } from './client-text.js';

/** The longest status message, before its ` [code]`: far above any message of the broker's own. */
const MAX_DETAILS = 2_000;

const STATUS_BY_CODE: Readonly<Record<BrokerErrorCode, GrpcStatus>> = {
  config_invalid: GrpcStatus.FAILED_PRECONDITION,
  config_unreadable: GrpcStatus.FAILED_PRECONDITION,
  unknown_mailbox: GrpcStatus.NOT_FOUND,
  invalid_request: GrpcStatus.INVALID_ARGUMENT,
  needs_authorization: GrpcStatus.FAILED_PRECONDITION,
  invalid_client: GrpcStatus.FAILED_PRECONDITION,
  consent_missing: GrpcStatus.FAILED_PRECONDITION,
  authorization_server_error: GrpcStatus.UNAVAILABLE,
  throttled: GrpcStatus.UNAVAILABLE,
  server_unreachable: GrpcStatus.UNAVAILABLE,
  proxy_auth_failed: GrpcStatus.UNAVAILABLE,
  proxy_unreachable: GrpcStatus.UNAVAILABLE,
  tls_untrusted: GrpcStatus.UNAVAILABLE,
  timeout: GrpcStatus.UNAVAILABLE,
  // Only the doctor's login probe raises these; no RPC does, but the table is exhaustive.
  mail_protocol_error: GrpcStatus.INTERNAL,
  mail_mechanism_not_offered: GrpcStatus.INTERNAL,
  store_unavailable: GrpcStatus.UNAVAILABLE,
  store_key_invalid: GrpcStatus.FAILED_PRECONDITION,
  store_record_invalid: GrpcStatus.FAILED_PRECONDITION,
  not_implemented: GrpcStatus.UNIMPLEMENTED,
  internal: GrpcStatus.INTERNAL,
};

/** Metadata keys a client can branch on without parsing the message. */
export const ERROR_CODE_METADATA_KEY = 'token-broker-error-code';

export function toStatus(error: unknown): Partial<ServiceError> {
  const failure =
    error instanceof BrokerError
      ? error
      : new BrokerError('internal error in token-broker; see its log.', { code: 'internal', cause: error });
  const metadata = new Metadata();
  metadata.set(ERROR_CODE_METADATA_KEY, failure.displayCode);
  return {
    code: STATUS_BY_CODE[failure.code],
    details: `${boundedMessage(failure.describe(), MAX_DETAILS)} [${failure.displayCode}]`,
    metadata,
  };
}

export function invalidArgument(message: string): Partial<ServiceError> {
  return { code: GrpcStatus.INVALID_ARGUMENT, details: message };
}
