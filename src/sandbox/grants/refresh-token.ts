// grant_type=refresh_token with strict rotation: every use answers with a new
// refresh token and kills the one presented. Revoked sessions (AADSTS50173),
// inactive tokens (AADSTS700082) and replays (AADSTS70008) are refused.
import { entraErrors, isEntraError } from '../entra-errors.js';
import { REFRESH_TOKEN_LIFETIME_MS } from '../refresh-tokens.js';
import { parseUserScopes } from '../scopes.js';
import { userGrantErrors } from '../user-grant-errors.js';
import { fail, param, sessionClient, userTokensGranted } from './grant-context.js';
import type { GrantContext, GrantOutcome, GrantRequest } from './grant-context.js';

export const REFRESH_TOKEN = 'refresh_token';

export function refreshTokenGrant(context: GrantContext, request: GrantRequest): GrantOutcome {
  const { params } = request;
  const token = param(params, 'refresh_token');
  if (token === undefined) return fail(entraErrors.missingParameter('refresh_token'));

  const record = context.refreshTokens.find(token);
  if (record === undefined) return fail(userGrantErrors.grantMalformed());
  const { session } = record;
  const checked = sessionClient(context, request, session, REFRESH_TOKEN, () => userGrantErrors.refreshTokenNotValid());
  if (isEntraError(checked)) return fail(checked);
  const { user, application, authentication } = checked;
  if (user === undefined) return fail(userGrantErrors.grantMalformed());
  const now = context.clock.now();
  if (record.sessionGeneration !== user.sessionGeneration) {
    return fail(userGrantErrors.refreshTokenRevoked(record.issuedAt, user.tokensValidFrom));
  }
  if (record.state === 'expired' || now >= record.issuedAt + REFRESH_TOKEN_LIFETIME_MS) {
    return fail(userGrantErrors.refreshTokenInactive(record.issuedAt, now));
  }
  if (record.state === 'redeemed') return fail(userGrantErrors.refreshTokenReplayed());

  // A refresh token serves any resource of the session (Entra's multi-resource
  // refresh tokens); the new one keeps offline access whatever was asked.
  const requestedScope = param(params, 'scope');
  const parsed = requestedScope === undefined ? session.scopes : parseUserScopes(requestedScope);
  if (isEntraError(parsed)) return fail(parsed);

  record.state = 'redeemed';
  return userTokensGranted(context, request, {
    grantType: REFRESH_TOKEN,
    clientId: application.clientId,
    session: { ...session, scopes: { ...parsed, offlineAccess: true } },
    user,
    authentication,
  });
}
