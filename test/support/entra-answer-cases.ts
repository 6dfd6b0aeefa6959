// The Entra answers of issue 13 (point 5) as tests expect them, written apart
// from the broker's table so that a changed row shows as a failing test: what
// Entra sends (OAuth error, HTTP status), the grant that meets it (a user's
// ROPC sign-in or an application's client credentials), how the broker
// classifies it, and what the remediation must say (the meaning) and name
// (where to act). `{mailbox}` and `{server}` stand for the mailbox's and its
// authorization server's config names.

export type EntraCaseGrant = 'ropc' | 'client-credentials';

export interface EntraAnswerCase {
  readonly aadsts: number;
  /** OAuth `error` Entra sends with it. */
  readonly error: string;
  readonly status: number;
  readonly grant: EntraCaseGrant;
  readonly code: 'needs_authorization' | 'invalid_client' | 'consent_missing' | 'authorization_server_error';
  readonly permanent: boolean;
  /** The meaning, in the remediation. */
  readonly what: RegExp;
  /** Where to act: config keys, Entra admin center blades, commands; each must appear as is. */
  readonly where: readonly string[];
}

export const ENTRA_ANSWER_CASES: readonly EntraAnswerCase[] = [
  // The user: ROPC signs in with the configured password.
  { aadsts: 50055, error: 'invalid_grant', status: 400, grant: 'ropc', code: 'needs_authorization', permanent: true, what: /password has expired/, where: ['Entra admin center > Users > the user > Reset password', 'mailboxes.{mailbox}.password'] },
  { aadsts: 50144, error: 'invalid_grant', status: 400, grant: 'ropc', code: 'needs_authorization', permanent: true, what: /on-premises Active Directory password has expired/, where: ['mailboxes.{mailbox}.password'] },
  { aadsts: 50057, error: 'invalid_grant', status: 400, grant: 'ropc', code: 'needs_authorization', permanent: true, what: /account is disabled/, where: ['Entra admin center > Users > the user > Edit properties > Settings > Account enabled'] },
  // A lockout ends by itself: retried with backoff, not paused for an hour.
  { aadsts: 50053, error: 'invalid_grant', status: 400, grant: 'ropc', code: 'authorization_server_error', permanent: false, what: /account is locked/, where: ['Sign-in logs > User sign-ins, error code 50053', 'mailboxes.{mailbox}.username'] },
  { aadsts: 50034, error: 'invalid_grant', status: 400, grant: 'ropc', code: 'needs_authorization', permanent: true, what: /user does not exist in the tenant/, where: ['mailboxes.{mailbox}.username and tenantId'] },
  { aadsts: 50173, error: 'invalid_grant', status: 400, grant: 'ropc', code: 'needs_authorization', permanent: true, what: /grant was revoked: the password was changed or reset/, where: ['mailboxes.{mailbox}.password'] },
  { aadsts: 70043, error: 'invalid_grant', status: 400, grant: 'ropc', code: 'needs_authorization', permanent: true, what: /sign-in frequency/, where: ['Entra admin center > Protection > Conditional Access'] },
  { aadsts: 700084, error: 'invalid_grant', status: 400, grant: 'ropc', code: 'needs_authorization', permanent: true, what: /single-page application/, where: ['mailboxes.{mailbox}.redirectUri', 'App registrations > the application > Authentication'] },
  { aadsts: 53003, error: 'invalid_grant', status: 400, grant: 'ropc', code: 'needs_authorization', permanent: true, what: /Conditional Access policy blocked the token/, where: ['Sign-in logs > User sign-ins, error code 53003'] },
  { aadsts: 50158, error: 'invalid_grant', status: 400, grant: 'ropc', code: 'needs_authorization', permanent: true, what: /external security challenge/, where: ['use grantType authorization-code or device-code (mailboxes.{mailbox}.grantType)', 'token-broker authorize {mailbox}'] },
  { aadsts: 50079, error: 'invalid_grant', status: 400, grant: 'ropc', code: 'needs_authorization', permanent: true, what: /register security info/, where: ['https://aka.ms/mysecurityinfo', 'token-broker authorize {mailbox}'] },
  { aadsts: 65001, error: 'invalid_grant', status: 400, grant: 'ropc', code: 'consent_missing', permanent: true, what: /consented/, where: ['API permissions > Grant admin consent'] },
  { aadsts: 70000, error: 'invalid_grant', status: 400, grant: 'ropc', code: 'needs_authorization', permanent: true, what: /does not cover the requested scopes/, where: ['mailboxes.{mailbox}.scopes', 'API permissions'] },
  // The application: client credentials.
  { aadsts: 53003, error: 'invalid_grant', status: 400, grant: 'client-credentials', code: 'needs_authorization', permanent: true, what: /Conditional Access policy blocked the token/, where: ['Sign-in logs > Service principal sign-ins, error code 53003'] },
  { aadsts: 700016, error: 'unauthorized_client', status: 400, grant: 'client-credentials', code: 'invalid_client', permanent: true, what: /application was not found in the tenant/, where: ['mailboxes.{mailbox}.clientId and tenantId', 'Entra admin center > App registrations'] },
  { aadsts: 90002, error: 'invalid_request', status: 400, grant: 'client-credentials', code: 'invalid_client', permanent: true, what: /tenant was not found in this cloud/, where: ['mailboxes.{mailbox}.tenantId', 'authorizationServers.{server}.cloud'] },
  { aadsts: 500011, error: 'invalid_resource', status: 400, grant: 'client-credentials', code: 'invalid_client', permanent: true, what: /no service principal in the tenant/, where: ['authorizationServers.{server}.cloud', 'New-MgServicePrincipal -AppId 00000002-0000-0ff1-ce00-000000000000', 'New-ServicePrincipal'] },
  { aadsts: 7000222, error: 'invalid_client', status: 401, grant: 'client-credentials', code: 'invalid_client', permanent: true, what: /client secret has expired/, where: ['Certificates & secrets > New client secret', 'mailboxes.{mailbox}.clientSecret'] },
  { aadsts: 700027, error: 'invalid_client', status: 401, grant: 'client-credentials', code: 'invalid_client', permanent: true, what: /certificate is not registered/, where: ['Certificates & secrets > Certificates', 'mailboxes.{mailbox}.certificate.thumbprint'] },
  { aadsts: 70011, error: 'invalid_scope', status: 400, grant: 'client-credentials', code: 'invalid_client', permanent: true, what: /scope requested is invalid/, where: ['mailboxes.{mailbox}.scopes', '<resource>/.default'] },
];

/** The codes the issue names, each of which must have a row in the broker's table. */
export const ISSUE_13_CODES: readonly number[] = [50055, 50057, 50053, 50034, 50173, 70043, 700084, 53003, 50158, 50079, 65001, 700016, 90002, 500011, 7000222, 700027, 70000, 70011];

/** A case's places with the mailbox's and server's names filled in. */
export function placesOf(entry: EntraAnswerCase, mailbox: string, server: string): string[] {
  return entry.where.map((place) => place.replaceAll('{mailbox}', mailbox).replaceAll('{server}', server));
}
