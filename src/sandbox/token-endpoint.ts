// POST /{tenant}/oauth2/v2.0/token: counts the request, applies an injected
// failure if one is queued, runs the checks every grant shares in Entra's
// order, then hands over to the grant's own module.
import { namedClientId, readPresentedClient } from './client-authentication.js';
import { GENERAL_AUDIENCES } from './directory.js';
import { entraErrors, isEntraError } from './entra-errors.js';
import type { EntraError } from './entra-errors.js';
import { retryAfterHeader } from './failures.js';
import type { FailureQueue } from './failures.js';
import { nonEmpty } from './http-io.js';
import { AUTHORIZATION_CODE, authorizationCodeGrant } from './grants/authorization-code.js';
import { CLIENT_CREDENTIALS, clientCredentialsAudienceError, clientCredentialsGrant } from './grants/client-credentials.js';
import { DEVICE_CODE, DEVICE_CODE_SHORT, deviceCodeGrant } from './grants/device-code.js';
import type { GrantContext, GrantOutcome, GrantRequest } from './grants/grant-context.js';
import { PASSWORD, passwordAudienceError, passwordGrant } from './grants/password.js';
import { REFRESH_TOKEN, refreshTokenGrant } from './grants/refresh-token.js';
import type { InjectedFailure } from './types.js';

export interface TokenEndpointContext extends GrantContext {
  readonly failures: FailureQueue<InjectedFailure>;
  /** `host:port` names the sandbox answers to (localhost, 127.0.0.1, extra hostnames). */
  readonly hosts: readonly string[];
}

export interface TokenRequest {
  /** The `{tenant}` path segment, decoded. */
  readonly tenant: string;
  /** The form body; empty when the body was not form-encoded. */
  readonly params: URLSearchParams;
  /** The raw `Authorization` header, if any (client_secret_basic). */
  readonly authorization: string | undefined;
  /** The `Host` header: the name a client (or its proxy) addressed. */
  readonly host: string | undefined;
}

export type TokenOutcome =
  | Extract<GrantOutcome, { kind: 'success' }>
  | { readonly kind: 'error'; readonly error: EntraError; readonly headers?: Record<string, string> | undefined };

interface GrantHandler {
  /** Audience rules checked before the client is read (Entra's order). */
  readonly audienceError?: (tenant: string) => EntraError | undefined;
  readonly handle: (context: GrantContext, request: GrantRequest) => GrantOutcome;
}

const GRANTS: ReadonlyMap<string, GrantHandler> = new Map<string, GrantHandler>([
  [CLIENT_CREDENTIALS, { audienceError: clientCredentialsAudienceError, handle: clientCredentialsGrant }],
  [PASSWORD, { audienceError: passwordAudienceError, handle: passwordGrant }],
  [AUTHORIZATION_CODE, { handle: authorizationCodeGrant }],
  [REFRESH_TOKEN, { handle: refreshTokenGrant }],
  [DEVICE_CODE, { handle: deviceCodeGrant }],
  [DEVICE_CODE_SHORT, { handle: deviceCodeGrant }],
]);

export function handleTokenRequest(context: TokenEndpointContext, request: TokenRequest): TokenOutcome {
  const { params, tenant } = request;
  const grantType = nonEmpty(params.get('grant_type'));
  context.stats.record(namedClientId(params, request.authorization), grantType);

  const injected = context.failures.take();
  if (injected !== undefined) return injectedOutcome(injected);

  if (!GENERAL_AUDIENCES.has(tenant.toLowerCase()) && !context.directory.hasTenant(tenant)) {
    return fail(entraErrors.tenantNotFound(tenant));
  }
  if (grantType === undefined) return fail(entraErrors.missingParameter('grant_type'));
  const grant = GRANTS.get(grantType);
  if (grant === undefined) return fail(entraErrors.unsupportedGrantType(grantType));
  const audienceError = grant.audienceError?.(tenant);
  if (audienceError !== undefined) return fail(audienceError);

  const presented = readPresentedClient(params, request.authorization);
  if (isEntraError(presented)) return fail(presented);
  const { clientId } = presented;
  if (clientId === undefined) return fail(entraErrors.missingParameter('client_id'));
  return grant.handle(context, {
    grantType,
    tenant,
    params,
    presented: { ...presented, clientId },
    assertionAudiences: assertionAudiences(context, request),
  });
}

/**
 * A client assertion's `aud` is the token endpoint URL it posted to: under the
 * name it addressed (Host) or any other name the sandbox answers to, with the
 * tenant segment as sent or as registered.
 */
function assertionAudiences(context: TokenEndpointContext, request: TokenRequest): string[] {
  const hosts = new Set([...(request.host === undefined ? [] : [request.host]), ...context.hosts]);
  const tenants = new Set([request.tenant, context.directory.tenantId(request.tenant) ?? request.tenant]);
  return [...hosts].flatMap((host) => [...tenants].map((tenant) => `https://${host}/${tenant}/oauth2/v2.0/token`));
}

function injectedOutcome(failure: InjectedFailure): TokenOutcome {
  return {
    kind: 'error',
    error: {
      status: failure.status,
      error: failure.error,
      aadsts: failure.aadsts,
      message: failure.description ?? 'The sandbox was told to fail this request (failNext).',
    },
    headers: retryAfterHeader(failure),
  };
}

function fail(error: EntraError): TokenOutcome {
  return { kind: 'error', error };
}
