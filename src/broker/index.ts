// The broker engine: tokens per mailbox, acquisition, state.
export { TokenBroker } from './token-broker.js';
export { DEFAULT_MIN_VALIDITY_SECONDS, MAX_MIN_VALIDITY_SECONDS, requestedMinValidity } from './min-validity.js';
export type { MinValidity } from './min-validity.js';
export type { TokenBrokerOptions, ReloadableConfig, ReloadSummary } from './token-broker.js';
export { issueToken } from './issued-token.js';
export { saslOauthbearer, saslXoauth2 } from './sasl-strings.js';
export type { IssuedToken } from './issued-token.js';
export type { MailboxState, MailboxStatus } from './mailbox-status.js';
export type { TokenRequest, TokenRequestObserver } from './token-request-observer.js';
export type { AuthorizationResponse, AuthorizationStarted } from './authorization/interactive-authorizations.js';
export { isLoopbackRedirect } from './authorization/loopback-listener.js';
export { createGrant, classifyOAuthError, aadstsNumber, entraEndpoints, msalAuthorityOptions } from './grants/index.js';
export type { Grant, GrantDependencies, GrantFactory, GrantState, TokenResult } from './grants/index.js';
export { loggableRejectionReason } from './rejection-reason.js';
