// TypeScript shapes of the messages in proto/tokenbroker/v1/broker.proto as
// @grpc/proto-loader presents them with the options in load.ts (keepCase,
// enums as names, int64 as strings on decode). Written by hand because the
// proto is small and fixed by the contract; keep the two in step.

export interface TimestampMessage {
  seconds: number | string;
  nanos: number;
}

export type ProtocolName = 'PROTOCOL_UNSPECIFIED' | 'GRAPH' | 'IMAP' | 'POP3' | 'SMTP';
export type GrantTypeEnumName =
  | 'GRANT_TYPE_UNSPECIFIED'
  | 'ROPC'
  | 'ROPC_DEPRECATED'
  | 'AUTHORIZATION_CODE'
  | 'CLIENT_CREDENTIALS'
  | 'DEVICE_CODE';
export type MailboxStateName = 'STATE_UNSPECIFIED' | 'READY' | 'ACQUIRING' | 'NEEDS_AUTHORIZATION' | 'FAILING';

export interface GetTokenRequest {
  mailbox: string;
  min_validity_seconds: number;
}
export type WatchTokenRequest = GetTokenRequest;
export interface ReportRejectedRequest {
  mailbox: string;
  access_token: string;
  reason: string;
}
export type ListMailboxesRequest = Record<string, never>;
export interface ListMailboxesResponse {
  mailboxes: MailboxStatusMessage[];
}

export interface TokenMessage {
  mailbox: string;
  access_token: string;
  token_type: string;
  expires_at: TimestampMessage | null;
  scopes: string[];
  username: string;
  sasl_xoauth2: string;
  protocol: ProtocolName;
}

export interface MailboxStatusMessage {
  mailbox: string;
  protocol: ProtocolName;
  grant_type: GrantTypeEnumName;
  authorization_server: string;
  state: MailboxStateName;
  token_expires_at: TimestampMessage | null;
  last_refresh_at: TimestampMessage | null;
  refresh_token_used_at: TimestampMessage | null;
  last_used_at: TimestampMessage | null;
  last_error_code: string;
  last_error_message: string;
}

export interface StartAuthorizationRequest {
  mailbox: string;
}
export interface StartAuthorizationResponse {
  authorization_url: string;
  state: string;
  expires_at: TimestampMessage | null;
  user_code: string;
  verification_uri: string;
}
export interface CompleteAuthorizationRequest {
  mailbox: string;
  redirect_url: string;
  code: string;
  state: string;
}
export interface GetMailboxStatusRequest {
  mailbox: string;
}
export type ReloadRequest = Record<string, never>;
export interface ReloadResponse {
  applied: boolean;
  errors: string[];
  added: string[];
  removed: string[];
  changed: string[];
  reacquiring: string[];
  restart_required: string[];
}

export function toTimestamp(epochMs: number): TimestampMessage {
  const seconds = Math.floor(epochMs / 1000);
  return { seconds, nanos: (epochMs - seconds * 1000) * 1_000_000 };
}

export function fromTimestamp(timestamp: TimestampMessage | null | undefined): number | undefined {
  if (timestamp === null || timestamp === undefined) return undefined;
  return Number(timestamp.seconds) * 1000 + Math.floor(timestamp.nanos / 1_000_000);
}
