// What every grant handler gets and returns: the sandbox's state, the parsed
// request, and an outcome the token endpoint turns into Entra's answer.
import type { AppTokenSuccess } from '../app-tokens.js';
import type { AuthorizationCodeStore } from '../authorization-codes.js';
import { authenticateClient } from '../client-authentication.js';
import type { ClientAuthenticationMethod, PresentedClient } from '../client-authentication.js';
import type { DeviceCodeStore } from '../device-codes.js';
import type { Directory, RegisteredApplication } from '../directory.js';
import { GENERAL_AUDIENCES } from '../directory.js';
import { entraErrors, isEntraError } from '../entra-errors.js';
import type { EntraError } from '../entra-errors.js';
import { nonEmpty } from '../http-io.js';
import type { TokenRequestStats } from '../stats.js';
import type { TokenResponseInfo } from '../types.js';
import { issueUserTokens } from '../user-tokens.js';
import type { UserTokenMinting, UserTokenSuccess } from '../user-tokens.js';
import type { UserSession } from '../user-sessions.js';
import type { UserDirectory, UserRecord } from '../users.js';

export interface GrantContext extends UserTokenMinting {
  readonly directory: Directory;
  readonly users: UserDirectory;
  readonly stats: TokenRequestStats;
  readonly codes: AuthorizationCodeStore;
  readonly deviceCodes: DeviceCodeStore;
}

export interface GrantRequest {
  /** As the client sent it (grants may have aliases). */
  readonly grantType: string;
  /** The `{tenant}` path segment, decoded. */
  readonly tenant: string;
  readonly params: URLSearchParams;
  /** The client's id and credential, already checked for conflicts. */
  readonly presented: PresentedClient & { readonly clientId: string };
  /** Token endpoint URLs this request may have been addressed to: what a client assertion's `aud` must be. */
  readonly assertionAudiences: readonly string[];
}

export type GrantOutcome =
  | { readonly kind: 'success'; readonly body: AppTokenSuccess | UserTokenSuccess; readonly info: TokenResponseInfo }
  | { readonly kind: 'error'; readonly error: EntraError };

export function fail(error: EntraError): GrantOutcome {
  return { kind: 'error', error };
}

/** The answer of every user grant: the user's tokens for `session`, and what the test hooks learn of it. */
export function userTokensGranted(
  context: GrantContext,
  request: GrantRequest,
  granted: { readonly grantType: string; readonly clientId: string; readonly session: UserSession; readonly user: UserRecord; readonly authentication: ClientAuthenticationMethod; readonly nonce?: string | undefined },
): GrantOutcome {
  const { session, user, authentication, nonce } = granted;
  const issued = issueUserTokens(context, {
    session,
    user,
    clientAuthentication: authentication,
    ...(nonce === undefined ? {} : { nonce }),
    withClientInfo: request.params.get('client_info') === '1',
  });
  return {
    kind: 'success',
    body: issued.body,
    info: { grantType: granted.grantType, clientId: granted.clientId, username: user.username, refreshTokenIssued: issued.refreshTokenIssued },
  };
}

export function isGeneralAudience(tenant: string): boolean {
  return GENERAL_AUDIENCES.has(tenant.toLowerCase());
}

/**
 * The registration the request's client id names. On `organizations` and
 * `common` it is the one in the tenant the grant is bound to (the user's),
 * else the first found.
 */
export function applicationFor(
  context: GrantContext,
  request: GrantRequest,
  boundTenantId?: string,
): RegisteredApplication | EntraError {
  const { tenant, presented } = request;
  const lookIn = isGeneralAudience(tenant) ? boundTenantId : tenant;
  const application =
    lookIn === undefined
      ? context.directory.findApplicationAnywhere(presented.clientId)
      : context.directory.findApplication(lookIn, presented.clientId);
  return application ?? entraErrors.applicationNotFound(presented.clientId, lookIn ?? tenant);
}

export function authenticate(
  context: GrantContext,
  request: GrantRequest,
  application: RegisteredApplication,
  grantType: string,
): ClientAuthenticationMethod | EntraError {
  return authenticateClient(application, request.presented, grantType, {
    audiences: request.assertionAudiences,
    now: context.clock.now(),
  });
}

/** Who presents a session-bound grant (an authorization code or a refresh token). */
export interface SessionClient {
  readonly user: UserRecord | undefined;
  readonly application: RegisteredApplication;
  readonly authentication: ClientAuthenticationMethod;
}

/**
 * The checks an authorization code and a refresh token share: the session's
 * user (counted in the stats), the application, its client authentication,
 * and that the grant was issued to this client in this tenant (else `notValid`).
 */
export function sessionClient(
  context: GrantContext,
  request: GrantRequest,
  session: UserSession,
  grantType: string,
  notValid: () => EntraError,
): SessionClient | EntraError {
  const user = context.users.findByObjectId(session.userObjectId);
  if (user !== undefined) context.stats.recordUser(user.username);
  const application = applicationFor(context, request, session.tenantId);
  if (isEntraError(application)) return application;
  const authentication = authenticate(context, request, application, grantType);
  if (isEntraError(authentication)) return authentication;
  if (session.clientId.toLowerCase() !== request.presented.clientId.toLowerCase() || !tenantMatches(context, request.tenant, session.tenantId)) {
    return notValid();
  }
  return { user, application, authentication };
}

/** A tenant-specific endpoint only redeems what was issued in that tenant. */
export function tenantMatches(context: GrantContext, tenant: string, boundTenantId: string): boolean {
  return isGeneralAudience(tenant) || context.directory.tenantId(tenant)?.toLowerCase() === boundTenantId.toLowerCase();
}

export function param(params: URLSearchParams, name: string): string | undefined {
  return nonEmpty(params.get(name));
}
