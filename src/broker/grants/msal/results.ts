// Turns what msal-node returns into our TokenResult, reading the refresh
// token from the application's cache (msal's only way to expose it).
import type { AuthenticationResult, TokenCache } from '@azure/msal-node';
import type { MailboxConfig } from '../../../config/index.js';
import { BrokerError } from '../../../errors/index.js';
import type { TokenResult } from '../grant.js';

interface WithTokenCache {
  getTokenCache(): TokenCache;
}

interface SerializedCache {
  readonly RefreshToken?: Record<string, { readonly secret?: string; readonly home_account_id?: string }>;
}

/** The refresh token msal stored for this result's account, if the server sent one. */
export function refreshTokenFromCache(application: WithTokenCache, result: AuthenticationResult): string | undefined {
  const cache = JSON.parse(application.getTokenCache().serialize()) as SerializedCache;
  const entries = Object.values(cache.RefreshToken ?? {});
  const home = result.account?.homeAccountId;
  const entry = entries.find((candidate) => candidate.home_account_id === home) ?? (entries.length === 1 ? entries[0] : undefined);
  return entry?.secret === '' ? undefined : entry?.secret;
}

export function toTokenResult(
  mailbox: MailboxConfig,
  result: AuthenticationResult | null,
  refreshToken: string | undefined,
): TokenResult {
  if (result === null || result.accessToken === '' || result.expiresOn === null) {
    throw new BrokerError(`mailbox ${mailbox.name}: ${mailbox.authorizationServer.name} answered without an access token.`, {
      code: 'authorization_server_error',
      mailbox: mailbox.name,
      authorizationServer: mailbox.authorizationServer.name,
      remediation: 'The broker retries; check the authorization server.',
    });
  }
  return {
    accessToken: result.accessToken,
    tokenType: result.tokenType === '' ? 'Bearer' : result.tokenType,
    expiresAt: result.expiresOn.getTime(),
    scopes: result.scopes.length > 0 ? result.scopes : [...mailbox.scopes],
    ...(refreshToken === undefined ? {} : { refreshToken }),
  };
}
