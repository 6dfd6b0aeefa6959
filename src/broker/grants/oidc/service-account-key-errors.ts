// Google's answers to a service account configured with its JSON key
// (credentialsFile): Google's classification (google-errors.ts), with the
// remedies that name the PEM form's keys (certificate, clientId, the
// server's tokenEndpoint) pointed at the key file instead, where the
// operator has to look.
import { BrokerError } from '../../../errors/index.js';
import type { OAuthErrorDetails } from '../../../errors/index.js';
import type { OAuthFailureContext } from '../oauth-errors.js';
import { classifyGoogleServiceAccountError } from './google-errors.js';

export function classifyKeyFileError(details: OAuthErrorDetails, context: OAuthFailureContext): BrokerError {
  const base = classifyGoogleServiceAccountError(details, context);
  const remediation = keyFileRemediation(details, `mailboxes.${context.mailbox}`);
  if (remediation === undefined) return base;
  return new BrokerError(base.message, {
    code: base.code,
    permanent: base.permanent,
    mailbox: base.mailbox,
    authorizationServer: base.authorizationServer,
    oauth: base.oauth,
    remediation,
    ...(base.retryAfterMs === undefined ? {} : { retryAfterMs: base.retryAfterMs }),
  });
}

/** Undefined where Google's classification already names the right key (username, scopes, the clock). */
function keyFileRemediation(details: OAuthErrorDetails, mailbox: string): string | undefined {
  const description = details.errorDescription ?? '';
  const keyFile = `${mailbox}.credentialsFile`;
  const unknownAccount = `Google does not know the service account named by client_email in ${keyFile}: it was deleted, or the key belongs to another project; create a new JSON key of the right service account.`;
  if (details.error === 'invalid_client' || (details.error === 'invalid_grant' && /account not found/i.test(description))) return unknownAccount;
  if (details.error === 'invalid_grant') {
    if (/signature/i.test(description)) {
      return `Google does not accept the signature: the key in ${keyFile} (its private_key_id) is not a current key of the service account (deleted or disabled keys stop working); create a new JSON key in the Google Cloud console (IAM & Admin > Service accounts > Keys) and put it there.`;
    }
    if (/audience/i.test(description)) {
      return `Google expects another audience in the assertion: the token_uri in ${keyFile} must be the server's token endpoint (https://oauth2.googleapis.com/token for Google); download the key again, or fix the server's tokenEndpoint.`;
    }
    if (/email|user id|timeframe|\biat\b|\bexp\b/i.test(description)) return undefined;
    return `Google refused the service-account assertion: check the key in ${keyFile} (a current key of the service account) and ${mailbox}.username.`;
  }
  return undefined;
}
