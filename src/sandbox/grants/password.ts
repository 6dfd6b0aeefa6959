// grant_type=password (ROPC): the user's own password, checked the way Entra
// does for managed users; federated users fail like on Entra (AADSTS50126) and
// MFA users are refused with AADSTS50076 since no second factor can be given.
import { randomUUID } from 'node:crypto';
import { entraErrors, isEntraError } from '../entra-errors.js';
import type { EntraError } from '../entra-errors.js';
import { parseUserScopes } from '../scopes.js';
import { userGrantErrors } from '../user-grant-errors.js';
import { passwordMatches } from '../users.js';
import { applicationFor, authenticate, fail, isGeneralAudience, param, userTokensGranted } from './grant-context.js';
import type { GrantContext, GrantOutcome, GrantRequest } from './grant-context.js';

export const PASSWORD = 'password';

/** `organizations` finds the user in any tenant; `common` and `consumers` cannot take passwords. */
export function passwordAudienceError(tenant: string): EntraError | undefined {
  const audience = tenant.toLowerCase();
  return audience === 'common' || audience === 'consumers' ? userGrantErrors.passwordGrantOnGeneralAudience() : undefined;
}

export function passwordGrant(context: GrantContext, request: GrantRequest): GrantOutcome {
  const { params, tenant } = request;
  const username = param(params, 'username');
  if (username === undefined) return fail(entraErrors.missingParameter('username'));
  const password = param(params, 'password');
  if (password === undefined) return fail(entraErrors.missingParameter('password'));
  const scope = param(params, 'scope');
  if (scope === undefined) return fail(entraErrors.missingParameter('scope'));
  context.stats.recordUser(username);

  const user = context.users.find(username);
  const tenantId = isGeneralAudience(tenant) ? user?.tenantId : context.directory.tenantId(tenant);
  if (tenantId === undefined) return fail(userGrantErrors.userNotFound(tenant));
  const application = applicationFor(context, request, tenantId);
  if (isEntraError(application)) return fail(application);
  const authentication = authenticate(context, request, application, PASSWORD);
  if (isEntraError(authentication)) return fail(authentication);
  const scopes = parseUserScopes(scope);
  if (isEntraError(scopes)) return fail(scopes);

  if (user === undefined || user.tenantId !== tenantId) return fail(userGrantErrors.userNotFound(tenantId));
  if (user.kind === 'federated' || !passwordMatches(user, password)) return fail(userGrantErrors.invalidCredentials());
  if (user.kind === 'mfa') return fail(userGrantErrors.mfaRequired(scopes.resource));

  const session = {
    clientId: application.clientId,
    tenantId,
    userObjectId: user.objectId,
    scopes,
    amr: ['pwd'],
    sessionId: randomUUID(),
  };
  return userTokensGranted(context, request, {
    grantType: PASSWORD,
    clientId: application.clientId,
    session,
    user,
    authentication,
  });
}
