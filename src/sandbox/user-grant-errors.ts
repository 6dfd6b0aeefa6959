// Entra's answers for the grants that act for a user (password, authorization
// code, refresh token, device code) and for the authorize endpoint. Texts are
// Entra's where it publishes them; the few the sandbox had to word itself say so.
import { entraInstant } from './entra-errors.js';
import type { EntraError } from './entra-errors.js';

function invalidGrant(aadsts: number, message: string): EntraError {
  return { status: 400, error: 'invalid_grant', aadsts, message };
}

/**
 * Entra marks a refresh token it will never honour again with suberror
 * `bad_token`; msal-node then drops it from its cache and throws an
 * InteractionRequiredAuthError instead of a ServerError.
 */
function deadRefreshToken(aadsts: number, message: string): EntraError {
  return { ...invalidGrant(aadsts, message), suberror: 'bad_token' };
}

const EXPIRED_GRANT =
  'The provided authorization code or refresh token has expired due to inactivity. Send a new interactive ' +
  'authorization request for this user and resource.';

/** Entra names the resource by its application id in AADSTS50076; these are Exchange Online's and Graph's. */
const FIRST_PARTY_APP_IDS: ReadonlyMap<string, string> = new Map([
  ['https://outlook.office.com', '00000002-0000-0ff1-ce00-000000000000'],
  ['https://outlook.office365.com', '00000002-0000-0ff1-ce00-000000000000'],
  ['https://graph.microsoft.com', '00000003-0000-0000-c000-000000000000'],
]);

/** `d.hh:mm:ss`, the .NET TimeSpan format of Entra's inactivity messages. */
function timeSpan(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  const pad = (value: number): string => String(value).padStart(2, '0');
  const days = Math.floor(seconds / 86400);
  return `${days}.${pad(Math.floor(seconds / 3600) % 24)}:${pad(Math.floor(seconds / 60) % 60)}:${pad(seconds % 60)}`;
}

export const userGrantErrors = {
  // --- Resource owner password credentials ---------------------------------
  /** Wrong password, and also what Entra answers for a federated (ADFS) user's password. */
  invalidCredentials: (): EntraError => invalidGrant(50126, 'Error validating credentials due to invalid username or password.'),
  mfaRequired: (resource: string): EntraError => ({
    ...invalidGrant(
      50076,
      'Due to a configuration change made by your administrator, or because you moved to a new location, you must ' +
        `use multi-factor authentication to access '${FIRST_PARTY_APP_IDS.get(resource.toLowerCase()) ?? resource}'.`,
    ),
    suberror: 'basic_action',
  }),
  /** Entra hides the UPN in this message, literally. */
  userNotFound: (tenant: string): EntraError =>
    invalidGrant(
      50034,
      `The user account {EmailHidden} does not exist in the ${tenant} directory. To sign into this application, ` +
        'the account must be added to the directory.',
    ),
  passwordGrantOnGeneralAudience: (): EntraError => ({
    status: 400,
    error: 'invalid_request',
    aadsts: 9001023,
    message:
      'The grant type is not supported over the /common or /consumers endpoints. Please use the /organizations or ' +
      'tenant-specific endpoint.',
  }),

  // --- Codes and refresh tokens -----------------------------------------------
  /** A code, refresh token or device code this sandbox never issued. */
  grantMalformed: (): EntraError => invalidGrant(9002313, 'Invalid request. Request is malformed or invalid.'),
  /** A refresh token of another client or tenant. */
  refreshTokenNotValid: (): EntraError =>
    invalidGrant(70000, "The provided value for the input parameter 'refresh_token' or 'assertion' is not valid."),
  /** A code issued to another client. */
  codeNotValid: (): EntraError => invalidGrant(70000, 'Provided grant is invalid or malformed.'),
  /** An authorization code past its ten minutes. */
  codeExpired: (): EntraError => invalidGrant(70008, EXPIRED_GRANT),
  /**
   * A refresh token that was already redeemed (strict rotation, the sandbox's
   * rule). 70008 rather than 700082: 700082 says "inactive for {time}", which
   * a replayed token was not, and 70008 is Entra's general "this grant is no
   * longer honoured, authorize again".
   */
  refreshTokenReplayed: (): EntraError => deadRefreshToken(70008, EXPIRED_GRANT),
  refreshTokenInactive: (issuedAt: number, now: number): EntraError =>
    deadRefreshToken(
      700082,
      `The refresh token has expired due to inactivity. The token was issued on ${entraInstant(issuedAt)} and was ` +
        `inactive for ${timeSpan(now - issuedAt)}.`,
    ),
  refreshTokenRevoked: (issuedAt: number, tokensValidFrom: number): EntraError =>
    deadRefreshToken(
      50173,
      'The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have ' +
        `changed or reset their password. The grant was issued on '${entraInstant(issuedAt)}' and the TokensValidFrom ` +
        `date (before which tokens are not valid) for this user is '${entraInstant(tokensValidFrom)}'.`,
    ),
  codeRedeemed: (): EntraError =>
    invalidGrant(
      54005,
      'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.',
    ),
  codeVerifierMismatch: (): EntraError =>
    invalidGrant(501481, 'The Code_Verifier does not match the code_challenge supplied in the authorization request.'),
  replyAddressMismatch: (given: string, expected: string): EntraError =>
    invalidGrant(
      500112,
      `The reply address '${given}' does not match the reply address '${expected}' provided when requesting Authorization code.`,
    ),

  // --- Device code --------------------------------------------------------------
  authorizationPending: (): EntraError => ({
    status: 400,
    error: 'authorization_pending',
    aadsts: 70016,
    message: 'The provided request has not yet been authorized by the user. The user must input their code.',
  }),
  /** Entra documents `authorization_declined` but not its AADSTS text: 65004 (UserDeclinedConsent) is the nearest it publishes. */
  authorizationDeclined: (): EntraError => ({
    status: 400,
    error: 'authorization_declined',
    aadsts: 65004,
    message: 'User declined to consent to access the app.',
  }),
  deviceCodeExpired: (): EntraError => ({
    status: 400,
    error: 'expired_token',
    aadsts: 70020,
    message: "The provided value for the input parameter 'device_code' is not valid. This device code has expired.",
  }),
  deviceCodeUnknown: (): EntraError => ({
    status: 400,
    error: 'bad_verification_code',
    aadsts: 70018,
    message:
      'Invalid verification code due to User typing in wrong user code for device code flow. Authorization is not approved.',
  }),

  // --- Scopes --------------------------------------------------------------------
  scopeInvalid: (scope: string): EntraError => ({
    status: 400,
    error: 'invalid_scope',
    aadsts: 70011,
    message: `The provided value for the input parameter 'scope' is not valid. The scope ${scope} is not valid.`,
  }),
  scopeMultipleResources: (scope: string): EntraError => ({
    status: 400,
    error: 'invalid_scope',
    aadsts: 28000,
    message:
      'Provided value for the input parameter scope is not valid because it contains more than one resource. ' +
      `Scope ${scope} is not valid.`,
  }),

  // --- Authorize endpoint ------------------------------------------------------
  redirectUriMismatch: (redirectUri: string, clientId: string): EntraError => ({
    status: 400,
    error: 'invalid_request',
    aadsts: 50011,
    message:
      `The redirect URI '${redirectUri}' specified in the request does not match the redirect URIs configured for the ` +
      `application '${clientId}'. Make sure the redirect URI sent in the request matches one added to your application ` +
      'in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this.',
  }),
  unsupportedResponseType: (responseType: string): EntraError => ({
    status: 400,
    error: 'unsupported_response_type',
    aadsts: 70005,
    message: `response_type '${responseType}' is not supported; the sandbox serves the authorization code flow ('code') only.`,
  }),
  unsupportedResponseMode: (responseMode: string): EntraError => ({
    status: 400,
    error: 'invalid_request',
    aadsts: 70007,
    message: `The provided value '${responseMode}' for the input parameter 'response_mode' is not supported; use 'query' or 'fragment'.`,
  }),
  /**
   * Entra enforces PKCE with this error for single-page-app redirects; the
   * sandbox enforces it for every public client.
   */
  pkceRequired: (): EntraError => ({
    status: 400,
    error: 'invalid_request',
    aadsts: 9002325,
    message: 'Proof Key for Code Exchange is required for cross-origin authorization code redemption.',
  }),
  /** 501491 is Entra's InvalidCodeChallengeMethodInvalidSize; the method half of this text is the sandbox's. */
  codeChallengeInvalid: (detail: 'size' | 'method', method: string): EntraError => ({
    status: 400,
    error: 'invalid_request',
    aadsts: 501491,
    message:
      detail === 'size'
        ? 'Invalid size of Code_Challenge parameter.'
        : `Invalid code_challenge_method '${method}': use 'S256' (or 'plain').`,
  }),
  /** No login_hint, no `signInAs` user and not exactly one user in the tenant: nobody to sign in. */
  loginRequired: (): EntraError => ({
    status: 400,
    error: 'login_required',
    aadsts: 50058,
    message: 'A silent sign-in request was sent but no user is signed in.',
  }),
} as const;
