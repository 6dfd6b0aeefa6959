// GET /{tenant}/oauth2/v2.0/authorize: the browser leg of the authorization
// code flow, without a UI. It validates the request as Entra does, signs in
// login_hint's user (else the `signInAs` user, else the tenant's only user)
// and redirects with a code; problems before the redirect URI is trusted are
// error pages, later ones go back to the client as `error=` redirects.
import { randomUUID } from 'node:crypto';
import type { AuthorizationCodeStore, CodeChallengeMethod } from './authorization-codes.js';
import type { Directory, RegisteredApplication } from './directory.js';
import { GENERAL_AUDIENCES } from './directory.js';
import { entraErrors, isEntraError } from './entra-errors.js';
import type { EntraError } from './entra-errors.js';
import { nonEmpty } from './http-io.js';
import { parseUserScopes } from './scopes.js';
import type { TokenRequestStats } from './stats.js';
import type { SandboxClock } from './types.js';
import { userGrantErrors } from './user-grant-errors.js';
import type { UserDirectory, UserRecord } from './users.js';

export interface AuthorizeContext {
  readonly directory: Directory;
  readonly users: UserDirectory;
  readonly stats: TokenRequestStats;
  readonly clock: SandboxClock;
  readonly codes: AuthorizationCodeStore;
  /** Set by `Sandbox.signInAs`: the browser's signed-in user. */
  readonly signedInUsername: () => string | undefined;
}

export type ResponseMode = 'query' | 'fragment';

export type AuthorizeOutcome =
  /** Entra's error page: the redirect URI is not (yet) trusted. */
  | { readonly kind: 'page'; readonly error: EntraError }
  | {
      readonly kind: 'redirect';
      readonly redirectUri: string;
      readonly responseMode: ResponseMode;
      /** `code`, `state`, `session_state` on success. */
      readonly params: Readonly<Record<string, string>>;
    }
  | {
      readonly kind: 'redirect-error';
      readonly redirectUri: string;
      readonly responseMode: ResponseMode;
      readonly state: string | undefined;
      readonly error: EntraError;
    };

const PKCE_CHALLENGE = /^[A-Za-z0-9\-._~]{43,128}$/;
const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]']);

export function handleAuthorizeRequest(context: AuthorizeContext, tenant: string, query: URLSearchParams): AuthorizeOutcome {
  context.stats.recordAuthorization();
  const general = GENERAL_AUDIENCES.has(tenant.toLowerCase());
  if (!general && !context.directory.hasTenant(tenant)) return page(entraErrors.tenantNotFound(tenant, 'invalid_tenant'));
  const clientId = nonEmpty(query.get('client_id'));
  if (clientId === undefined) return page(entraErrors.missingParameter('client_id'));
  const found = general ? context.directory.findApplicationAnywhere(clientId) : context.directory.findApplication(tenant, clientId);
  if (found === undefined) return page(entraErrors.applicationNotFound(clientId, tenant));
  const redirectUri = nonEmpty(query.get('redirect_uri'));
  if (redirectUri === undefined) return page(entraErrors.missingParameter('redirect_uri'));
  if (!isRegisteredRedirect(found, redirectUri)) return page(userGrantErrors.redirectUriMismatch(redirectUri, found.clientId));
  const responseMode = query.get('response_mode') ?? 'query';
  if (responseMode !== 'query' && responseMode !== 'fragment') return page(userGrantErrors.unsupportedResponseMode(responseMode));

  // From here on the redirect URI is registered: errors go back to the client.
  const state = nonEmpty(query.get('state'));
  const back = (error: EntraError): AuthorizeOutcome => ({ kind: 'redirect-error', redirectUri, responseMode, state, error });
  const responseType = nonEmpty(query.get('response_type'));
  if (responseType === undefined) return back(entraErrors.missingParameter('response_type'));
  if (responseType !== 'code') return back(userGrantErrors.unsupportedResponseType(responseType));
  const scope = nonEmpty(query.get('scope'));
  if (scope === undefined) return back(entraErrors.missingParameter('scope'));
  const scopes = parseUserScopes(scope);
  if (isEntraError(scopes)) return back(scopes);
  const challenge = pkceChallenge(query, found);
  if (isEntraError(challenge)) return back(challenge);

  const user = signedInUser(context, query, general ? undefined : context.directory.tenantId(tenant));
  if (user === 'login_required') return back(userGrantErrors.loginRequired());
  if (isEntraError(user)) return page(user);
  // On organizations/common the app that counts is the one in the user's tenant.
  const application = general ? context.directory.findApplication(user.tenantId, clientId) : found;
  if (application === undefined) return page(entraErrors.applicationNotFound(clientId, user.tenantId));
  if (!isRegisteredRedirect(application, redirectUri)) return page(userGrantErrors.redirectUriMismatch(redirectUri, clientId));

  const sessionId = randomUUID();
  const code = context.codes.issue({
    session: {
      clientId: application.clientId,
      tenantId: user.tenantId,
      userObjectId: user.objectId,
      scopes,
      // An interactive sign-in satisfies MFA; managed and federated users give a password.
      amr: user.kind === 'mfa' ? ['pwd', 'mfa'] : ['pwd'],
      sessionId,
    },
    redirectUri,
    codeChallenge: challenge?.challenge,
    codeChallengeMethod: challenge?.method ?? 'plain',
    nonce: nonEmpty(query.get('nonce')),
    issuedAt: context.clock.now(),
  });
  const params: Record<string, string> = { code };
  if (state !== undefined) params['state'] = state;
  params['session_state'] = sessionId;
  return { kind: 'redirect', redirectUri, responseMode, params };
}

/** Where the browser goes: the redirect URI with the answer in its query (keeping any it had) or fragment. */
export function redirectLocation(redirectUri: string, responseMode: ResponseMode, params: Readonly<Record<string, string>>): string {
  const url = new URL(redirectUri);
  if (responseMode === 'fragment') {
    url.hash = new URLSearchParams(params).toString();
  } else {
    for (const [name, value] of Object.entries(params)) url.searchParams.append(name, value);
  }
  return url.toString();
}

/**
 * Exact match, except that Entra lets public (desktop) clients use a loopback
 * redirect URI with any port, since their listener takes whatever port is free.
 */
function isRegisteredRedirect(application: RegisteredApplication, redirectUri: string): boolean {
  if (application.redirectUris.includes(redirectUri)) return true;
  if (!application.publicClient || !URL.canParse(redirectUri)) return false;
  const withoutPort = (uri: string): string | undefined => {
    const url = new URL(uri);
    if (url.protocol !== 'http:' || !LOOPBACK_HOSTS.has(url.hostname)) return undefined;
    url.port = '';
    return url.toString();
  };
  const given = withoutPort(redirectUri);
  return given !== undefined && application.redirectUris.some((registered) => withoutPort(registered) === given);
}

/** Entra defaults the method to `plain` when only a challenge is sent; public clients must send one (sandbox rule). */
function pkceChallenge(
  query: URLSearchParams,
  application: RegisteredApplication,
): { challenge: string; method: CodeChallengeMethod } | undefined | EntraError {
  const challenge = nonEmpty(query.get('code_challenge'));
  const method = nonEmpty(query.get('code_challenge_method')) ?? 'plain';
  if (challenge === undefined) return application.publicClient ? userGrantErrors.pkceRequired() : undefined;
  if (method !== 'S256' && method !== 'plain') return userGrantErrors.codeChallengeInvalid('method', method);
  if (!PKCE_CHALLENGE.test(challenge)) return userGrantErrors.codeChallengeInvalid('size', method);
  return { challenge, method };
}

function signedInUser(
  context: AuthorizeContext,
  query: URLSearchParams,
  tenantId: string | undefined,
): UserRecord | EntraError | 'login_required' {
  const hint = nonEmpty(query.get('login_hint'));
  const username = hint ?? context.signedInUsername();
  if (username === undefined) {
    const only = tenantId === undefined ? undefined : context.users.onlyUserOf(tenantId);
    return only ?? 'login_required';
  }
  const user = context.users.find(username);
  if (user === undefined || (tenantId !== undefined && user.tenantId !== tenantId)) {
    return userGrantErrors.userNotFound(tenantId ?? 'organizations');
  }
  return user;
}

function page(error: EntraError): AuthorizeOutcome {
  return { kind: 'page', error };
}
