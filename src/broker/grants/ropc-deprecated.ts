// ROPC, the legacy path of the product this replaces: the fixed Microsoft
// endpoint and Graph default scope (resolved by the config), never a proxy,
// a token obtained on demand with the password and no refresh token kept.
import type { MailboxConfig } from '../../config/index.js';
import type { Grant, GrantDependencies, TokenResult } from './grant.js';
import { MsalUserOperations } from './msal/operations.js';
import { ROPC_DEFAULT_TENANT } from './ropc.js';

export function ropcDeprecatedGrant(mailbox: MailboxConfig, dependencies: GrantDependencies): Grant {
  const operations = new MsalUserOperations(mailbox, dependencies, { tenant: mailbox.tenantId ?? ROPC_DEFAULT_TENANT, useProxy: false });
  return {
    type: 'ropc-deprecated',
    interactive: false,
    async acquire(): Promise<TokenResult> {
      const result = await operations.run(operations.application(), (application) =>
        application.acquireTokenByUsernamePassword({
          scopes: [...mailbox.scopes],
          username: mailbox.username,
          password: mailbox.password?.reveal() ?? '',
        }),
      );
      // Nothing but the access token is kept on this path.
      return { accessToken: result.accessToken, tokenType: result.tokenType, expiresAt: result.expiresAt, scopes: result.scopes };
    },
  };
}
