// Entra's error answers: the exact JSON shape Entra wraps them in and the
// general part of the AADSTS catalogue (client-auth-errors.ts and
// user-grant-errors.ts hold the rest), so clients are tested against the
// texts and codes they will meet in production.
import { randomUUID } from 'node:crypto';

export interface EntraError {
  readonly status: number;
  /** OAuth `error`. */
  readonly error: string;
  readonly aadsts: number;
  /** The sentence after `AADSTSnnnnn: `. Never contains a client secret. */
  readonly message: string;
  /** Entra's `suberror`, e.g. `basic_action` with AADSTS50076; msal-node surfaces it as `subError`. */
  readonly suberror?: string;
}

export function isEntraError(value: unknown): value is EntraError {
  return typeof value === 'object' && value !== null && 'aadsts' in value;
}

export interface EntraErrorBody {
  error: string;
  error_description: string;
  error_codes: number[];
  timestamp: string;
  trace_id: string;
  correlation_id: string;
  error_uri: string;
  suberror?: string;
}

export interface ErrorContext {
  /** The sandbox's base URL; Entra's `error_uri` points at its own host. */
  readonly authorityUrl: string;
  readonly now: number;
  /** The caller's `client-request-id` when it sent one, as Entra echoes it. */
  readonly correlationId?: string | undefined;
}

export function renderEntraError(failure: EntraError, context: ErrorContext): EntraErrorBody {
  const traceId = randomUUID();
  const correlationId = context.correlationId ?? randomUUID();
  const timestamp = entraTimestamp(context.now);
  const body: EntraErrorBody = {
    error: failure.error,
    error_description:
      `AADSTS${failure.aadsts}: ${failure.message}\r\n` +
      `Trace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
    error_codes: [failure.aadsts],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `${context.authorityUrl}/error?code=${failure.aadsts}`,
  };
  if (failure.suberror !== undefined) body.suberror = failure.suberror;
  return body;
}

/** Entra writes `2026-01-01 12:00:00Z`: ISO 8601 with a space and no fraction. */
export function entraTimestamp(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/** Instants inside messages are .NET round-trip strings: `2026-01-01T12:00:00.0000000Z`. */
export function entraInstant(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 23)}0000Z`;
}

export const entraErrors = {
  invalidClientSecret: (clientId: string): EntraError => ({
    status: 401,
    error: 'invalid_client',
    aadsts: 7000215,
    message:
      'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, ' +
      `not the client secret ID, for a secret added to app '${clientId}'.`,
  }),
  missingClientCredential: (grantType: string): EntraError => ({
    status: 401,
    error: 'invalid_client',
    aadsts: 7000216,
    message: `'client_assertion', 'client_secret' or 'request' is required for the '${grantType}' grant type.`,
  }),
  applicationNotFound: (clientId: string, tenant: string): EntraError => ({
    status: 400,
    error: 'unauthorized_client',
    aadsts: 700016,
    message:
      `Application with identifier '${clientId}' was not found in the directory '${tenant}'. ` +
      'This can happen if the application has not been installed by the administrator of the tenant or ' +
      'consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.',
  }),
  tenantNotFound: (tenant: string, error = 'invalid_request'): EntraError => ({
    status: 400,
    error,
    aadsts: 90002,
    message:
      `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into ` +
      'the correct cloud. Check with your subscription administrator, this may happen if there are no active ' +
      'subscriptions for the tenant.',
  }),
  /** Client credentials against `common`/`organizations`: no tenant to issue an app token for. */
  noTenantInformation: (): EntraError => ({
    status: 400,
    error: 'invalid_request',
    aadsts: 50059,
    message: 'No tenant-identifying information found in either the request or implied by any provided credentials.',
  }),
  unsupportedGrantType: (grantType: string): EntraError => ({
    status: 400,
    error: 'unsupported_grant_type',
    aadsts: 70003,
    message: `The app requested an unsupported grant type '${grantType}'.`,
  }),
  missingParameter: (name: string): EntraError => ({
    status: 400,
    error: 'invalid_request',
    aadsts: 900144,
    message: `The request body must contain the following parameter: '${name}'.`,
  }),
  scopeNotDefault: (scope: string): EntraError => ({
    status: 400,
    error: 'invalid_scope',
    aadsts: 1002012,
    message:
      `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value ` +
      'with /.default suffixed to the resource identifier (application ID URI).',
  }),
  scopeInvalid: (scope: string): EntraError => ({
    status: 400,
    error: 'invalid_scope',
    aadsts: 70011,
    message:
      "The provided value for the input parameter 'scope' is not valid. " +
      `The scope ${scope} is not valid: a token can be issued for one resource only.`,
  }),
  /** RFC 6749 2.3: one client authentication method per request. */
  conflictingClientAuthentication: (): EntraError => ({
    status: 400,
    error: 'invalid_request',
    aadsts: 90023,
    message:
      'Invalid request: the client was authenticated with more than one method, or the client_id in the ' +
      'body differs from the one in the Authorization header.',
  }),
  /** What Entra answers a client (most often client credentials without a token cache) that asks too often; with Retry-After. */
  tooManyRequests: (): EntraError => ({
    status: 429,
    error: 'temporarily_unavailable',
    aadsts: 90055,
    message: 'There are too many incoming requests. Wait for the time in the Retry-After header and try again.',
  }),
  /** A transient outage of Entra's backend. */
  serviceUnavailable: (): EntraError => ({
    status: 503,
    error: 'temporarily_unavailable',
    aadsts: 90033,
    message: 'A transient error has occurred. Please try again.',
  }),
  postOnly: (method: string): EntraError => ({
    status: 400,
    error: 'invalid_request',
    aadsts: 900561,
    message: `The endpoint only accepts POST requests. Received a ${method} request.`,
  }),
} as const;
