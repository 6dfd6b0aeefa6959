// The non-interactive half of the user-level grants (authorization-code,
// device-code): a new access token from the refresh token the engine keeps.
import { refreshTokenGrant } from 'openid-client';
import type { GrantState, TokenResult } from '../grant.js';
import { notAuthorizedYet } from './grant-errors.js';
import type { OidcClient } from './oidc-client.js';

export async function refreshAccessToken(client: OidcClient, state: GrantState): Promise<TokenResult> {
  const refreshToken = state.refreshToken;
  if (refreshToken === undefined) throw notAuthorizedYet(client.mailbox);
  const configuration = await client.configuration();
  try {
    const response = await refreshTokenGrant(configuration, refreshToken);
    // Google never rotates; strict OAuth 2.1 servers always do: keep whichever is newest.
    return client.tokenResult(response, { previousRefreshToken: refreshToken, keepsRefreshToken: true });
  } catch (error) {
    throw await client.failure(error);
  }
}
