// App-only access tokens (client credentials), shaped like Entra's v1.0 app
// tokens for Graph and Exchange Online.
import { randomBytes, randomUUID } from 'node:crypto';
import { rolesFor } from './application-permissions.js';
import { APPIDACR } from './client-authentication.js';
import type { ClientAuthenticationMethod } from './client-authentication.js';
import type { RegisteredApplication } from './directory.js';
import type { TokenSigner } from './jwt.js';
import type { AppAccessTokenClaims, SandboxClock } from './types.js';

export interface AppTokenSuccess {
  token_type: 'Bearer';
  expires_in: number;
  ext_expires_in: number;
  access_token: string;
  client_info?: string;
}

export interface TokenMinting {
  readonly signer: TokenSigner;
  readonly clock: SandboxClock;
  readonly accessTokenLifetimeSeconds: number;
}

export function issueAppToken(
  minting: TokenMinting,
  application: RegisteredApplication,
  resource: string,
  authentication: ClientAuthenticationMethod,
  withClientInfo: boolean,
): AppTokenSuccess {
  const issuedAt = Math.floor(minting.clock.now() / 1000);
  const lifetime = minting.accessTokenLifetimeSeconds;
  const issuer = `https://sts.windows.net/${application.tenantId}/`;
  const claims: AppAccessTokenClaims = {
    aud: resource,
    iss: issuer,
    iat: issuedAt,
    nbf: issuedAt,
    exp: issuedAt + lifetime,
    appid: application.clientId,
    azp: application.clientId,
    appidacr: APPIDACR[authentication],
    idp: issuer,
    idtyp: 'app',
    tid: application.tenantId,
    oid: application.objectId,
    sub: application.objectId,
    // What an admin consented for this resource (none by default), as Entra puts app roles in `roles`.
    roles: rolesFor(application.applicationPermissions, resource),
    ver: '1.0',
    // Entra's uti is 16 random bytes; with jti it makes every token unique,
    // even two issued in the same second to the same app.
    uti: randomBytes(16).toString('base64url'),
    jti: randomUUID(),
  };
  const body: AppTokenSuccess = {
    token_type: 'Bearer',
    expires_in: lifetime,
    ext_expires_in: lifetime,
    access_token: minting.signer.sign(claims),
  };
  if (withClientInfo) body.client_info = clientInfo(application.objectId, application.tenantId);
  return body;
}

/** base64url `{"uid","utid"}`: msal-node builds its account ids (uid.utid) from it. */
export function clientInfo(objectId: string, tenantId: string): string {
  return Buffer.from(JSON.stringify({ uid: objectId, utid: tenantId })).toString('base64url');
}
