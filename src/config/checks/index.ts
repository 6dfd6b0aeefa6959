// The semantic checks every mailbox goes through, after its fields were read
// one by one. Order does not matter: problems are sorted by position.
import { plainCells } from './applicability.js';
import { authenticationModeAllowed, credentialMatchesMode, googleClientAuthentication, redirectPlatformRules, secretEndDateNeedsSecret } from './client-authentication.js';
import { grantSupportsProtocol } from './protocol.js';
import { proxyExists, serverHasEndpoints } from './references.js';
import { googleDeviceFlowScopes, scopesAvailable } from './scopes.js';
import { serviceAccountKeyRules } from './service-account-key.js';
import { tenantRules } from './tenant.js';
import type { MailboxCheck } from './check.js';

export const MAILBOX_CHECKS: readonly MailboxCheck[] = [
  grantSupportsProtocol,
  plainCells,
  tenantRules,
  authenticationModeAllowed,
  credentialMatchesMode,
  secretEndDateNeedsSecret,
  redirectPlatformRules,
  googleClientAuthentication,
  serviceAccountKeyRules,
  scopesAvailable,
  googleDeviceFlowScopes,
  serverHasEndpoints,
  proxyExists,
];

export { resolveFacts } from './facts.js';
export { checkCertificateFile } from './certificate-file.js';
export { checkServiceAccountKeyFile } from './service-account-key.js';
export type { CertificateDraft, MailboxDraft, MailboxFacts } from './check.js';
