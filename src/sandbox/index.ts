// A standalone, Entra-ID-shaped HTTPS authorization server for the broker's
// tests and `token-broker demo`. It imports nothing from the broker.
export { startSandbox } from './server.js';
export { createClientCertificate } from './certificates.js';
export type { ClientCertificate } from './certificates.js';
export type {
  AccessTokenClaims,
  AppAccessTokenClaims,
  IdTokenClaims,
  InjectedFailure,
  InjectedFault,
  InjectedThrottle,
  MailboxRight,
  MailProtocol,
  RegisteredSandboxUser,
  ResourceDecision,
  ResourceDecisionReason,
  ResourceEndpoint,
  Sandbox,
  SandboxApplication,
  SandboxClock,
  SandboxHooks,
  SandboxMessage,
  SandboxOptions,
  SandboxSecret,
  SandboxSecretKind,
  SandboxServerCertificate,
  SandboxStats,
  SandboxStatsSnapshot,
  SandboxUser,
  SandboxUserKind,
  TokenResponseInfo,
  UserAccessTokenClaims,
} from './types.js';
