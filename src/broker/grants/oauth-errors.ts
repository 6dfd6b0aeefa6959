// Classifies an authorization server's error answer (OAuth `error`, Entra's
// AADSTS number, HTTP status, Retry-After) into a BrokerError with a
// remediation line. We classify on what the server said, never on a
// library's error class, so msal-node and openid-client failures read the same.
import { BrokerError } from '../../errors/index.js';
import type { BrokerErrorCode, OAuthErrorDetails } from '../../errors/index.js';
import { entraAnswer, entraRemediation, signInAgain } from './entra-answers.js';

export interface OAuthFailureContext {
  readonly mailbox: string;
  readonly authorizationServer: string;
  readonly grantType: string;
  /** The request that failed, for messages of answers that are no refusal; default `<grantType> token request`. */
  readonly request?: string;
}

interface Remedy {
  readonly code: BrokerErrorCode;
  readonly permanent: boolean;
  readonly remediation: (context: OAuthFailureContext) => string;
}

/** A row of the Entra table (entra-answers.ts) as a Remedy. */
function entraRemedy(aadsts: string): Remedy | undefined {
  const answer = entraAnswer(aadsts);
  if (answer === undefined) return undefined;
  return { code: answer.code, permanent: answer.permanent, remediation: (context) => entraRemediation(answer, context) };
}

/**
 * OAuth `error` values and what they mean when no AADSTS number says more.
 * The permanent ones are the refusals a person must act on (RFC 6749 5.2,
 * RFC 8628, OpenID Connect): asking again unchanged gets the same answer.
 */
const OAUTH_REMEDIES: Readonly<Record<string, Remedy>> = {
  invalid_request: {
    code: 'authorization_server_error',
    permanent: true,
    remediation: (c) => `The server found the request malformed: check mailboxes.${c.mailbox} (clientId, scopes, redirectUri) against the application's registration on ${c.authorizationServer}; if they are right, report it with the log lines around it.`,
  },
  invalid_grant: { code: 'needs_authorization', permanent: true, remediation: (c) => `The server no longer accepts the grant. ${signInAgain(c)}` },
  invalid_client: { code: 'invalid_client', permanent: true, remediation: (c) => `The server did not accept the client credentials: check mailboxes.${c.mailbox}.clientId and its secret or certificate.` },
  unauthorized_client: { code: 'invalid_client', permanent: true, remediation: (c) => `The client may not use grant type ${c.grantType}: check the application's registration on ${c.authorizationServer}.` },
  invalid_scope: { code: 'invalid_client', permanent: true, remediation: (c) => `The server rejected the scopes: check mailboxes.${c.mailbox}.scopes.` },
  consent_required: { code: 'consent_missing', permanent: true, remediation: () => 'Consent is missing: grant consent for the application.' },
  interaction_required: { code: 'needs_authorization', permanent: true, remediation: signInAgain },
  login_required: { code: 'needs_authorization', permanent: true, remediation: signInAgain },
  account_selection_required: { code: 'needs_authorization', permanent: true, remediation: signInAgain },
  access_denied: { code: 'needs_authorization', permanent: true, remediation: signInAgain },
  unsupported_grant_type: { code: 'invalid_client', permanent: true, remediation: (c) => `${c.authorizationServer} does not support grant type ${c.grantType}.` },
  authorization_declined: { code: 'needs_authorization', permanent: true, remediation: (c) => `The user declined the sign-in. ${signInAgain(c)}` },
  expired_token: { code: 'needs_authorization', permanent: true, remediation: (c) => `The device code expired before the sign-in finished. ${signInAgain(c)}` },
  redirect_uri_mismatch: { code: 'invalid_client', permanent: true, remediation: (c) => `The redirect URI is not registered for the client: register mailboxes.${c.mailbox}.redirectUri exactly as configured.` },
  temporarily_unavailable: { code: 'authorization_server_error', permanent: false, remediation: () => 'The broker retries.' },
};

/** The OAuth `error` values the broker explains, for docs/runbook.md's completeness test. */
export const EXPLAINED_OAUTH_ERRORS: readonly string[] = Object.keys(OAUTH_REMEDIES);

/** Extracts the AADSTS number from an Entra error_description ("AADSTS7000215: ..."). */
export function aadstsNumber(description: string | undefined): string | undefined {
  if (description === undefined) return undefined;
  return /\bAADSTS(\d+)\b/.exec(description)?.[1];
}

/** The first line of an Entra description, without trace/correlation ids. */
function firstLine(description: string | undefined): string | undefined {
  return description?.split(/\r?\n/, 1)[0]?.trim();
}

export function classifyOAuthError(details: OAuthErrorDetails, context: OAuthFailureContext): BrokerError {
  const aadsts = details.aadsts ?? aadstsNumber(details.errorDescription);
  const oauth: OAuthErrorDetails = { ...details, aadsts };
  const remedy =
    (aadsts === undefined ? undefined : entraRemedy(aadsts)) ??
    (details.error === undefined ? undefined : OAUTH_REMEDIES[details.error]);
  const said = firstLine(details.errorDescription) ?? details.error ?? `HTTP ${details.httpStatus ?? '?'}`;
  const message = `mailbox ${context.mailbox}: authorization server ${context.authorizationServer} refused the ${context.grantType} token request: ${said}`;
  if (remedy !== undefined) {
    return new BrokerError(message, {
      code: remedy.code,
      permanent: remedy.permanent,
      mailbox: context.mailbox,
      authorizationServer: context.authorizationServer,
      oauth,
      remediation: remedy.remediation(context),
    });
  }
  // An error nobody documented, or a server_error: nothing says a person must
  // act, and an hour's pause for a passing fault costs more than a few
  // retries of a lasting one, so it is transient.
  const serverSide = details.httpStatus === undefined || details.httpStatus >= 500 || details.httpStatus === 429;
  return new BrokerError(message, {
    code: 'authorization_server_error',
    permanent: false,
    mailbox: context.mailbox,
    authorizationServer: context.authorizationServer,
    oauth,
    remediation: serverSide
      ? 'The broker retries.'
      : `The broker retries with backoff. If it persists, check the settings of mailbox ${context.mailbox} against the server's documentation for this error.`,
  });
}

/** An error answer as the grants hand it over: the OAuth body, the HTTP status and Retry-After. */
export interface ErrorAnswer extends OAuthErrorDetails {
  /** Retry-After in milliseconds from when the answer arrived (parseRetryAfter), when it had a valid one. */
  readonly retryAfterMs?: number | undefined;
}

/**
 * True for answers that ask the client to slow down: every 429, and a 503
 * that says when to come back. A 503 without Retry-After is an outage like a
 * 500 or 502 (authorization_server_error, backed off the same way): calling it
 * throttling would send ops looking for a request rate that is not the cause.
 */
export function isThrottling(status: number | undefined, retryAfterMs: number | undefined): boolean {
  return status === 429 || (status === 503 && retryAfterMs !== undefined);
}

/**
 * Any error answer from a token, device authorization or discovery endpoint.
 * Throttling wins over whatever the body says; everything else goes to
 * `classify` (by default classifyOAuthError), and a transient result keeps
 * the server's Retry-After so the engine waits at least that long.
 */
export function classifyErrorAnswer(answer: ErrorAnswer, context: OAuthFailureContext, classify: (details: OAuthErrorDetails, context: OAuthFailureContext) => BrokerError = classifyOAuthError): BrokerError {
  const { retryAfterMs, ...details } = answer;
  if (isThrottling(details.httpStatus, retryAfterMs)) return throttledError(details, retryAfterMs, context);
  const classified = details.error === undefined && (details.httpStatus ?? 0) >= 500 ? serverFailure(details, context) : classify(details, context);
  if (retryAfterMs === undefined || classified.permanent) return classified;
  return new BrokerError(classified.message, {
    code: classified.code,
    permanent: classified.permanent,
    mailbox: classified.mailbox,
    authorizationServer: classified.authorizationServer,
    oauth: classified.oauth,
    remediation: classified.remediation,
    retryAfterMs,
    cause: classified.cause,
  });
}

function throttledError(details: OAuthErrorDetails, retryAfterMs: number | undefined, context: OAuthFailureContext): BrokerError {
  const oauth: OAuthErrorDetails = { ...details, aadsts: details.aadsts ?? aadstsNumber(details.errorDescription) };
  const status = details.httpStatus ?? 429;
  const retryAfter = retryAfterMs === undefined ? '' : `, Retry-After ${waitText(retryAfterMs)}`;
  const said = firstLine(details.errorDescription) ?? details.error ?? (status === 429 ? 'Too Many Requests' : 'Service Unavailable');
  const what = status === 429 ? 'throttled' : 'is unavailable for';
  const wait = retryAfterMs === undefined ? 'The broker backs off and retries.' : `The broker waits as the server asked (${waitText(retryAfterMs)}), then retries.`;
  const remediation =
    status === 429
      ? `${wait} If throttling recurs, fewer token requests to ${context.authorizationServer} help: lower refresh.maxConcurrentPerServer, and look for other programs requesting tokens with the same client id in a loop.`
      : `${wait} If it lasts, check the status page of ${context.authorizationServer}.`;
  return new BrokerError(`mailbox ${context.mailbox}: authorization server ${context.authorizationServer} ${what} the ${requestOf(context)} (HTTP ${status}${retryAfter}): ${said}`, {
    code: 'throttled',
    permanent: false,
    mailbox: context.mailbox,
    authorizationServer: context.authorizationServer,
    oauth,
    remediation,
    retryAfterMs,
  });
}

/** A 5xx without an OAuth error: a server or gateway failing, not a refusal. */
function serverFailure(details: OAuthErrorDetails, context: OAuthFailureContext): BrokerError {
  const said = firstLine(details.errorDescription);
  return new BrokerError(`mailbox ${context.mailbox}: authorization server ${context.authorizationServer} answered the ${requestOf(context)} with HTTP ${details.httpStatus ?? '?'} and no OAuth error${said === undefined ? '' : ` (${said})`}.`, {
    code: 'authorization_server_error',
    permanent: false,
    mailbox: context.mailbox,
    authorizationServer: context.authorizationServer,
    oauth: details,
    remediation: `The broker backs off and retries; if it lasts, check the status of ${context.authorizationServer} and that no proxy in between fails.`,
  });
}

function requestOf(context: OAuthFailureContext): string {
  return context.request ?? `${context.grantType} token request`;
}

function waitText(ms: number): string {
  const seconds = Math.ceil(ms / 1000);
  return seconds < 120 ? `${seconds} s` : `${Math.round(seconds / 60)} min`;
}
