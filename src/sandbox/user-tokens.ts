// The tokens of user grants: a v1.0 access token for the resource (what
// Exchange Online and Graph receive), an id_token when `openid` was granted,
// a rotated refresh token when `offline_access` was, and client_info.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { clientInfo } from './app-tokens.js';
import type { TokenMinting } from './app-tokens.js';
import { APPIDACR } from './client-authentication.js';
import type { ClientAuthenticationMethod } from './client-authentication.js';
import type { RefreshTokenStore } from './refresh-tokens.js';
import { grantedScope } from './scopes.js';
import type { UserRecord } from './users.js';
import type { UserSession } from './user-sessions.js';
import type { IdTokenClaims, UserAccessTokenClaims } from './types.js';

const ID_TOKEN_LIFETIME_SECONDS = 3600;

export interface UserTokenMinting extends TokenMinting {
  /** The sandbox URL: the id_token issuer is `{url}/{tenant}/v2.0`, as discovery says. */
  readonly authorityUrl: string;
  readonly refreshTokens: RefreshTokenStore;
}

export interface UserTokenRequest {
  readonly session: UserSession;
  readonly user: UserRecord;
  readonly clientAuthentication: ClientAuthenticationMethod;
  /** From the authorization request, echoed in the id_token. */
  readonly nonce?: string | undefined;
  readonly withClientInfo: boolean;
}

export interface UserTokenSuccess {
  token_type: 'Bearer';
  scope: string;
  expires_in: number;
  ext_expires_in: number;
  access_token: string;
  refresh_token?: string;
  id_token?: string;
  client_info?: string;
}

export function issueUserTokens(
  minting: UserTokenMinting,
  request: UserTokenRequest,
): { readonly body: UserTokenSuccess; readonly refreshTokenIssued: boolean } {
  const { session, user } = request;
  const now = minting.clock.now();
  const issuedAt = Math.floor(now / 1000);
  const lifetime = minting.accessTokenLifetimeSeconds;
  const issuer = `https://sts.windows.net/${session.tenantId}/`;
  const claims: UserAccessTokenClaims = {
    aud: session.scopes.resource,
    iss: issuer,
    iat: issuedAt,
    nbf: issuedAt,
    exp: issuedAt + lifetime,
    acr: '1',
    amr: [...session.amr],
    appid: session.clientId,
    azp: session.clientId,
    appidacr: APPIDACR[request.clientAuthentication],
    idtyp: 'user',
    name: user.displayName,
    oid: user.objectId,
    preferred_username: user.username,
    scp: session.scopes.permissions.join(' '),
    sid: session.sessionId,
    sub: pairwiseSubject(user.objectId, session.clientId),
    tid: session.tenantId,
    unique_name: user.username,
    upn: user.username,
    uti: randomBytes(16).toString('base64url'),
    ver: '1.0',
    jti: randomUUID(),
  };
  const refreshToken = session.scopes.offlineAccess
    ? minting.refreshTokens.issue(session, user.sessionGeneration, now)
    : undefined;
  const body: UserTokenSuccess = {
    token_type: 'Bearer',
    scope: grantedScope(session.scopes, refreshToken !== undefined),
    expires_in: lifetime,
    ext_expires_in: lifetime,
    access_token: minting.signer.sign(claims),
  };
  if (refreshToken !== undefined) body.refresh_token = refreshToken;
  if (session.scopes.openid) body.id_token = minting.signer.sign(idTokenClaims(minting, request, issuedAt));
  if (request.withClientInfo) body.client_info = clientInfo(user.objectId, session.tenantId);
  return { body, refreshTokenIssued: refreshToken !== undefined };
}

function idTokenClaims(minting: UserTokenMinting, request: UserTokenRequest, issuedAt: number): IdTokenClaims {
  const { session, user } = request;
  const claims: IdTokenClaims = {
    aud: session.clientId,
    iss: `${minting.authorityUrl}/${session.tenantId}/v2.0`,
    iat: issuedAt,
    nbf: issuedAt,
    exp: issuedAt + ID_TOKEN_LIFETIME_SECONDS,
    name: user.displayName,
    oid: user.objectId,
    preferred_username: user.username,
    sub: pairwiseSubject(user.objectId, session.clientId),
    tid: session.tenantId,
    uti: randomBytes(16).toString('base64url'),
    ver: '2.0',
  };
  // Only when the authorization request had one: msal-node rejects an id_token
  // nonce it did not ask for.
  if (request.nonce !== undefined) claims.nonce = request.nonce;
  return claims;
}

/** Entra's `sub` is pairwise: the same user looks different to each application (43 base64url characters). */
function pairwiseSubject(objectId: string, clientId: string): string {
  return createHash('sha256').update(`${objectId}:${clientId.toLowerCase()}`).digest('base64url');
}
