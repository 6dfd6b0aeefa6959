// What an access token says about itself. Entra's tokens for Exchange and
// Graph are JWTs whose claims name the audience, permissions, tenant and
// user; Google's (ya29...) and most other servers' are opaque strings.
//
// The signature is NOT checked, on purpose: the doctor is not the token's
// audience and trusts nothing it reads here. It only explains why the mail
// server (which does check) would refuse the token; a forged token it read
// wrongly could at worst produce a wrong hint, never access.

export interface TokenClaims {
  readonly format: 'jwt';
  /** `aud`, as in the token (Exchange: https://outlook.office365.com or the Exchange app id). */
  readonly audience?: string;
  /** Delegated permissions (`scp`, space-separated in the token). */
  readonly scopes: readonly string[];
  /** Application permissions (`roles`). */
  readonly roles: readonly string[];
  /** `tid`: the directory (tenant) that issued it. */
  readonly tenantId?: string;
  readonly issuer?: string;
  /** `exp`, seconds since the epoch, as in the token. */
  readonly exp?: number;
  /** app: client credentials (idtyp app, or roles without scp); user: delegated. */
  readonly kind: 'app' | 'user';
  /** upn, else unique_name, else preferred_username (user tokens). */
  readonly user?: string;
  /** appid (v1) or azp (v2): the application the token was issued to. */
  readonly appId?: string;
}

export type DecodedToken = TokenClaims | { readonly format: 'opaque' };

function base64UrlJson(segment: string): Record<string, unknown> | undefined {
  if (!/^[A-Za-z0-9_-]+={0,2}$/.test(segment)) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/** The claims of a JWT access token; `opaque` for anything that is not a JWT with a JSON payload. */
export function decodeAccessToken(accessToken: string): DecodedToken {
  const parts = accessToken.split('.');
  if (parts.length !== 3) return { format: 'opaque' };
  const header = base64UrlJson(parts[0] ?? '');
  const payload = base64UrlJson(parts[1] ?? '');
  if (header === undefined || payload === undefined) return { format: 'opaque' };
  const scopes = (text(payload.scp) ?? '').split(' ').filter((scope) => scope !== '');
  const roles = Array.isArray(payload.roles) ? payload.roles.filter((role): role is string => typeof role === 'string') : [];
  const idtyp = text(payload.idtyp);
  const kind = idtyp === 'app' || (idtyp === undefined && scopes.length === 0 && text(payload.upn) === undefined && text(payload.unique_name) === undefined) ? 'app' : 'user';
  const audience = Array.isArray(payload.aud) ? text(payload.aud[0]) : text(payload.aud);
  const user = text(payload.upn) ?? text(payload.unique_name) ?? text(payload.preferred_username);
  const appId = text(payload.appid) ?? text(payload.azp);
  return {
    format: 'jwt',
    ...(audience === undefined ? {} : { audience }),
    scopes,
    roles,
    ...(text(payload.tid) === undefined ? {} : { tenantId: text(payload.tid) }),
    ...(text(payload.iss) === undefined ? {} : { issuer: text(payload.iss) }),
    ...(typeof payload.exp === 'number' ? { exp: payload.exp } : {}),
    kind,
    ...(user === undefined ? {} : { user }),
    ...(appId === undefined ? {} : { appId }),
  };
}
