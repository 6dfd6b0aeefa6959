// A BrokerError with every text it carries passed through a redaction: its
// message, remediation, the server's words (OAuth fields) and its cause
// chain, which a logger or util.inspect would print in full. Used where text
// from outside (a server's answer, a library's message) may quote a secret.
import { BrokerError } from './broker-error.js';
import type { OAuthErrorDetails } from './broker-error.js';

/** How deep a cause chain is copied; deeper links are dropped (no library nests further). */
const MAX_CAUSE_DEPTH = 8;

export function redactBrokerError(error: BrokerError, redact: (text: string) => string): BrokerError {
  return new BrokerError(redact(error.message), {
    code: error.code,
    permanent: error.permanent,
    ...(error.mailbox === undefined ? {} : { mailbox: error.mailbox }),
    ...(error.authorizationServer === undefined ? {} : { authorizationServer: error.authorizationServer }),
    ...(error.oauth === undefined ? {} : { oauth: redactedOAuth(error.oauth, redact) }),
    ...(error.remediation === undefined ? {} : { remediation: redact(error.remediation) }),
    ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
    ...(error.cause === undefined ? {} : { cause: redactedCause(error.cause, redact, 0) }),
  });
}

/** The same fields (none added, none dropped), the texts redacted. */
function redactedOAuth(oauth: OAuthErrorDetails, redact: (text: string) => string): OAuthErrorDetails {
  const { error, errorDescription, aadsts } = oauth;
  return {
    ...oauth,
    ...(error === undefined ? {} : { error: redact(error) }),
    ...(errorDescription === undefined ? {} : { errorDescription: redact(errorDescription) }),
    ...(aadsts === undefined ? {} : { aadsts: redact(aadsts) }),
  };
}

/**
 * A copy of an error of the chain that keeps what explains a failure (class
 * name, message, code, stack, its own cause) with the texts redacted. Other
 * fields are dropped: a library's error keeps the raw answer there
 * (openid-client's ResponseBodyError its parsed body, msal-node's ServerError
 * the description), and a non-Error cause is such a raw answer too.
 */
function redactedCause(cause: unknown, redact: (text: string) => string, depth: number): Error | undefined {
  if (!(cause instanceof Error) || depth >= MAX_CAUSE_DEPTH) return undefined;
  if (cause instanceof BrokerError) return redactBrokerError(cause, redact);
  const inner = redactedCause(cause.cause, redact, depth + 1);
  const copy = new Error(redact(cause.message), inner === undefined ? undefined : { cause: inner });
  copy.name = cause.name;
  copy.stack = cause.stack === undefined ? undefined : redact(cause.stack);
  const code = (cause as Error & { code?: unknown }).code;
  return typeof code === 'string' ? Object.assign(copy, { code }) : copy;
}
