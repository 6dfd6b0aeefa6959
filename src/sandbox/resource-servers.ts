// What both resource servers (Exchange's introspection, the Graph endpoint)
// share: the state they read, the first look at a bearer token (signature,
// lifetime on the sandbox clock, revocation) before their own rules in
// resource-access.ts, and the record of every decision.
import type { TokenSigner } from './jwt.js';
import type { MessageStore } from './mail-messages.js';
import type { MailboxPermissions } from './mailbox-permissions.js';
import type { ResourceDecisionLog } from './resource-decisions.js';
import type { RevokedAccessTokens } from './revoked-access-tokens.js';
import { checkAccessToken } from './token-verification.js';
import type { AccessTokenClaims, ResourceDecision, ResourceDecisionReason, SandboxClock } from './types.js';
import type { UserDirectory } from './users.js';

export interface ResourceServerContext {
  /** The sandbox URL, for Graph's `@odata.context` and `WWW-Authenticate`. */
  readonly authorityUrl: string;
  readonly signer: TokenSigner;
  readonly clock: SandboxClock;
  readonly users: UserDirectory;
  readonly mailboxes: MailboxPermissions;
  readonly messages: MessageStore;
  readonly revokedAccessTokens: RevokedAccessTokens;
  readonly resourceDecisions: ResourceDecisionLog;
}

export type ResourceTokenCheck =
  | { readonly valid: true; readonly claims: AccessTokenClaims }
  | { readonly valid: false; readonly reason: ResourceDecisionReason };

export function checkResourceToken(context: ResourceServerContext, token: string): ResourceTokenCheck {
  const check = checkAccessToken(context.signer, context.clock, token);
  if (!check.valid) return check;
  if (context.revokedAccessTokens.isRevoked(check.claims)) return { valid: false, reason: 'revoked' };
  return check;
}

/** Records the decision and hands it back, so an endpoint can answer from what it recorded. */
export function decide(context: ResourceServerContext, decision: ResourceDecision): ResourceDecision {
  context.resourceDecisions.record(decision);
  return decision;
}
