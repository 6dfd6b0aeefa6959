// Who the client is and whether it proved it: client_secret_post, HTTP Basic,
// or a client assertion (certificate), under Entra's public/confidential rules.
import { createHash, timingSafeEqual } from 'node:crypto';
import { clientAuthErrors } from './client-auth-errors.js';
import { verifyClientAssertion } from './client-assertion.js';
import type { AssertionContext } from './client-assertion.js';
import type { RegisteredApplication } from './directory.js';
import { entraErrors } from './entra-errors.js';
import type { EntraError } from './entra-errors.js';
import { nonEmpty } from './http-io.js';

/** Recorded in access tokens as `appidacr`: '0', '1', '2'. */
export type ClientAuthenticationMethod = 'none' | 'secret' | 'certificate';

export interface PresentedClient {
  readonly clientId: string | undefined;
  readonly secret: string | undefined;
  readonly assertion: string | undefined;
}

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export const APPIDACR: Readonly<Record<ClientAuthenticationMethod, string>> = { none: '0', secret: '1', certificate: '2' };

/** RFC 6749 2.3: one client authentication method per request; a Basic header that does not decode is refused the same way. */
export function readPresentedClient(params: URLSearchParams, authorization: string | undefined): PresentedClient | EntraError {
  const basic = parseBasicAuthorization(authorization);
  if (basic === 'malformed') return entraErrors.conflictingClientAuthentication();
  const bodyClientId = nonEmpty(params.get('client_id'));
  const bodySecret = nonEmpty(params.get('client_secret'));
  const assertion =
    params.get('client_assertion_type') === CLIENT_ASSERTION_TYPE ? nonEmpty(params.get('client_assertion')) : undefined;
  if (basic === undefined) return { clientId: bodyClientId, secret: bodySecret, assertion };
  if (bodySecret !== undefined || assertion !== undefined) return entraErrors.conflictingClientAuthentication();
  if (bodyClientId !== undefined && bodyClientId.toLowerCase() !== basic.clientId.toLowerCase()) {
    return entraErrors.conflictingClientAuthentication();
  }
  return { clientId: basic.clientId, secret: basic.secret, assertion: undefined };
}

/** The client id a request names, for counting even requests that fail before anything is checked. */
export function namedClientId(params: URLSearchParams, authorization: string | undefined): string | undefined {
  const basic = parseBasicAuthorization(authorization);
  return nonEmpty(params.get('client_id')) ?? (typeof basic === 'object' ? basic.clientId : undefined);
}

/**
 * Client credentials need a confidential credential whatever the app. User
 * grants follow the registration: a public client must present none
 * (AADSTS700025), a confidential one must present one (AADSTS7000218).
 */
export function authenticateClient(
  application: RegisteredApplication,
  presented: PresentedClient,
  grantType: string,
  assertionContext: AssertionContext,
): ClientAuthenticationMethod | EntraError {
  const userGrant = grantType !== 'client_credentials';
  if (userGrant && application.publicClient) {
    return presented.secret === undefined && presented.assertion === undefined
      ? 'none'
      : clientAuthErrors.publicClientWithCredential();
  }
  if (presented.secret !== undefined) {
    return secretMatches(application.clientSecret, presented.secret)
      ? 'secret'
      : entraErrors.invalidClientSecret(application.clientId);
  }
  if (presented.assertion !== undefined) {
    const failure = verifyClientAssertion(presented.assertion, application.clientId, application.certificates, assertionContext);
    return failure ?? 'certificate';
  }
  return userGrant ? clientAuthErrors.confidentialClientWithoutCredential() : entraErrors.missingClientCredential(grantType);
}

/** Constant-time over equal-length digests, so timing reveals nothing of the secret. */
function secretMatches(expected: string | undefined, given: string): boolean {
  if (expected === undefined) return false;
  const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(expected), digest(given));
}

/** RFC 6749 2.3.1: Basic credentials are form-encoded before base64. */
function parseBasicAuthorization(header: string | undefined): { clientId: string; secret: string } | 'malformed' | undefined {
  if (header === undefined) return undefined;
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (match?.[1] === undefined) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return 'malformed';
  try {
    return { clientId: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    return 'malformed';
  }
}

function formDecode(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '));
}
