// grant_type=authorization_code: redeems a code from the authorize endpoint,
// once, within ten minutes, by the client and redirect URI it was issued to,
// with the PKCE verifier when a challenge was given.
import { AUTHORIZATION_CODE_LIFETIME_MS, verifierMatches } from '../authorization-codes.js';
import { entraErrors, isEntraError } from '../entra-errors.js';
import { parseUserScopes } from '../scopes.js';
import { userGrantErrors } from '../user-grant-errors.js';
import { fail, param, sessionClient, userTokensGranted } from './grant-context.js';
import type { GrantContext, GrantOutcome, GrantRequest } from './grant-context.js';

export const AUTHORIZATION_CODE = 'authorization_code';

export function authorizationCodeGrant(context: GrantContext, request: GrantRequest): GrantOutcome {
  const { params } = request;
  const code = param(params, 'code');
  if (code === undefined) return fail(entraErrors.missingParameter('code'));
  const redirectUri = param(params, 'redirect_uri');
  if (redirectUri === undefined) return fail(entraErrors.missingParameter('redirect_uri'));

  const record = context.codes.find(code);
  if (record === undefined) return fail(userGrantErrors.grantMalformed());
  const { session } = record;
  const checked = sessionClient(context, request, session, AUTHORIZATION_CODE, () => userGrantErrors.codeNotValid());
  if (isEntraError(checked)) return fail(checked);
  const { user, application, authentication } = checked;
  if (record.redeemed) return fail(userGrantErrors.codeRedeemed());
  if (context.clock.now() >= record.issuedAt + AUTHORIZATION_CODE_LIFETIME_MS) return fail(userGrantErrors.codeExpired());
  if (redirectUri !== record.redirectUri) return fail(userGrantErrors.replyAddressMismatch(redirectUri, record.redirectUri));
  if (!verifierMatches(record, param(params, 'code_verifier'))) return fail(userGrantErrors.codeVerifierMismatch());
  if (user === undefined) return fail(userGrantErrors.grantMalformed());

  // The token request may narrow or change the scopes (another resource the
  // user consented to); without `scope` the authorization request's apply.
  const requestedScope = param(params, 'scope');
  const scopes = requestedScope === undefined ? session.scopes : parseUserScopes(requestedScope);
  if (isEntraError(scopes)) return fail(scopes);

  record.redeemed = true;
  return userTokensGranted(context, request, {
    grantType: AUTHORIZATION_CODE,
    clientId: application.clientId,
    session: { ...session, scopes },
    nonce: record.nonce,
    user,
    authentication,
  });
}
