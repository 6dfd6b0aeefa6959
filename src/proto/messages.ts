// The wire types of tokenbroker.v1 under the names the server and client use.
// They are generated from proto/tokenbroker/v1/broker.proto at build time
// (`npm run generate:proto`, the same loader options as load.ts), so the proto
// stays the one source of truth. Each message has two shapes: `X` is what a
// sender gives (every field optional, enums as name or number, int64 as
// number, string or Long) and `X__Output` what the loader decodes (every field
// present, enums as names, int64 as strings).

import type { Timestamp, Timestamp__Output } from './generated/google/protobuf/Timestamp.js';

// The services: typed client stubs, and the handlers a server implements (requests as decoded, responses as sent).
export type { BrokerAdminClient as BrokerAdminGrpcClient, BrokerAdminHandlers as BrokerAdminGrpcHandlers } from './generated/tokenbroker/v1/BrokerAdmin.js';
export type { TokenBrokerClient as TokenBrokerGrpcClient, TokenBrokerHandlers as TokenBrokerGrpcHandlers } from './generated/tokenbroker/v1/TokenBroker.js';

export type { Timestamp as TimestampMessage, Timestamp__Output as TimestampMessage__Output };
export type { Protocol__Output as ProtocolName } from './generated/tokenbroker/v1/Protocol.js';
export type { GrantType__Output as GrantTypeEnumName } from './generated/tokenbroker/v1/GrantType.js';
export type {
  _tokenbroker_v1_MailboxStatus_State__Output as MailboxStateName,
  MailboxStatus as MailboxStatusMessage,
  MailboxStatus__Output as MailboxStatusMessage__Output,
} from './generated/tokenbroker/v1/MailboxStatus.js';
export type { Token as TokenMessage, Token__Output as TokenMessage__Output } from './generated/tokenbroker/v1/Token.js';

export type { GetTokenRequest, GetTokenRequest__Output } from './generated/tokenbroker/v1/GetTokenRequest.js';
export type { WatchTokenRequest, WatchTokenRequest__Output } from './generated/tokenbroker/v1/WatchTokenRequest.js';
export type { ReportRejectedRequest, ReportRejectedRequest__Output } from './generated/tokenbroker/v1/ReportRejectedRequest.js';
export type { ListMailboxesRequest, ListMailboxesRequest__Output } from './generated/tokenbroker/v1/ListMailboxesRequest.js';
export type { ListMailboxesResponse, ListMailboxesResponse__Output } from './generated/tokenbroker/v1/ListMailboxesResponse.js';
export type { StartAuthorizationRequest, StartAuthorizationRequest__Output } from './generated/tokenbroker/v1/StartAuthorizationRequest.js';
export type { StartAuthorizationResponse, StartAuthorizationResponse__Output } from './generated/tokenbroker/v1/StartAuthorizationResponse.js';
export type {
  CompleteAuthorizationRequest,
  CompleteAuthorizationRequest__Output,
} from './generated/tokenbroker/v1/CompleteAuthorizationRequest.js';
export type { GetMailboxStatusRequest, GetMailboxStatusRequest__Output } from './generated/tokenbroker/v1/GetMailboxStatusRequest.js';
export type { ReloadRequest, ReloadRequest__Output } from './generated/tokenbroker/v1/ReloadRequest.js';
export type { ReloadResponse, ReloadResponse__Output } from './generated/tokenbroker/v1/ReloadResponse.js';

export function toTimestamp(epochMs: number): Required<Timestamp> {
  const seconds = Math.floor(epochMs / 1000);
  return { seconds, nanos: (epochMs - seconds * 1000) * 1_000_000 };
}

export function fromTimestamp(timestamp: Timestamp__Output | null | undefined): number | undefined {
  if (timestamp === null || timestamp === undefined) return undefined;
  return Number(timestamp.seconds) * 1000 + Math.floor(timestamp.nanos / 1_000_000);
}
