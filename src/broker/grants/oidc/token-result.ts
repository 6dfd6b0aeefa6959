// A token endpoint answer as the engine wants it: absolute expiry from the
// injected clock, the scopes as granted, and always the newest refresh token.
import type { TokenEndpointResponse } from 'openid-client';
import type { TokenResult } from '../grant.js';

/** RFC 6749 makes expires_in optional; without it we assume an hour and refresh before that. */
export const ASSUMED_LIFETIME_SECONDS = 3600;

export interface TokenResultInput {
  /** Milliseconds since the epoch, when the answer arrived. */
  readonly now: number;
  /** What was asked for: the granted scopes when the server does not say. */
  readonly requestedScopes: readonly string[];
  /** The refresh token just used: kept when the server does not rotate it (Google never does). */
  readonly previousRefreshToken?: string | undefined;
  /** False for client credentials and service accounts, which must not keep one. */
  readonly keepsRefreshToken: boolean;
}

export function toTokenResult(response: TokenEndpointResponse, input: TokenResultInput): TokenResult {
  const lifetime = response.expires_in ?? ASSUMED_LIFETIME_SECONDS;
  const granted = response.scope?.split(' ').filter((scope) => scope !== '');
  const refreshToken = input.keepsRefreshToken ? (response.refresh_token ?? input.previousRefreshToken) : undefined;
  const refreshLifetime = refreshTokenLifetimeSeconds(response);
  return {
    accessToken: response.access_token,
    // oauth4webapi lower-cases token_type; connectors and XOAUTH2 expect "Bearer".
    tokenType: response.token_type === 'bearer' ? 'Bearer' : response.token_type,
    expiresAt: input.now + lifetime * 1000,
    scopes: granted !== undefined && granted.length > 0 ? granted : [...input.requestedScopes],
    ...(refreshToken === undefined ? {} : { refreshToken }),
    ...(refreshToken === undefined || refreshLifetime === undefined ? {} : { refreshTokenExpiresAt: input.now + refreshLifetime * 1000 }),
  };
}

/**
 * Google's refresh_token_expires_in: "the remaining lifetime of the refresh
 * token in seconds", sent only when the user granted time-based access.
 * openid-client passes unknown members of the token response through as they
 * came (a number, or a numeric string from a lax server); anything else is ignored.
 */
function refreshTokenLifetimeSeconds(response: TokenEndpointResponse): number | undefined {
  const value: unknown = response['refresh_token_expires_in'];
  const seconds = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds > 0 ? seconds : undefined;
}
