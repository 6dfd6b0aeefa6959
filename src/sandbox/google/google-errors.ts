// Google's error answers, with its status codes and texts (which are terse
// and sometimes just the HTTP reason phrase), so clients are tested against
// what they will really get.

export interface GoogleError {
  readonly status: number;
  readonly body: { error: string; error_description?: string };
}

const error = (status: number, code: string, description?: string): GoogleError => ({
  status,
  body: description === undefined ? { error: code } : { error: code, error_description: description },
});

export const googleErrors = {
  clientNotFound: () => error(401, 'invalid_client', 'The OAuth client was not found.'),
  wrongSecret: () => error(401, 'invalid_client', 'Unauthorized'),
  noClientId: () => error(400, 'invalid_request', 'Could not determine client ID from request.'),
  missingSecret: () => error(400, 'invalid_request', 'client_secret is missing.'),
  missingParameter: (name: string) => error(400, 'invalid_request', `Missing required parameter: ${name}`),
  unsupportedGrantType: (grantType: string) => error(400, 'unsupported_grant_type', `Invalid grant_type: ${grantType}`),
  redirectUriMismatch: () => error(400, 'redirect_uri_mismatch', 'Bad Request'),
  malformedCode: () => error(400, 'invalid_grant', 'Malformed auth code.'),
  badCode: () => error(400, 'invalid_grant', 'Bad Request'),
  missingVerifier: () => error(400, 'invalid_grant', 'Missing code verifier.'),
  wrongVerifier: () => error(400, 'invalid_grant', 'Invalid code verifier.'),
  revoked: () => error(400, 'invalid_grant', 'Token has been expired or revoked.'),
  unauthorizedClient: () => error(401, 'unauthorized_client', 'Unauthorized'),
  missingScope: () => error(400, 'invalid_scope', 'Empty or missing scope not allowed.'),
  invalidScope: (scopes: readonly string[]) => error(400, 'invalid_scope', `Some requested scopes were invalid. {invalid=[${scopes.join(', ')}]}`),
  // Throttling and outages
  rateLimitExceeded: () => error(429, 'rate_limit_exceeded', 'Rate Limit Exceeded'),
  backendFailure: () => error(503, 'internal_failure'),
  // Device flow (polling)
  authorizationPending: () => error(428, 'authorization_pending', 'Precondition Required.'),
  deviceCodeExpired: () => error(400, 'expired_token', 'Expired.'),
  // Service accounts (JWT bearer)
  invalidJwt: (why: string) => error(400, 'invalid_grant', `Invalid JWT: ${why}`),
  invalidSignature: () => error(400, 'invalid_grant', 'Invalid JWT Signature.'),
  accountNotFound: () => error(400, 'invalid_grant', 'Invalid grant: account not found'),
  invalidSubject: () => error(400, 'invalid_grant', 'Invalid email or User ID'),
  notDelegated: () => error(401, 'unauthorized_client', 'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.'),
} as const;
