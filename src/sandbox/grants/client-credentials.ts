// grant_type=client_credentials: an app-only token for `<resource>/.default`,
// the client authenticated by secret or certificate, never on common/organizations.
import { issueAppToken } from '../app-tokens.js';
import { entraErrors, isEntraError } from '../entra-errors.js';
import type { EntraError } from '../entra-errors.js';
import { applicationFor, authenticate, fail, isGeneralAudience, param } from './grant-context.js';
import type { GrantContext, GrantOutcome, GrantRequest } from './grant-context.js';

export const CLIENT_CREDENTIALS = 'client_credentials';

export function clientCredentialsGrant(context: GrantContext, request: GrantRequest): GrantOutcome {
  const scope = param(request.params, 'scope');
  if (scope === undefined) return fail(entraErrors.missingParameter('scope'));
  const application = applicationFor(context, request);
  if (isEntraError(application)) return fail(application);
  const authentication = authenticate(context, request, application, CLIENT_CREDENTIALS);
  if (isEntraError(authentication)) return fail(authentication);
  const resource = resourceOf(scope);
  if (isEntraError(resource)) return fail(resource);
  return {
    kind: 'success',
    body: issueAppToken(context, application, resource, authentication, request.params.get('client_info') === '1'),
    info: { grantType: CLIENT_CREDENTIALS, clientId: application.clientId },
  };
}

/** Checked before the client is: an app token needs a tenant. */
export function clientCredentialsAudienceError(tenant: string): EntraError | undefined {
  return isGeneralAudience(tenant) ? entraErrors.noTenantInformation() : undefined;
}

/**
 * Client-credentials scopes must be `<resource>/.default`; several values are
 * accepted only when they name the same resource, since a token has one `aud`.
 */
function resourceOf(scope: string): string | EntraError {
  const values = scope.split(/\s+/).filter((value) => value.length > 0);
  const resources = new Set<string>();
  for (const value of values) {
    if (!value.endsWith('/.default')) return entraErrors.scopeNotDefault(value);
    const resource = value.slice(0, -'/.default'.length);
    if (resource.length === 0) return entraErrors.scopeInvalid(value);
    resources.add(resource);
  }
  const [only, ...others] = resources;
  if (only === undefined || others.length > 0) return entraErrors.scopeInvalid(values.join(' '));
  return only;
}
