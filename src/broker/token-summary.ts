// What a person checks about a token (`token-broker authorize` of a mailbox
// whose grant needs no person): whom it is for, the audience and the
// permissions. Entra's access tokens are JWTs whose claims say so; they are
// read here for display only, unverified (the broker is the token's client,
// not its audience, and has nothing to verify them with). An opaque token
// (Google's) shows the configured user and the scopes the server granted.
import type { IssuedToken } from './issued-token.js';

export interface TokenSummary {
  /** upn / preferred_username / unique_name, else the app's name or id; else the configured user. */
  readonly subject: string;
  /** `aud`; empty for an opaque token. */
  readonly audience: string;
  /** `scp` (delegated) or `roles` (application) of a JWT, else the scopes granted. */
  readonly permissions: readonly string[];
}

export function summarizeToken(token: IssuedToken, configuredUser: string): TokenSummary {
  const claims = jwtClaims(token.accessToken);
  if (claims === undefined) return { subject: configuredUser, audience: '', permissions: token.scopes };
  const text = (name: string): string | undefined => (typeof claims[name] === 'string' && claims[name] !== '' ? claims[name] : undefined);
  const roles = Array.isArray(claims.roles) ? claims.roles.filter((role): role is string => typeof role === 'string') : [];
  const scopes = text('scp')?.split(' ').filter((scope) => scope !== '') ?? [];
  const audience = Array.isArray(claims.aud) ? claims.aud.filter((aud) => typeof aud === 'string').join(' ') : (text('aud') ?? '');
  return {
    subject: text('upn') ?? text('preferred_username') ?? text('unique_name') ?? text('app_displayname') ?? text('appid') ?? text('azp') ?? configuredUser,
    audience,
    permissions: scopes.length > 0 ? scopes : roles.length > 0 ? roles : token.scopes,
  };
}

/** The payload of a JWT (header.payload.signature, base64url JSON), or undefined for anything else. */
function jwtClaims(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[1] === undefined) return undefined;
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? (payload as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
