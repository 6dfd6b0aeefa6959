// Authorization code with PKCE on Microsoft Entra ID (user level): the
// operator signs in once in a browser; the refresh token carries on from
// there. A desktop (public) registration sends no secret, a web one its
// secret or certificate.
import type { MailboxConfig } from '../../config/index.js';
import type { AuthorizationStart, Grant, GrantDependencies, GrantState, PendingAuthorization, TokenResult } from './grant.js';
import { authorizationResponseError, codeFrom } from './authorization-response.js';
import { MsalUserOperations, needsAuthorization } from './msal/operations.js';
import { AUTHORIZATION_LIFETIME_MS, pkceChallenge, randomUrlSafe } from './pkce.js';

export function microsoftAuthorizationCodeGrant(mailbox: MailboxConfig, dependencies: GrantDependencies, tenant: string): Grant {
  const operations = new MsalUserOperations(mailbox, dependencies, { tenant });
  const redirectUri = mailbox.redirectUri ?? '';
  return {
    type: 'authorization-code',
    interactive: true,
    async acquire(state: GrantState): Promise<TokenResult> {
      if (state.refreshToken === undefined) throw needsAuthorization(mailbox, 'no refresh token yet: the mailbox has not been authorized.');
      return operations.refresh(state.refreshToken);
    },
    async startAuthorization(): Promise<AuthorizationStart> {
      const pending: PendingAuthorization = {
        state: randomUrlSafe(),
        codeVerifier: randomUrlSafe(48),
        redirectUri,
        expiresAt: dependencies.clock.now() + AUTHORIZATION_LIFETIME_MS,
      };
      let authorizationUrl: string;
      try {
        authorizationUrl = await operations.application().getAuthCodeUrl({
          scopes: [...mailbox.scopes],
          redirectUri,
          state: pending.state,
          codeChallenge: pkceChallenge(pending.codeVerifier),
          codeChallengeMethod: 'S256',
          loginHint: mailbox.username,
          responseMode: 'query',
        });
      } catch (error) {
        throw operations.failure(error);
      }
      return { kind: 'redirect', authorizationUrl, pending };
    },
    async completeAuthorization(pending: PendingAuthorization, callbackUrl: URL): Promise<TokenResult> {
      const refused = authorizationResponseError(mailbox, callbackUrl);
      if (refused !== undefined) throw refused;
      const code = codeFrom(mailbox, callbackUrl);
      return operations.run(operations.application(), (application) =>
        application.acquireTokenByCode({
          code,
          scopes: [...mailbox.scopes],
          redirectUri: pending.redirectUri,
          codeVerifier: pending.codeVerifier,
        }),
      );
    },
  };
}
