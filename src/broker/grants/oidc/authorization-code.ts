// Authorization code with PKCE on google- and generic-type servers: the
// broker hands out the authorization URL, the operator signs in and pastes
// the full redirect URL back, openid-client redeems the code; afterwards the
// refresh token keeps the mailbox going.
import { authorizationCodeGrant, buildAuthorizationUrl, ClientError } from 'openid-client';
import type { MailboxConfig } from '../../../config/index.js';
import { BrokerError } from '../../../errors/index.js';
import type { AuthorizationStart, Grant, GrantDependencies, GrantState, PendingAuthorization, TokenResult } from '../grant.js';
import { AUTHORIZATION_LIFETIME_MS, pkceChallenge, randomUrlSafe } from '../pkce.js';
import { authorizationParameters, callbackFor, normalizedRedirectUri } from './authorization-request.js';
import { foreignCallback, validationGap } from './grant-errors.js';
import { OidcClient } from './oidc-client.js';
import { refreshAccessToken } from './refresh.js';

export function oidcAuthorizationCodeGrant(mailbox: MailboxConfig, dependencies: GrantDependencies): Grant {
  const client = new OidcClient(mailbox, dependencies);
  return {
    type: 'authorization-code',
    interactive: true,
    acquire: (state: GrantState): Promise<TokenResult> => refreshAccessToken(client, state),

    async startAuthorization(): Promise<AuthorizationStart> {
      if (mailbox.redirectUri === undefined) throw validationGap(mailbox, 'authorization-code without redirectUri');
      const configuration = await client.configuration();
      const redirectUri = normalizedRedirectUri(mailbox.redirectUri);
      const pending: PendingAuthorization = {
        state: randomUrlSafe(),
        codeVerifier: randomUrlSafe(),
        redirectUri,
        expiresAt: dependencies.clock.now() + AUTHORIZATION_LIFETIME_MS,
      };
      const parameters = authorizationParameters({
        google: client.google,
        redirectUri,
        scopes: mailbox.scopes,
        state: pending.state,
        codeChallenge: pkceChallenge(pending.codeVerifier),
        loginHint: mailbox.username,
      });
      let authorizationUrl: string;
      try {
        authorizationUrl = buildAuthorizationUrl(configuration, parameters).href;
      } catch (error) {
        throw await client.failure(error);
      }
      return { kind: 'redirect', authorizationUrl, pending };
    },

    async completeAuthorization(pending: PendingAuthorization, callbackUrl: URL): Promise<TokenResult> {
      const callback = callbackFor(mailbox, pending, callbackUrl);
      if (callback instanceof BrokerError) throw callback;
      const configuration = await client.configuration();
      let result: TokenResult;
      try {
        const response = await authorizationCodeGrant(configuration, callback, { pkceCodeVerifier: pending.codeVerifier, expectedState: pending.state });
        result = client.tokenResult(response, { keepsRefreshToken: true });
      } catch (error) {
        throw foreignResponse(mailbox, callback, error) ?? (await client.failure(error));
      }
      if (result.refreshToken === undefined) {
        dependencies.logger.warn(
          { mailbox: mailbox.name, authorizationServer: mailbox.authorizationServer.name },
          client.google
            ? 'Google issued no refresh token despite access_type=offline; the mailbox needs authorization again when this token expires'
            : 'the server issued no refresh token (does it need a scope such as offline_access?); the mailbox needs authorization again when this token expires',
        );
      }
      return result;
    },
  };
}

/** openid-client's own checks of the redirect: a state or issuer that is not ours. */
function foreignResponse(mailbox: MailboxConfig, callback: URL, error: unknown): BrokerError | undefined {
  if (!(error instanceof ClientError) || error.code !== 'OAUTH_INVALID_RESPONSE') return undefined;
  const detail = error.cause instanceof Error ? error.cause.message : '';
  if (/"state"/.test(detail)) return foreignCallback(mailbox, 'its "state" differs');
  if (/"iss"/.test(detail)) {
    // RFC 9207: the redirect names the server that issued the code. Another one is a mix-up, or an issuer setting that differs.
    const named = callback.searchParams.get('iss');
    const server = mailbox.authorizationServer.name;
    return foreignCallback(mailbox, named === null ? 'it does not name its issuer' : `it names issuer ${named}; if that is ${server}, set authorizationServers.${server}.issuer to it`);
  }
  return undefined;
}
