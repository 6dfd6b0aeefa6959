// Maps what msal-node throws to BrokerErrors: server answers through the
// shared OAuth classifier (on `error` and the AADSTS number), throttling and
// server failures from the answer our network client kept from msal (with
// status and Retry-After), transport failures to the BrokerError it attached,
// or (when msal wrapped one in its own words) by the reason it quotes.
import { AuthError, InteractionRequiredAuthError, ServerError } from '@azure/msal-node';
import { BrokerError } from '../../../errors/index.js';
import { classifyTransportError, transportFailureCode } from '../../../http/index.js';
import { classifyErrorAnswer, classifyOAuthError } from '../oauth-errors.js';
import type { OAuthFailureContext } from '../oauth-errors.js';
import { errorAnswerOf, transportFailureOf } from './network-client.js';

export function fromMsalError(error: unknown, context: OAuthFailureContext): BrokerError {
  if (error instanceof BrokerError) return error;
  const transportFailure = transportFailureOf(error);
  if (transportFailure !== undefined) return withContext(transportFailure, context);
  const answer = errorAnswerOf(error);
  if (answer !== undefined) return classifyErrorAnswer(answer, context);
  // Both carry the server's answer: msal raises InteractionRequiredAuthError
  // instead of ServerError for invalid_grant / interaction_required (MFA,
  // consent, revoked grants), which are exactly the cases ops must see.
  if (error instanceof ServerError || error instanceof InteractionRequiredAuthError) {
    const errorNo = (error as { errorNo?: string | number }).errorNo;
    return classifyOAuthError(
      {
        error: error.errorCode,
        errorDescription: serverDescription(error.errorMessage),
        aadsts: errorNo === undefined || errorNo === '' ? undefined : String(errorNo),
        httpStatus: error instanceof ServerError ? error.status : undefined,
      },
      context,
    );
  }
  // The device-code poll loop reports any answer but authorization_pending as
  // post_request_failed with only the OAuth `error` as its message.
  if (error instanceof AuthError && error.errorCode === 'post_request_failed' && /^[a-z_]+$/.test(error.errorMessage.trim())) {
    return classifyOAuthError({ error: error.errorMessage.trim() }, context);
  }
  // msal's own network_error (the reason dropped), or a wrapper quoting Node's reason: a transport failure all the same.
  if (transportFailureCode(error) !== undefined || (error instanceof AuthError && error.errorCode === 'network_error')) {
    return classifyTransportError(error, { target: `authorization server ${context.authorizationServer}`, mailbox: context.mailbox, authorizationServer: context.authorizationServer });
  }
  const detail = error instanceof AuthError ? `${error.errorCode}: ${error.errorMessage}` : String(error);
  return new BrokerError(`mailbox ${context.mailbox}: msal-node failed to obtain a token from ${context.authorizationServer}: ${detail}`, {
    code: 'internal',
    mailbox: context.mailbox,
    authorizationServer: context.authorizationServer,
    remediation: 'This is unexpected; the broker retries. If it persists, report it with the log lines around it.',
    cause: error,
  });
}

/**
 * What the server said, out of msal's wrapping of it: msal-common's
 * ResponseHandler puts the answer's fields into one line ("Error(s): 50055 -
 * Timestamp: ... - Description: AADSTS50055: ... - Correlation ID: ... -
 * Trace ID: ...") and keeps no error_description of its own. Ops should read
 * Entra's sentence, not msal's frame around it; a message not in that form
 * is kept as is.
 */
export function serverDescription(errorMessage: string): string {
  const quoted = /^Error\(s\): [^]*? - Description: ([^]*?) - Correlation ID: [^]*$/.exec(errorMessage)?.[1];
  return quoted === undefined || quoted === 'Not Available' ? errorMessage : quoted;
}

function withContext(error: BrokerError, context: OAuthFailureContext): BrokerError {
  if (error.mailbox !== undefined) return error;
  return new BrokerError(`mailbox ${context.mailbox}: ${error.message}`, {
    code: error.code,
    permanent: error.permanent,
    mailbox: context.mailbox,
    authorizationServer: context.authorizationServer,
    oauth: error.oauth,
    remediation: error.remediation,
    retryAfterMs: error.retryAfterMs,
    cause: error,
  });
}
