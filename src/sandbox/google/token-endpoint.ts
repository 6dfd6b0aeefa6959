// POST /token: one handler per grant Google supports for mail. Refresh
// tokens are issued for offline access (and always in the device flow) and
// never rotated: a refresh answer carries no new refresh token.
import { createHash } from 'node:crypto';
import { authenticateClient, credentialsOf, isGoogleError } from './client-authentication.js';
import type { GoogleContext, JsonAnswer } from './context.js';
import { googleErrors } from './google-errors.js';
import type { GoogleError } from './google-errors.js';
import type { RefreshGrant } from './issued.js';
import { jwtBearerToken, verifyAssertion } from './jwt-bearer.js';
import type { GoogleClientRegistration } from './types.js';

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

export interface TokenRequest {
  readonly params: URLSearchParams;
  readonly basic: { clientId: string; secret: string } | undefined;
}

export function handleToken(context: GoogleContext, request: TokenRequest): JsonAnswer {
  const { params } = request;
  const grantType = params.get('grant_type');
  if (grantType === null) return fail(googleErrors.missingParameter('grant_type'));
  if (grantType === JWT_BEARER_GRANT) {
    const assertion = verifyAssertion(context, params.get('assertion'));
    return isGoogleError(assertion) ? fail(assertion) : jwtBearerToken(context, assertion);
  }
  if (grantType !== 'authorization_code' && grantType !== 'refresh_token' && grantType !== DEVICE_CODE_GRANT) {
    return fail(googleErrors.unsupportedGrantType(grantType));
  }
  const client = authenticateClient(context.directory, credentialsOf(params, request.basic));
  if (isGoogleError(client)) return fail(client);
  if (grantType === 'authorization_code') return authorizationCode(context, client, params);
  if (grantType === 'refresh_token') return refresh(context, client, params);
  return deviceCode(context, client, params);
}

function authorizationCode(context: GoogleContext, client: GoogleClientRegistration, params: URLSearchParams): JsonAnswer {
  const value = params.get('code');
  if (value === null) return fail(googleErrors.missingParameter('code'));
  const code = context.issued.redeemCode(value);
  if (code === undefined) return fail(googleErrors.malformedCode());
  if (code.clientId !== client.clientId) return fail(googleErrors.badCode());
  if (params.get('redirect_uri') !== code.redirectUri) return fail(googleErrors.redirectUriMismatch());
  if (code.codeChallenge !== undefined) {
    const verifier = params.get('code_verifier');
    if (verifier === null) return fail(googleErrors.missingVerifier());
    const challenge = code.codeChallengeMethod === 'S256' ? createHash('sha256').update(verifier).digest('base64url') : verifier;
    if (challenge !== code.codeChallenge) return fail(googleErrors.wrongVerifier());
  }
  const refreshToken = code.offline ? issueRefreshToken(context, { clientId: client.clientId, user: code.user, scope: code.scope }) : undefined;
  return tokens(context, { clientId: client.clientId, user: code.user, scope: code.scope, grantType: 'authorization_code', refreshToken, refreshGrant: refreshToken?.grant });
}

function refresh(context: GoogleContext, client: GoogleClientRegistration, params: URLSearchParams): JsonAnswer {
  const value = params.get('refresh_token');
  if (value === null) return fail(googleErrors.missingParameter('refresh_token'));
  const grant = context.issued.refreshGrant(value);
  if (grant === undefined) return fail(googleErrors.revoked());
  if (grant.clientId !== client.clientId) return fail(googleErrors.unauthorizedClient());
  return tokens(context, { clientId: client.clientId, user: grant.user, scope: grant.scope, grantType: 'refresh_token', refreshToken: undefined, refreshGrant: grant });
}

function deviceCode(context: GoogleContext, client: GoogleClientRegistration, params: URLSearchParams): JsonAnswer {
  const value = params.get('device_code');
  if (value === null) return fail(googleErrors.missingParameter('device_code'));
  const code = context.issued.deviceCode(value);
  if (code === undefined || code.clientId !== client.clientId) return fail(googleErrors.malformedCode());
  if (code.expiresAt <= context.clock.now()) return fail(googleErrors.deviceCodeExpired());
  if (code.user === undefined) return fail(googleErrors.authorizationPending());
  context.issued.consumeDeviceCode(value);
  const refreshToken = issueRefreshToken(context, { clientId: client.clientId, user: code.user, scope: code.scope });
  return tokens(context, { clientId: client.clientId, user: code.user, scope: code.scope, grantType: 'device_code', refreshToken, refreshGrant: refreshToken.grant });
}

interface Issue {
  readonly clientId: string;
  readonly user: string;
  readonly scope: string;
  readonly grantType: string;
  /** A refresh token issued with this answer. */
  readonly refreshToken: { readonly value: string } | undefined;
  /** The grant behind the refresh token in play (issued now, or redeemed): its time-based end is told. */
  readonly refreshGrant: RefreshGrant | undefined;
}

/** A refresh token, with the time-based end the sandbox was asked to give its grants. */
function issueRefreshToken(context: GoogleContext, grant: RefreshGrant): { readonly value: string; readonly grant: RefreshGrant } {
  const seconds = context.refreshTokenLifetimeSeconds;
  const timed: RefreshGrant = seconds === undefined ? grant : { ...grant, expiresAt: context.clock.now() + seconds * 1000 };
  return { value: context.issued.issueRefreshToken(timed), grant: timed };
}

function tokens(context: GoogleContext, issue: Issue): JsonAnswer {
  const lifetime = context.accessTokenLifetimeSeconds;
  const accessToken = context.issued.issueAccessToken({ sub: issue.user, azp: issue.clientId, scope: issue.scope, grantType: issue.grantType }, lifetime);
  return {
    status: 200,
    body: {
      access_token: accessToken,
      expires_in: lifetime,
      ...(issue.refreshToken === undefined ? {} : { refresh_token: issue.refreshToken.value }),
      // Google: "The remaining lifetime of the refresh token in seconds. This value is only set when the user grants time-based access."
      ...(issue.refreshGrant?.expiresAt === undefined ? {} : { refresh_token_expires_in: Math.max(0, Math.floor((issue.refreshGrant.expiresAt - context.clock.now()) / 1000)) }),
      scope: issue.scope,
      token_type: 'Bearer',
    },
  };
}

function fail(error: GoogleError): JsonAnswer {
  return { status: error.status, body: error.body };
}
