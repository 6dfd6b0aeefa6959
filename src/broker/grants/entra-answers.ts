// The Entra answers ops meet, one row per AADSTS number: Entra's name for it,
// what it means, whether a person must act (permanent) or the broker gets
// past it by retrying, and what to do where (an Entra admin center blade, a
// config key, or `token-broker authorize`). The one table of AADSTS numbers
// in the broker: classifyOAuthError reads it, and so can a runbook.
//
// Meanings follow Microsoft Learn, "Microsoft Entra authentication and
// authorization error codes" (reference-error-codes); the names are Entra's
// own, which its sign-in logs and error pages show.
import type { BrokerErrorCode } from '../../errors/index.js';
import type { GrantTypeName } from '../../config/index.js';

/** What a remediation may name: the mailbox, its authorization server's config name and its grant type. */
export interface EntraAnswerContext {
  readonly mailbox: string;
  readonly authorizationServer: string;
  readonly grantType: string;
}

export interface EntraAnswer {
  /** The AADSTS number, as Entra sends it in `error_codes` (`50173`). */
  readonly aadsts: string;
  /** Entra's name for the error (reference-error-codes), where it publishes one. */
  readonly entraError?: string;
  /** One line: what Entra says went wrong, in words ops understand. */
  readonly meaning: string;
  readonly code: BrokerErrorCode;
  /** Only what a person must fix is permanent: asking again unchanged gets the same answer. */
  readonly permanent: boolean;
  /** What to do, and where. */
  readonly action: (context: EntraAnswerContext) => string;
}

/** Grants that sign in with a password the config holds: no `token-broker authorize` for them (it refuses non-interactive grants). */
const PASSWORD_GRANTS: ReadonlySet<string> = new Set<GrantTypeName>(['ropc', 'ropc-deprecated']);

/** Grants that a person signs in to in a browser or on a device page. */
const INTERACTIVE_GRANTS: ReadonlySet<string> = new Set<GrantTypeName>(['authorization-code', 'device-code']);

/**
 * How a mailbox gets a new grant: a password grant signs in again by itself
 * (a permanent failure pauses the mailbox for an hour, then the next caller's
 * request asks again), any other grant through `token-broker authorize`.
 */
export function signInAgain(context: EntraAnswerContext): string {
  if (PASSWORD_GRANTS.has(context.grantType)) {
    return `The broker signs in again with mailboxes.${context.mailbox}.password when asked for a token an hour after this failure; run token-broker authorize ${context.mailbox} to try at once.`;
  }
  return `Run: token-broker authorize ${context.mailbox}`;
}

/** After the user's password changed: a password grant needs the new one in the config, other grants a new sign-in. */
function afterPasswordChange(context: EntraAnswerContext): string {
  return PASSWORD_GRANTS.has(context.grantType)
    ? `then put the new password in mailboxes.${context.mailbox}.password (a reload signs in again at once).`
    : `then run: token-broker authorize ${context.mailbox}`;
}

/** ROPC sends a password and nothing else: it can answer no second factor or other challenge. */
function interactiveChallenge(context: EntraAnswerContext, what: string): string {
  if (INTERACTIVE_GRANTS.has(context.grantType)) return `Run: token-broker authorize ${context.mailbox} and complete ${what} in the browser.`;
  return `ROPC cannot do ${what}: use grantType authorization-code or device-code (mailboxes.${context.mailbox}.grantType), then run: token-broker authorize ${context.mailbox}`;
}

/** The sign-in log an administrator finds the failure in: apps sign in as service principals. */
function signInLogs(context: EntraAnswerContext, aadsts: string): string {
  const tab = context.grantType === 'client-credentials' ? 'Service principal sign-ins' : 'User sign-ins';
  return `Entra admin center > Monitoring & health > Sign-in logs > ${tab}, error code ${aadsts}`;
}

const APP_REGISTRATION = 'Entra admin center > App registrations > the application';

/** The Exchange Online resource (Office 365 Exchange Online), whose service principal a tenant without Exchange lacks. */
const EXCHANGE_ONLINE_APP_ID = '00000002-0000-0ff1-ce00-000000000000';

const SCOPES_HINT = 'client-credentials asks for one <resource>/.default (e.g. https://outlook.office365.com/.default); user grants name permissions of one resource (e.g. https://outlook.office.com/IMAP.AccessAsUser.All)';

export const ENTRA_ANSWERS: readonly EntraAnswer[] = [
  // --- The grant is gone: sign in again -----------------------------------
  {
    aadsts: '50173',
    entraError: 'FreshTokenNeeded',
    meaning: 'The grant was revoked: the password was changed or reset, or an administrator or the user revoked the sessions.',
    code: 'needs_authorization',
    permanent: true,
    action: signInAgain,
  },
  {
    aadsts: '70043',
    entraError: 'BadTokenDueToSignInFrequency',
    meaning: 'The refresh token outlived the sign-in frequency a Conditional Access policy sets.',
    code: 'needs_authorization',
    permanent: true,
    action: (c) =>
      `So that it does not recur, ask the Entra administrator to leave this application out of the policy's sign-in frequency (Entra admin center > Protection > Conditional Access). ${signInAgain(c)}`,
  },
  {
    aadsts: '700084',
    meaning: 'The refresh token was issued to a single-page application, so its lifetime is fixed (24 hours) and cannot be extended.',
    code: 'needs_authorization',
    permanent: true,
    action: (c) =>
      `Register mailboxes.${c.mailbox}.redirectUri under "Mobile and desktop applications" or "Web", not "Single-page application" (${APP_REGISTRATION} > Authentication), then run: token-broker authorize ${c.mailbox}`,
  },
  {
    aadsts: '700082',
    entraError: 'ExpiredOrRevokedGrantInactiveToken',
    meaning: 'The refresh token expired from inactivity (90 days unused).',
    code: 'needs_authorization',
    permanent: true,
    action: signInAgain,
  },
  {
    aadsts: '70008',
    entraError: 'ExpiredOrRevokedGrant',
    meaning: 'The refresh token or code expired or was revoked.',
    code: 'needs_authorization',
    permanent: true,
    action: signInAgain,
  },
  {
    aadsts: '70000',
    entraError: 'InvalidGrant',
    meaning: 'The grant does not cover the requested scopes (they changed since the sign-in, or consent was withdrawn), or the refresh token is invalid.',
    code: 'needs_authorization',
    permanent: true,
    action: (c) => `Check mailboxes.${c.mailbox}.scopes against the consented permissions (${APP_REGISTRATION} > API permissions). ${signInAgain(c)}`,
  },
  {
    aadsts: '54005',
    meaning: 'The authorization code was already redeemed.',
    code: 'needs_authorization',
    permanent: true,
    action: signInAgain,
  },
  {
    aadsts: '501481',
    meaning: 'The PKCE code verifier did not match the authorization request.',
    code: 'needs_authorization',
    permanent: true,
    action: signInAgain,
  },
  {
    aadsts: '70020',
    meaning: 'The device code expired before the sign-in finished.',
    code: 'needs_authorization',
    permanent: true,
    action: signInAgain,
  },
  // --- The user account -----------------------------------------------------
  {
    aadsts: '50055',
    entraError: 'InvalidPasswordExpiredPassword',
    meaning: "The user's password has expired.",
    code: 'needs_authorization',
    permanent: true,
    action: (c) => `Change it (the user at their next sign-in, or an administrator: Entra admin center > Users > the user > Reset password), ${afterPasswordChange(c)}`,
  },
  {
    aadsts: '50144',
    entraError: 'InvalidPasswordExpiredOnPremPassword',
    meaning: "The user's on-premises Active Directory password has expired.",
    code: 'needs_authorization',
    permanent: true,
    action: (c) => `Change it in Active Directory (or by self-service password reset), ${afterPasswordChange(c)}`,
  },
  {
    aadsts: '50057',
    entraError: 'UserDisabled',
    meaning: 'The user account is disabled.',
    code: 'needs_authorization',
    permanent: true,
    action: (c) =>
      `An administrator must enable it: Entra admin center > Users > the user > Edit properties > Settings > Account enabled (a synchronized account: in on-premises Active Directory). ${signInAgain(c)}`,
  },
  {
    aadsts: '50053',
    entraError: 'IdsLocked',
    meaning: 'The account is locked after too many sign-ins with a wrong password, or the sign-in came from an IP address with malicious activity.',
    // A smart lockout ends by itself: the broker backs off and gets past it
    // without anyone. An hour's pause for a lockout of minutes would cost more.
    code: 'authorization_server_error',
    permanent: false,
    action: (c) =>
      `The broker retries with backoff; a lockout ends by itself. If it lasts, find the failure reason in ${signInLogs(c, '50053')}, make sure nothing else signs in as mailboxes.${c.mailbox}.username with an old password, and unblock the user (Entra admin center > Protection > Identity Protection > Risky users).`,
  },
  {
    aadsts: '50034',
    entraError: 'UserAccountNotFound',
    meaning: 'The user does not exist in the tenant (mistyped, or a member of another tenant).',
    code: 'needs_authorization',
    permanent: true,
    action: (c) =>
      `Check mailboxes.${c.mailbox}.username and tenantId (Entra admin center > Users); a user of another tenant must be added as a guest, and personal Microsoft accounts cannot use ROPC.`,
  },
  {
    aadsts: '50126',
    entraError: 'InvalidUserNameOrPassword',
    meaning: 'Wrong user name or password.',
    code: 'needs_authorization',
    permanent: true,
    action: (c) =>
      `Update mailboxes.${c.mailbox}.password (a reload re-acquires). If the password is right, the account is probably federated (ADFS or another identity provider), which ROPC cannot sign in: use grantType authorization-code or device-code.`,
  },
  // --- Policies and challenges ----------------------------------------------
  {
    aadsts: '53003',
    entraError: 'BlockedByConditionalAccess',
    meaning: 'A Conditional Access policy blocked the token.',
    code: 'needs_authorization',
    permanent: true,
    action: (c) =>
      `The failed sign-in's Conditional Access tab names the policy (${signInLogs(c, '53003')}): ask the Entra administrator to allow this application from this host's location.`,
  },
  {
    aadsts: '50076',
    entraError: 'UserStrongAuthClientAuthNRequired',
    meaning: 'Multi-factor authentication is required.',
    code: 'needs_authorization',
    permanent: true,
    action: (c) => interactiveChallenge(c, 'MFA'),
  },
  {
    aadsts: '50079',
    entraError: 'UserStrongAuthEnrollmentRequired',
    meaning: 'The user must register security info for multi-factor authentication.',
    code: 'needs_authorization',
    permanent: true,
    action: (c) => `The user registers it at https://aka.ms/mysecurityinfo. ${interactiveChallenge(c, 'MFA')}`,
  },
  {
    aadsts: '50158',
    entraError: 'ExternalSecurityChallenge',
    meaning: 'An external security challenge (a third-party MFA or custom control Conditional Access requires) was not satisfied.',
    code: 'needs_authorization',
    permanent: true,
    action: (c) => interactiveChallenge(c, 'an external challenge'),
  },
  {
    aadsts: '65001',
    entraError: 'DelegationDoesNotExist',
    meaning: 'Nobody consented to the application using these permissions for this user or tenant.',
    code: 'consent_missing',
    permanent: true,
    action: (c) => `Grant admin consent for the application: ${APP_REGISTRATION} > API permissions > Grant admin consent. ${signInAgain(c)}`,
  },
  // --- The application and the tenant ---------------------------------------
  {
    aadsts: '700016',
    entraError: 'UnauthorizedClient_DoesNotMatchRequest',
    meaning: 'The application was not found in the tenant.',
    code: 'invalid_client',
    permanent: true,
    action: (c) =>
      `Check mailboxes.${c.mailbox}.clientId and tenantId against Entra admin center > App registrations (Application (client) ID, Directory (tenant) ID); an application of another tenant must first be consented to in this one (Enterprise applications).`,
  },
  {
    aadsts: '90002',
    entraError: 'InvalidTenantName',
    meaning: 'The tenant was not found in this cloud.',
    code: 'invalid_client',
    permanent: true,
    action: (c) =>
      `Check mailboxes.${c.mailbox}.tenantId (Entra admin center > Overview > Tenant ID) and authorizationServers.${c.authorizationServer}.cloud: a tenant of a national cloud (usgov, usgov-dod, china) is not found in the global one, nor the other way round.`,
  },
  {
    aadsts: '500011',
    entraError: 'InvalidResourceServicePrincipalNotFound',
    meaning: 'The resource the scopes name has no service principal in the tenant.',
    code: 'invalid_client',
    permanent: true,
    action: (c) =>
      `A tenant in a national cloud needs authorizationServers.${c.authorizationServer}.cloud (usgov, usgov-dod or china), so the scopes name that cloud's Exchange Online and Graph. Otherwise check mailboxes.${c.mailbox}.scopes, or the tenant lacks the Exchange Online service principal: New-MgServicePrincipal -AppId ${EXCHANGE_ONLINE_APP_ID} (Microsoft Graph PowerShell) or an Exchange Online licence; for app-only IMAP, POP or SMTP, Exchange also needs the application's own: New-ServicePrincipal (Exchange Online PowerShell).`,
  },
  {
    aadsts: '9001023',
    meaning: 'The grant type is not supported over the /common or /consumers endpoints.',
    code: 'invalid_client',
    permanent: true,
    action: (c) => `Set mailboxes.${c.mailbox}.tenantId to the tenant's ID (or organizations).`,
  },
  // --- The application's credentials ----------------------------------------
  {
    aadsts: '7000215',
    meaning: 'The client secret is wrong.',
    code: 'invalid_client',
    permanent: true,
    action: (c) => `Check mailboxes.${c.mailbox}.clientSecret (the secret's Value, not its Secret ID: ${APP_REGISTRATION} > Certificates & secrets).`,
  },
  {
    aadsts: '7000222',
    entraError: 'InvalidClientSecretExpiredKeysProvided',
    meaning: 'The client secret has expired.',
    code: 'invalid_client',
    permanent: true,
    action: (c) =>
      `Create a new one (${APP_REGISTRATION} > Certificates & secrets > New client secret) and put its Value in mailboxes.${c.mailbox}.clientSecret or clientSecretFile, or move to a certificate (authenticationMode: certificate), as Entra recommends.`,
  },
  {
    aadsts: '7000216',
    meaning: 'The application needs a client credential.',
    code: 'invalid_client',
    permanent: true,
    action: (c) => `Set mailboxes.${c.mailbox}.clientSecret, or use authenticationMode: certificate.`,
  },
  {
    aadsts: '700027',
    meaning: 'The client assertion failed signature validation: its certificate is not registered for the application.',
    code: 'invalid_client',
    permanent: true,
    action: (c) =>
      `Upload the certificate of mailboxes.${c.mailbox}.certificate (${APP_REGISTRATION} > Certificates & secrets > Certificates) and check that mailboxes.${c.mailbox}.certificate.thumbprint is its SHA-1 thumbprint.`,
  },
  {
    aadsts: '700024',
    meaning: 'The client assertion is outside its valid time range.',
    code: 'invalid_client',
    permanent: true,
    action: () => "Check this host's clock (NTP).",
  },
  {
    aadsts: '700025',
    entraError: 'InvalidClientPublicClientWithCredential',
    meaning: 'The application is a public client and must not send a secret.',
    code: 'invalid_client',
    permanent: true,
    action: (c) => `Remove mailboxes.${c.mailbox}.clientSecret, or use redirectPlatform: web.`,
  },
  {
    aadsts: '7000218',
    meaning: 'The application is a confidential client and needs a secret.',
    code: 'invalid_client',
    permanent: true,
    action: (c) =>
      `Set mailboxes.${c.mailbox}.clientSecret, or allow public client flows (${APP_REGISTRATION} > Authentication > Allow public client flows).`,
  },
  {
    aadsts: '50011',
    entraError: 'InvalidReplyTo',
    meaning: 'The redirect URI is not registered for the application.',
    code: 'invalid_client',
    permanent: true,
    action: (c) => `Add mailboxes.${c.mailbox}.redirectUri exactly as configured (${APP_REGISTRATION} > Authentication).`,
  },
  // --- Scopes -----------------------------------------------------------------
  {
    aadsts: '70011',
    entraError: 'InvalidScope',
    meaning: 'The scope requested is invalid.',
    code: 'invalid_client',
    permanent: true,
    action: (c) => `Check mailboxes.${c.mailbox}.scopes: ${SCOPES_HINT}.`,
  },
  {
    aadsts: '1002012',
    meaning: 'The scope requested is invalid.',
    code: 'invalid_client',
    permanent: true,
    action: (c) => `Check mailboxes.${c.mailbox}.scopes: ${SCOPES_HINT}.`,
  },
];

const BY_NUMBER: ReadonlyMap<string, EntraAnswer> = new Map(ENTRA_ANSWERS.map((answer) => [answer.aadsts, answer]));

/** The row of an AADSTS number, if the broker knows how to explain it. */
export function entraAnswer(aadsts: string): EntraAnswer | undefined {
  return BY_NUMBER.get(aadsts);
}

/** The remediation line of a row: its meaning, then what to do and where. */
export function entraRemediation(answer: EntraAnswer, context: EntraAnswerContext): string {
  return `${answer.meaning} ${answer.action(context)}`;
}
