// Entra's answers when a client authenticates wrongly: public vs confidential
// clients and certificate (client assertion) failures, with Entra's texts.
import { entraInstant } from './entra-errors.js';
import type { EntraError } from './entra-errors.js';

const CERTIFICATE_DOCS = 'Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .';

function invalidClient(aadsts: number, message: string): EntraError {
  return { status: 401, error: 'invalid_client', aadsts, message };
}

export const clientAuthErrors = {
  /** "Allow public client flows" app (or a desktop redirect) that sent a secret or an assertion. */
  publicClientWithCredential: (): EntraError =>
    invalidClient(700025, "Client is public so neither 'client_assertion' nor 'client_secret' should be presented."),
  /** A confidential app that sent no credential with a user grant. */
  confidentialClientWithoutCredential: (): EntraError =>
    invalidClient(7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."),
  assertionMalformed: (): EntraError => invalidClient(50027, 'JWT token is invalid or malformed.'),
  assertionKeyNotFound: (clientId: string, thumbprint: string | undefined): EntraError =>
    invalidClient(
      700027,
      'Client assertion failed signature validation. [Reason - The key was not found., ' +
        `Thumbprint of key used by client: '${thumbprint ?? 'unknown'}', Please visit the Azure Portal, Graph Explorer ` +
        `or directly use MS Graph to see configured keys for app Id '${clientId}'. Review the documentation at ` +
        'https://docs.microsoft.com/en-us/graph/api/application-get to learn how to fetch this information.]',
    ),
  assertionSignatureInvalid: (clientId: string, thumbprint: string, validFrom: number, validTo: number): EntraError =>
    invalidClient(
      700027,
      'Client assertion failed signature validation. [Reason - The provided signature value did not match the ' +
        `expected signature value., Thumbprint of key used by client: '${thumbprint}', Found key ` +
        `'Start=${entraInstant(validFrom)}, End=${entraInstant(validTo)}', Please visit the Azure Portal, Graph ` +
        `Explorer or directly use MS Graph to see configured keys for app Id '${clientId}'.]`,
    ),
  /** `iss` or `sub` is not the client id. */
  assertionClientMismatch: (): EntraError =>
    invalidClient(700021, `Client assertion application identifier doesn't match 'client_id' parameter. ${CERTIFICATE_DOCS}`),
  /** `aud` is not the token endpoint the request came to. */
  assertionAudienceMismatch: (): EntraError =>
    invalidClient(700023, `Client assertion audience claim does not match Realm issuer. ${CERTIFICATE_DOCS}`),
  /** Entra prints a missing `nbf` as the epoch. */
  assertionOutOfTime: (now: number, notBefore: number, expires: number): EntraError =>
    invalidClient(
      700024,
      `Client assertion is not within its valid time range. Current time: ${entraInstant(now)}, assertion valid from ` +
        `${entraInstant(notBefore)}, expiry time of assertion ${entraInstant(expires)}. ${CERTIFICATE_DOCS}`,
    ),
} as const;
