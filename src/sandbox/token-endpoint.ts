// POST /{tenant}/oauth2/v2.0/token: counts the request, applies an injected
// failure if one is queued, then runs Entra's checks in Entra's order and
// issues an app-only access token (client credentials with a secret).
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Directory, RegisteredApplication } from './directory.js';
import { GENERAL_AUDIENCES } from './directory.js';
import { entraErrors } from './entra-errors.js';
import type { EntraError } from './entra-errors.js';
import type { FailureQueue } from './failures.js';
import type { TokenSigner } from './jwt.js';
import type { TokenRequestStats } from './stats.js';
import type { AccessTokenClaims, InjectedFailure, SandboxClock } from './types.js';

export interface TokenEndpointContext {
  readonly directory: Directory;
  readonly signer: TokenSigner;
  readonly stats: TokenRequestStats;
  readonly failures: FailureQueue;
  readonly clock: SandboxClock;
  readonly accessTokenLifetimeSeconds: number;
}

export interface TokenRequest {
  /** The `{tenant}` path segment, decoded. */
  readonly tenant: string;
  /** The form body; empty when the body was not form-encoded. */
  readonly params: URLSearchParams;
  /** The raw `Authorization` header, if any (client_secret_basic). */
  readonly authorization: string | undefined;
}

export interface TokenSuccess {
  token_type: 'Bearer';
  expires_in: number;
  ext_expires_in: number;
  access_token: string;
  client_info?: string;
}

export type TokenOutcome =
  | { readonly kind: 'success'; readonly body: TokenSuccess }
  | { readonly kind: 'error'; readonly error: EntraError; readonly retryAfterSeconds?: number | undefined };

interface ClientCredentials {
  readonly clientId: string | undefined;
  readonly secret: string | undefined;
  readonly assertion: string | undefined;
}

const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export function handleTokenRequest(context: TokenEndpointContext, request: TokenRequest): TokenOutcome {
  const { params } = request;
  const basic = parseBasicAuthorization(request.authorization);
  const grantType = nonEmpty(params.get('grant_type'));
  const basicClientId = typeof basic === 'object' ? basic.clientId : undefined;
  context.stats.record(nonEmpty(params.get('client_id')) ?? basicClientId, grantType);

  const injected = context.failures.take();
  if (injected !== undefined) return injectedOutcome(injected);

  const tenant = request.tenant;
  const generalAudience = GENERAL_AUDIENCES.has(tenant.toLowerCase());
  if (!generalAudience && !context.directory.hasTenant(tenant)) return fail(entraErrors.tenantNotFound(tenant));
  if (grantType === undefined) return fail(entraErrors.missingParameter('grant_type'));
  if (grantType !== 'client_credentials') return fail(entraErrors.unsupportedGrantType(grantType));
  if (generalAudience) return fail(entraErrors.noTenantInformation());

  if (basic === 'malformed') return fail(entraErrors.conflictingClientAuthentication());
  const credentials = clientCredentials(params, basic);
  if (credentials === 'conflict') return fail(entraErrors.conflictingClientAuthentication());
  if (credentials.clientId === undefined) return fail(entraErrors.missingParameter('client_id'));
  const scope = nonEmpty(params.get('scope'));
  if (scope === undefined) return fail(entraErrors.missingParameter('scope'));

  const application = context.directory.findApplication(tenant, credentials.clientId);
  if (application === undefined) return fail(entraErrors.applicationNotFound(credentials.clientId, tenant));
  const authenticationError = authenticate(application, credentials, grantType);
  if (authenticationError !== undefined) return fail(authenticationError);

  const resource = resourceOf(scope);
  if (typeof resource !== 'string') return fail(resource);

  return { kind: 'success', body: issueAppToken(context, application, resource, params.get('client_info') === '1') };
}

/** Verifies a token this sandbox issued: signature, then expiry against the sandbox clock. */
export function verifyAppToken(signer: TokenSigner, clock: SandboxClock, token: string): AccessTokenClaims | undefined {
  const payload = signer.verify(token);
  if (payload === undefined) return undefined;
  const { exp, nbf, ver, idtyp } = payload;
  if (typeof exp !== 'number' || typeof nbf !== 'number' || ver !== '1.0' || idtyp !== 'app') return undefined;
  const nowSeconds = clock.now() / 1000;
  if (nowSeconds >= exp || nowSeconds < nbf) return undefined;
  return payload as unknown as AccessTokenClaims;
}

function issueAppToken(
  context: TokenEndpointContext,
  application: RegisteredApplication,
  resource: string,
  withClientInfo: boolean,
): TokenSuccess {
  const issuedAt = Math.floor(context.clock.now() / 1000);
  const lifetime = context.accessTokenLifetimeSeconds;
  const issuer = `https://sts.windows.net/${application.tenantId}/`;
  const claims: AccessTokenClaims = {
    aud: resource,
    iss: issuer,
    iat: issuedAt,
    nbf: issuedAt,
    exp: issuedAt + lifetime,
    appid: application.clientId,
    azp: application.clientId,
    appidacr: '1',
    idp: issuer,
    idtyp: 'app',
    tid: application.tenantId,
    oid: application.objectId,
    sub: application.objectId,
    roles: [],
    ver: '1.0',
    // Entra's uti is 16 random bytes; with jti it makes every token unique,
    // even two issued in the same second to the same app.
    uti: randomBytes(16).toString('base64url'),
    jti: randomUUID(),
  };
  const body: TokenSuccess = {
    token_type: 'Bearer',
    expires_in: lifetime,
    ext_expires_in: lifetime,
    access_token: context.signer.sign(claims),
  };
  if (withClientInfo) {
    body.client_info = Buffer.from(JSON.stringify({ uid: application.objectId, utid: application.tenantId })).toString(
      'base64url',
    );
  }
  return body;
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

function authenticate(
  application: RegisteredApplication,
  credentials: ClientCredentials,
  grantType: string,
): EntraError | undefined {
  if (credentials.secret !== undefined) {
    return secretMatches(application.clientSecret, credentials.secret)
      ? undefined
      : entraErrors.invalidClientSecret(application.clientId);
  }
  // Certificate registration comes later: until then no assertion can verify.
  if (credentials.assertion !== undefined) return entraErrors.assertionKeyNotFound(application.clientId);
  return entraErrors.missingClientCredential(grantType);
}

/** Constant-time over equal-length digests, so timing reveals nothing of the secret. */
function secretMatches(expected: string | undefined, given: string): boolean {
  if (expected === undefined) return false;
  const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(expected), digest(given));
}

function clientCredentials(
  params: URLSearchParams,
  basic: { clientId: string; secret: string } | undefined,
): ClientCredentials | 'conflict' {
  const bodyClientId = nonEmpty(params.get('client_id'));
  const bodySecret = nonEmpty(params.get('client_secret'));
  const assertion =
    params.get('client_assertion_type') === CLIENT_ASSERTION_TYPE ? nonEmpty(params.get('client_assertion')) : undefined;
  if (basic === undefined) return { clientId: bodyClientId, secret: bodySecret, assertion };
  if (bodySecret !== undefined || assertion !== undefined) return 'conflict';
  if (bodyClientId !== undefined && bodyClientId.toLowerCase() !== basic.clientId.toLowerCase()) return 'conflict';
  return { clientId: basic.clientId, secret: basic.secret, assertion: undefined };
}

/** RFC 6749 2.3.1: Basic credentials are form-encoded before base64. */
function parseBasicAuthorization(header: string | undefined): { clientId: string; secret: string } | 'malformed' | undefined {
  if (header === undefined) return undefined;
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (match?.[1] === undefined) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return 'malformed';
  try {
    return { clientId: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    return 'malformed';
  }
}

function formDecode(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '));
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
    retryAfterSeconds: failure.retryAfterSeconds,
  };
}

function fail(error: EntraError): TokenOutcome {
  return { kind: 'error', error };
}

function nonEmpty(value: string | null): string | undefined {
  return value === null || value.length === 0 ? undefined : value;
}
