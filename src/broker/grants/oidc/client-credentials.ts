// Client credentials on a generic-type server (application level): the
// client's own secret or certificate, no user, no refresh token.
import { clientCredentialsGrant } from 'openid-client';
import type { MailboxConfig } from '../../../config/index.js';
import type { Grant, GrantDependencies, TokenResult } from '../grant.js';
import { OidcClient } from './oidc-client.js';

export function oidcClientCredentialsGrant(mailbox: MailboxConfig, dependencies: GrantDependencies): Grant {
  const client = new OidcClient(mailbox, dependencies);
  return {
    type: 'client-credentials',
    interactive: false,
    async acquire(): Promise<TokenResult> {
      const configuration = await client.configuration();
      try {
        const response = await clientCredentialsGrant(configuration, { scope: mailbox.scopes.join(' ') });
        return client.tokenResult(response, { keepsRefreshToken: false });
      } catch (error) {
        throw await client.failure(error);
      }
    },
  };
}
