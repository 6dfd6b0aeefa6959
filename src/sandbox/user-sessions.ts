// What a user's sign-in leaves behind for later grants to build on: who,
// for which client and tenant, with which scopes and methods. Codes, refresh
// tokens and approved device codes all carry one.
import type { UserScopes } from './scopes.js';

export interface UserSession {
  readonly clientId: string;
  /** The directory's spelling of the user's tenant. */
  readonly tenantId: string;
  readonly userObjectId: string;
  readonly scopes: UserScopes;
  /** `amr` of the tokens: ['pwd'], or ['pwd', 'mfa'] after an interactive MFA sign-in. */
  readonly amr: readonly string[];
  /** The `sid` claim: one per sign-in, kept across refreshes. */
  readonly sessionId: string;
}
