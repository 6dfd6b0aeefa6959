// What Google's error answers mean for an operator. Google's texts are few
// and stable ("Token has been expired or revoked.", "The OAuth client was
// not found.", "Unauthorized"), and its reasons for a dead refresh token are
// not in the answer, so the remediation lists the likely ones. Everything
// else goes to the shared classifier.
import { BrokerError } from '../../../errors/index.js';
import type { BrokerErrorCode, OAuthErrorDetails } from '../../../errors/index.js';
import { classifyOAuthError } from '../oauth-errors.js';
import type { OAuthFailureContext } from '../oauth-errors.js';

const authorize = (context: OAuthFailureContext): string => `Run: token-broker authorize ${context.mailbox}`;

export const GOOGLE_REVOKED_REMEDIATION = (context: OAuthFailureContext): string =>
  'Google revoked the refresh token or let it expire. Likely causes: the OAuth consent screen is in "Testing" status (refresh tokens die after 7 days: publish the app), ' +
  'the token was unused for 6 months, the account authorized this client more than 100 times (the oldest tokens are revoked), ' +
  `the user changed the password, or the user or an administrator removed the app's access. ${authorize(context)}`;

/** Google answers for OAuth clients (authorization-code, device-code, refresh). */
export function classifyGoogleOAuthError(details: OAuthErrorDetails, context: OAuthFailureContext): BrokerError {
  const base = classifyOAuthError(details, context);
  const description = details.errorDescription ?? '';
  switch (details.error) {
    case 'invalid_grant':
      if (/expired or revoked/i.test(description)) return remedied(base, 'needs_authorization', GOOGLE_REVOKED_REMEDIATION(context));
      return base;
    case 'invalid_client':
      if (/not found/i.test(description)) {
        return remedied(base, 'invalid_client', `Google does not know mailboxes.${context.mailbox}.clientId: copy the client ID of the OAuth client from the Google Cloud console (APIs & Services > Credentials); deleted clients stay deleted.`);
      }
      return remedied(base, 'invalid_client', `Google refused the client secret: check mailboxes.${context.mailbox}.clientSecret against the OAuth client in the Google Cloud console (a reset secret replaces the old one).`);
    case 'invalid_request':
      // Google's desktop-app clients are "public" but must still send their secret.
      if (/client_secret is missing/i.test(description)) {
        return remedied(base, 'invalid_client', `Google requires the OAuth client's secret, even for desktop apps: set mailboxes.${context.mailbox}.clientSecret from the Google Cloud console.`);
      }
      return base;
    case 'redirect_uri_mismatch':
      return remedied(base, 'invalid_client', `Add mailboxes.${context.mailbox}.redirectUri, exactly as configured, to the OAuth client's authorized redirect URIs in the Google Cloud console.`);
    case 'invalid_scope':
      if (context.grantType === 'device-code') {
        return remedied(base, 'invalid_client', 'Google allows only a few scopes in the device flow, and Gmail (https://mail.google.com/) is not one of them: use grant type authorization-code.');
      }
      return base;
    case 'expired_token':
      return remedied(base, 'needs_authorization', `The device code expired before the sign-in was finished. ${authorize(context)}`);
    default:
      return base;
  }
}

/**
 * Google answers for the service-account JWT bearer grant. No person can
 * re-authorize a service account, so invalid_grant here is a configuration
 * problem (key, user, clock), never "authorize again".
 */
export function classifyGoogleServiceAccountError(details: OAuthErrorDetails, context: OAuthFailureContext): BrokerError {
  const base = classifyOAuthError(details, context);
  const description = details.errorDescription ?? '';
  const mailbox = `mailboxes.${context.mailbox}`;
  if (details.error === 'unauthorized_client') {
    return remedied(base, 'consent_missing', `The service account has no domain-wide delegation for these scopes: in the Google Workspace Admin console (Security > Access and data control > API controls > Domain-wide delegation) authorize the service account's client ID for ${mailbox}.scopes.`);
  }
  if (details.error === 'invalid_grant') {
    if (/email|user id/i.test(description)) return remedied(base, 'invalid_client', `Google does not know ${mailbox}.username as a user of the Workspace domain the service account may impersonate: check the address.`);
    if (/signature/i.test(description)) return remedied(base, 'invalid_client', `Google does not accept the signature: ${mailbox}.certificate must hold a current key of the service account named by ${mailbox}.clientId (deleted keys stop working).`);
    if (/audience/i.test(description)) return remedied(base, 'invalid_client', 'Google expects another audience in the assertion: the google server\'s tokenEndpoint must be https://oauth2.googleapis.com/token (leave it unset).');
    if (/timeframe|\biat\b|\bexp\b/i.test(description)) return remedied(base, 'invalid_client', 'Google refused the assertion\'s time window: check that this machine\'s clock is right (NTP).');
    return remedied(base, 'invalid_client', `Google refused the service-account assertion: check ${mailbox}.clientId (the service account's e-mail address), its certificate and username.`);
  }
  if (details.error === 'invalid_client') {
    return remedied(base, 'invalid_client', `Google does not know the service account: ${mailbox}.clientId must be its e-mail address (…@….iam.gserviceaccount.com).`);
  }
  return base;
}

function remedied(base: BrokerError, code: BrokerErrorCode, remediation: string): BrokerError {
  return new BrokerError(base.message, {
    code,
    permanent: true,
    mailbox: base.mailbox,
    authorizationServer: base.authorizationServer,
    oauth: base.oauth,
    remediation,
  });
}
