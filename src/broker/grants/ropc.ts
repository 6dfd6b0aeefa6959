// Resource Owner Password Credentials (Graph only, user level): the user's
// password buys the first token; after that the refresh token is used, and
// the password again when the refresh token is refused (a changed password
// in the config then takes effect at once).
import type { MailboxConfig } from '../../config/index.js';
import { isBrokerError } from '../../errors/index.js';
import type { Grant, GrantDependencies, GrantState, TokenResult } from './grant.js';
import { MsalUserOperations } from './msal/operations.js';

/** Without a tenant ROPC uses the `organizations` authority (any work or school account). */
export const ROPC_DEFAULT_TENANT = 'organizations';

export function ropcGrant(mailbox: MailboxConfig, dependencies: GrantDependencies): Grant {
  const operations = new MsalUserOperations(mailbox, dependencies, { tenant: mailbox.tenantId ?? ROPC_DEFAULT_TENANT });
  const withPassword = (): Promise<TokenResult> =>
    operations.run(operations.application(), (application) =>
      application.acquireTokenByUsernamePassword({
        scopes: [...mailbox.scopes],
        username: mailbox.username,
        password: mailbox.password?.reveal() ?? '',
      }),
    );
  return {
    type: 'ropc',
    interactive: false,
    async acquire(state: GrantState): Promise<TokenResult> {
      if (state.refreshToken === undefined) return withPassword();
      try {
        return await operations.refresh(state.refreshToken);
      } catch (error) {
        // A refused refresh token (expired, revoked by a password change) is
        // no dead end for ROPC: the configured password gets a new one.
        if (isBrokerError(error) && error.code === 'needs_authorization') return withPassword();
        throw error;
      }
    },
  };
}
