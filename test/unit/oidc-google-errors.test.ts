// Google's error answers explained for operators: the refresh token's likely
// causes of death, and service-account problems that no re-authorization fixes.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyGoogleOAuthError, classifyGoogleServiceAccountError } from '../../src/broker/grants/oidc/google-errors.js';

const user = { mailbox: 'gmail', authorizationServer: 'google', grantType: 'authorization-code' };
const service = { mailbox: 'gmail-app', authorizationServer: 'google', grantType: 'client-credentials' };

describe('classifyGoogleOAuthError', () => {
  const cases: { error: string; description?: string; status: number; grantType?: string; code: string; remediation: RegExp }[] = [
    { error: 'invalid_grant', description: 'Token has been expired or revoked.', status: 400, code: 'needs_authorization', remediation: /"Testing" status \(refresh tokens die after 7 days.*6 months.*100 times.*password.*Run: token-broker authorize gmail$/ },
    { error: 'invalid_grant', description: 'Malformed auth code.', status: 400, code: 'needs_authorization', remediation: /^The server no longer accepts the grant\. Run: token-broker authorize gmail$/ },
    { error: 'invalid_client', description: 'The OAuth client was not found.', status: 401, code: 'invalid_client', remediation: /mailboxes\.gmail\.clientId/ },
    { error: 'invalid_client', description: 'Unauthorized', status: 401, code: 'invalid_client', remediation: /mailboxes\.gmail\.clientSecret/ },
    { error: 'invalid_request', description: 'client_secret is missing.', status: 400, code: 'invalid_client', remediation: /even for desktop apps: set mailboxes\.gmail\.clientSecret/ },
    { error: 'redirect_uri_mismatch', description: 'Bad Request', status: 400, code: 'invalid_client', remediation: /mailboxes\.gmail\.redirectUri.*authorized redirect URIs/ },
    { error: 'invalid_scope', description: 'Some requested scopes were invalid. {invalid=[https://mail.google.com/]}', status: 400, grantType: 'device-code', code: 'invalid_client', remediation: /use grant type authorization-code/ },
    { error: 'expired_token', description: 'Expired.', status: 400, grantType: 'device-code', code: 'needs_authorization', remediation: /device code expired.*authorize gmail/ },
    { error: 'internal_failure', status: 500, code: 'authorization_server_error', remediation: /retries/ },
  ];
  for (const entry of cases) {
    test(`${entry.error} ${entry.description ?? ''} -> ${entry.code}`, () => {
      const error = classifyGoogleOAuthError(
        { error: entry.error, errorDescription: entry.description, httpStatus: entry.status },
        { ...user, grantType: entry.grantType ?? user.grantType },
      );
      assert.equal(error.code, entry.code);
      assert.equal(error.permanent, entry.status < 500);
      assert.match(error.remediation ?? '', entry.remediation);
      assert.equal(error.oauth?.error, entry.error, 'Google\'s own error is kept');
      assert.equal(error.displayCode, entry.error);
    });
  }
});

describe('classifyGoogleServiceAccountError', () => {
  const cases: { error: string; description: string; code: string; remediation: RegExp }[] = [
    { error: 'unauthorized_client', description: 'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.', code: 'consent_missing', remediation: /Domain-wide delegation/ },
    { error: 'invalid_grant', description: 'Invalid email or User ID', code: 'invalid_client', remediation: /mailboxes\.gmail-app\.username/ },
    { error: 'invalid_grant', description: 'Invalid JWT Signature.', code: 'invalid_client', remediation: /mailboxes\.gmail-app\.certificate/ },
    { error: 'invalid_grant', description: 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.', code: 'invalid_client', remediation: /clock/ },
    { error: 'invalid_grant', description: 'Invalid grant: account not found', code: 'invalid_client', remediation: /clientId \(the service account's e-mail address\)/ },
  ];
  for (const entry of cases) {
    test(`${entry.error} ${entry.description.slice(0, 24)} -> ${entry.code}`, () => {
      const error = classifyGoogleServiceAccountError({ error: entry.error, errorDescription: entry.description, httpStatus: 400 }, service);
      assert.equal(error.code, entry.code);
      assert.equal(error.permanent, true);
      assert.match(error.remediation ?? '', entry.remediation);
      assert.doesNotMatch(error.remediation ?? '', /token-broker authorize/, 'no person can re-authorize a service account');
    });
  }
});
