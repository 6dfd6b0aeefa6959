// Converts engine values to wire messages. A token's message is built once
// and reused for every GetToken that serves it (the hot path allocates nothing).
// Every field is set (Required<>): a field added to the proto fails to compile
// here until it is mapped.
import type { GrantTypeName, Protocol } from '../config/index.js';
import type { IssuedToken, MailboxState, MailboxStatus } from '../broker/index.js';
import { toTimestamp } from '../proto/index.js';
import type { GrantTypeEnumName, MailboxStateName, MailboxStatusMessage, ProtocolName, TokenMessage } from '../proto/index.js';

const PROTOCOL_NAMES: Readonly<Record<Protocol, ProtocolName>> = { graph: 'GRAPH', imap: 'IMAP', pop3: 'POP3', smtp: 'SMTP' };
const GRANT_TYPE_NAMES: Readonly<Record<GrantTypeName, GrantTypeEnumName>> = {
  ropc: 'ROPC',
  'ropc-deprecated': 'ROPC_DEPRECATED',
  'authorization-code': 'AUTHORIZATION_CODE',
  'client-credentials': 'CLIENT_CREDENTIALS',
  'device-code': 'DEVICE_CODE',
};
const STATE_NAMES: Readonly<Record<MailboxState, MailboxStateName>> = {
  IDLE: 'STATE_UNSPECIFIED',
  READY: 'READY',
  ACQUIRING: 'ACQUIRING',
  NEEDS_AUTHORIZATION: 'NEEDS_AUTHORIZATION',
  FAILING: 'FAILING',
};

const tokenMessages = new WeakMap<IssuedToken, Required<TokenMessage>>();

export function tokenMessage(token: IssuedToken): Required<TokenMessage> {
  let message = tokenMessages.get(token);
  if (message === undefined) {
    message = {
      mailbox: token.mailbox,
      access_token: token.accessToken,
      token_type: token.tokenType,
      expires_at: toTimestamp(token.expiresAt),
      scopes: [...token.scopes],
      username: token.username,
      sasl_xoauth2: token.saslXoauth2,
      sasl_oauthbearer: token.saslOauthbearer,
      protocol: PROTOCOL_NAMES[token.protocol],
    };
    tokenMessages.set(token, message);
  }
  return message;
}

export function mailboxStatusMessage(status: MailboxStatus): Required<MailboxStatusMessage> {
  return {
    mailbox: status.mailbox,
    protocol: PROTOCOL_NAMES[status.protocol],
    grant_type: GRANT_TYPE_NAMES[status.grantType],
    authorization_server: status.authorizationServer,
    state: STATE_NAMES[status.state],
    token_expires_at: status.tokenExpiresAt === undefined ? null : toTimestamp(status.tokenExpiresAt),
    last_refresh_at: status.lastRefreshAt === undefined ? null : toTimestamp(status.lastRefreshAt),
    refresh_token_used_at: status.refreshTokenUsedAt === undefined ? null : toTimestamp(status.refreshTokenUsedAt),
    last_used_at: status.lastUsedAt === undefined ? null : toTimestamp(status.lastUsedAt),
    last_error_code: status.lastError?.displayCode ?? '',
    last_error_message: status.lastError?.describe() ?? '',
    credential_forecasts: (status.credentialDeaths ?? []).map((death) => ({
      credential: death.credential,
      expected_at: toTimestamp(death.at),
      basis: death.basis,
      reason: death.reason,
    })),
  };
}
