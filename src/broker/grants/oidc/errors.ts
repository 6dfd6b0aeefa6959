// Maps what openid-client throws to BrokerErrors. Server answers go through
// a classifier on the OAuth `error` (never on the library's class), after the
// shared check for throttling (429, 503 with Retry-After) on the response
// openid-client keeps; transport failures are the BrokerErrors our fetch
// threw, which openid-client wraps ("something went wrong") and we unwrap;
// the rest is a server answer that does not follow OAuth, or a bug.
import { AuthorizationResponseError, ClientError, ResponseBodyError, WWWAuthenticateChallengeError } from 'openid-client';
import { BrokerError } from '../../../errors/index.js';
import type { OAuthErrorDetails } from '../../../errors/index.js';
import { classifyTransportError, parseRetryAfter, transportFailureCode } from '../../../http/index.js';
import { classifyErrorAnswer, classifyOAuthError } from '../oauth-errors.js';
import type { OAuthFailureContext } from '../oauth-errors.js';

export type OAuthClassifier = (details: OAuthErrorDetails, context: OAuthFailureContext) => BrokerError;

/** The BrokerError somewhere in `error`'s cause chain (our fetch's, wrapped by openid-client). */
export function brokerErrorIn(error: unknown): BrokerError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    if (current instanceof BrokerError) return current;
    current = current.cause;
  }
  return undefined;
}

/**
 * `now` is when the answer arrived (ms since the epoch): a Retry-After given
 * as a date is read relative to it.
 */
export async function fromOpenIdClientError(error: unknown, context: OAuthFailureContext, classify: OAuthClassifier = classifyOAuthError, now: number = Date.now()): Promise<BrokerError> {
  const transport = brokerErrorIn(error);
  if (transport !== undefined) return transport;
  if (error instanceof ResponseBodyError) {
    const answer = { error: error.error, errorDescription: error.error_description, httpStatus: error.status };
    return classifyErrorAnswer({ ...answer, retryAfterMs: retryAfterOf(error.response, now) }, context, classify);
  }
  if (error instanceof AuthorizationResponseError) {
    return classify({ error: error.error, errorDescription: error.error_description }, context);
  }
  if (error instanceof WWWAuthenticateChallengeError) {
    return classifyErrorAnswer({ ...(await challengeDetails(error)), retryAfterMs: retryAfterOf(error.response, now) }, context, classify);
  }
  // A transport failure that did not come through our fetch (or lost our error on the way), wrapped in openid-client's words.
  if (transportFailureCode(error) !== undefined) {
    return classifyTransportError(error, { target: `authorization server ${context.authorizationServer}`, mailbox: context.mailbox, authorizationServer: context.authorizationServer });
  }
  // Most arrive as ClientError; a few synchronous helpers (buildAuthorizationUrl) throw oauth4webapi's coded errors as they are.
  const coded = error instanceof ClientError ? error : oauthCoded(error);
  if (coded !== undefined) return fromCodedError(coded, context, classify, now);
  return new BrokerError(`mailbox ${context.mailbox}: the ${context.grantType} request to ${context.authorizationServer} failed unexpectedly: ${describe(error)}`, {
    code: 'internal',
    mailbox: context.mailbox,
    authorizationServer: context.authorizationServer,
    remediation: 'This is unexpected; the broker retries. If it persists, report it with the log lines around it.',
    cause: error,
  });
}

/**
 * A 401 with WWW-Authenticate (e.g. a wrong secret sent with basic auth):
 * openid-client stops at the header, but the OAuth error is in the body,
 * which is still unread.
 */
async function challengeDetails(error: WWWAuthenticateChallengeError): Promise<OAuthErrorDetails> {
  const challenge = error.cause[0]?.parameters;
  let body: unknown;
  try {
    body = await error.response.json();
  } catch {
    body = undefined;
  }
  const fromBody = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
  return {
    error: text(fromBody['error']) ?? challenge?.error ?? 'invalid_client',
    errorDescription: text(fromBody['error_description']) ?? challenge?.error_description,
    httpStatus: error.status,
  };
}

const ENDPOINT_SETTINGS: Readonly<Record<string, string>> = {
  authorization_endpoint: 'authorizationEndpoint',
  token_endpoint: 'tokenEndpoint',
  device_authorization_endpoint: 'deviceAuthorizationEndpoint',
};

type CodedError = Error & { readonly code?: string | undefined };

/** oauth4webapi's OperationProcessingError and kin: an Error with an OAUTH_ code. */
function oauthCoded(error: unknown): CodedError | undefined {
  if (!(error instanceof Error) || !('code' in error)) return undefined;
  return typeof error.code === 'string' && error.code.startsWith('OAUTH_') ? (error as CodedError) : undefined;
}

async function fromCodedError(error: CodedError, context: OAuthFailureContext, classify: OAuthClassifier, now: number): Promise<BrokerError> {
  const where = `mailbox ${context.mailbox}: `;
  const base = { mailbox: context.mailbox, authorizationServer: context.authorizationServer, cause: error };
  switch (error.code) {
    case 'OAUTH_TIMEOUT':
      return new BrokerError(`${where}${context.authorizationServer} did not answer the ${context.grantType} request in time.`, {
        ...base,
        code: 'timeout',
        remediation: 'The broker retries; check the network path to the authorization server.',
      });
    case 'OAUTH_RESPONSE_IS_NOT_CONFORM':
    case 'OAUTH_RESPONSE_IS_NOT_JSON': {
      // oauth4webapi reads an OAuth error body only for a 4xx; a 429 that is not JSON, and every 5xx, land here with the response unread.
      const response = responseIn(error.cause);
      const retryAfterMs = retryAfterOf(response, now);
      if (response !== undefined && (response.status === 429 || response.status >= 500 || retryAfterMs !== undefined)) {
        return classifyErrorAnswer({ ...(await oauthErrorBody(response)), httpStatus: response.status, retryAfterMs }, context, classify);
      }
      // No OAuth answer at all (a maintenance page, a proxy's error page, an
      // empty or garbled body): nothing a person must act on yet, and such
      // answers pass, so transient; a wrong endpoint URL shows as it recurs.
      const status = statusOf(error.cause);
      return new BrokerError(`${where}${context.authorizationServer} answered the ${context.grantType} request with HTTP ${status ?? '?'} and no OAuth error${error.code === 'OAUTH_RESPONSE_IS_NOT_JSON' ? ' (not JSON)' : ''}.`, {
        ...base,
        code: 'authorization_server_error',
        oauth: status === undefined ? undefined : { httpStatus: status },
        remediation: `The broker retries with backoff. If it lasts, check the endpoint URLs of authorization server ${context.authorizationServer}, and that no proxy rewrites the answer.`,
      });
    }
    case 'OAUTH_JWT_CLAIM_COMPARISON_FAILED': {
      const issuer = idTokenIssuer(error);
      if (issuer !== undefined) {
        return new BrokerError(`${where}the ID token from ${context.authorizationServer} names issuer ${issuer}, which is not the configured issuer.`, {
          ...base,
          code: 'config_invalid',
          permanent: true,
          remediation: `Set authorizationServers.${context.authorizationServer}.issuer to ${issuer}, or drop the openid scope.`,
        });
      }
      break;
    }
    case 'OAUTH_MISSING_SERVER_METADATA': {
      // oauth4webapi names the attribute: 'metadata does not contain a valid "as.device_authorization_endpoint"'.
      const endpoint = /"as\.(\w+)"/.exec(error.message)?.[1] ?? 'endpoint';
      const setting = ENDPOINT_SETTINGS[endpoint];
      return new BrokerError(`${where}authorization server ${context.authorizationServer} has no ${endpoint}, neither configured nor in its discovered metadata; grant type ${context.grantType} needs it.`, {
        ...base,
        code: 'config_invalid',
        permanent: true,
        remediation: setting === undefined ? `Configure authorizationServers.${context.authorizationServer} with the server's endpoints.` : `Set authorizationServers.${context.authorizationServer}.${setting}, or use a grant type this server supports.`,
      });
    }
    case 'OAUTH_HTTP_REQUEST_FORBIDDEN':
      return new BrokerError(`${where}an endpoint of ${context.authorizationServer} is plain http on another machine.`, {
        ...base,
        code: 'config_invalid',
        permanent: true,
        remediation: `Use https for authorizationServers.${context.authorizationServer} (plain http only for a test server on localhost).`,
      });
    default:
      break;
  }
  // Not transient in principle, but a misbehaving server or gateway may recover, so the broker keeps trying.
  return new BrokerError(`${where}${context.authorizationServer} sent an answer to the ${context.grantType} request that does not follow OAuth 2.0: ${describe(error)}`, {
    ...base,
    code: 'authorization_server_error',
    remediation: `The broker retries; if it persists, check that authorization server ${context.authorizationServer} is an OAuth 2.0 server and its endpoint URLs are right.`,
  });
}

/** openid-client's message and its cause's (oauth4webapi's, which says which property); never values. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const inner = error.cause instanceof Error ? error.cause.message : undefined;
  return inner === undefined || inner === error.message ? error.message : `${error.message} (${inner})`;
}

function statusOf(value: unknown): number | undefined {
  if (typeof value !== 'object' || value === null || !('status' in value)) return undefined;
  return typeof value.status === 'number' ? value.status : undefined;
}

/** The `iss` of an ID token that failed the issuer comparison (oauth4webapi keeps claim and claims). */
function idTokenIssuer(error: Error): string | undefined {
  const detail = error.cause instanceof Error ? error.cause.cause : undefined;
  if (typeof detail !== 'object' || detail === null) return undefined;
  const { claim, claims } = detail as { claim?: unknown; claims?: Record<string, unknown> };
  const issuer = claims?.['iss'];
  return claim === 'iss' && typeof issuer === 'string' ? issuer : undefined;
}

/** What this module reads of a fetch Response (ours is undici's, not the global class: no instanceof). */
export interface AnswerResponse {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  readonly bodyUsed: boolean;
  clone(): { text(): Promise<string> };
}

/** The Response openid-client keeps as an error's cause (a non-conform answer), if it is one. */
export function responseIn(value: unknown): AnswerResponse | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const candidate = value as Partial<AnswerResponse>;
  return typeof candidate.status === 'number' && typeof candidate.headers?.get === 'function' && typeof candidate.clone === 'function' ? (value as AnswerResponse) : undefined;
}

/** Retry-After of an error answer, in milliseconds from `now`; undefined when absent or not valid. */
export function retryAfterOf(response: AnswerResponse | undefined, now: number): number | undefined {
  return parseRetryAfter(response?.headers.get('retry-after'), now);
}

/** The OAuth error and description in a body oauth4webapi left unread (a 5xx), if it has them. */
async function oauthErrorBody(response: AnswerResponse): Promise<{ error?: string; errorDescription?: string }> {
  if (response.bodyUsed) return {};
  let body: unknown;
  try {
    body = JSON.parse(await response.clone().text());
  } catch {
    return {};
  }
  if (typeof body !== 'object' || body === null) return {};
  const fields = body as Record<string, unknown>;
  const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
  return { error: text(fields['error']), errorDescription: text(fields['error_description']) };
}
