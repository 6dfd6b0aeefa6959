// The service-account grant (RFC 7523 JWT bearer): checks the assertion the
// way Google does (RS256 signature by the registered key its kid names, or by
// any of the account's keys without a kid; audience = the token
// endpoint, at most one hour, a known `sub` within the delegated scopes) and
// answers with Google's texts when it does not hold.
import { verify } from 'node:crypto';
import type { GoogleContext, JsonAnswer } from './context.js';
import { googleErrors } from './google-errors.js';
import type { GoogleError } from './google-errors.js';

const MAX_LIFETIME_SECONDS = 3600;
const CLOCK_SKEW_SECONDS = 300;

export interface VerifiedAssertion {
  readonly serviceAccount: string;
  /** The user acted as, or undefined for the service account itself. */
  readonly subject: string | undefined;
  readonly scope: string;
}

export function verifyAssertion(context: GoogleContext, assertion: string | null): VerifiedAssertion | GoogleError {
  if (assertion === null) return googleErrors.missingParameter('assertion');
  const [encodedHeader = '', encodedClaims = '', signature = '', ...extra] = assertion.split('.');
  const header = parseObject(encodedHeader);
  const claims = parseObject(encodedClaims);
  if (extra.length > 0 || header === undefined || claims === undefined) return googleErrors.invalidJwt('Unable to parse the assertion.');
  if (header['alg'] !== 'RS256') return googleErrors.invalidJwt('Unsupported algorithm; use RS256.');
  const iss = claims['iss'];
  const account = typeof iss === 'string' ? context.directory.serviceAccount(iss) : undefined;
  if (account === undefined) return googleErrors.accountNotFound();
  const signed = Buffer.from(`${encodedHeader}.${encodedClaims}`);
  // Google picks the key the header's kid names (an unknown one fails like a bad signature), else tries each.
  const kid = header['kid'];
  const keys = kid === undefined ? account.keys : account.keys.filter((key) => key.keyId === kid);
  if (!keys.some((key) => verify('sha256', signed, key.publicKey, Buffer.from(signature, 'base64url')))) return googleErrors.invalidSignature();

  const audience = `${context.url()}/token`;
  if (!sameTokenEndpoint(claims['aud'], audience)) {
    return googleErrors.invalidJwt(`Failed audience check. The expected value was: ${audience}. The actual value was: ${String(claims['aud'])}`);
  }
  const { iat, exp } = claims;
  const now = context.clock.now() / 1000;
  if (typeof iat !== 'number' || typeof exp !== 'number' || exp - iat > MAX_LIFETIME_SECONDS || iat > now + CLOCK_SKEW_SECONDS || exp < now) {
    return googleErrors.invalidJwt('Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.');
  }
  const scope = typeof claims['scope'] === 'string' ? claims['scope'].trim() : '';
  if (scope === '') return googleErrors.missingScope();
  const sub = claims['sub'];
  if (sub === undefined) return { serviceAccount: account.clientId, subject: undefined, scope };
  if (typeof sub !== 'string' || !context.directory.hasUser(sub)) return googleErrors.invalidSubject();
  const delegated = account.delegatedScopes;
  if (delegated !== undefined && !scope.split(' ').every((each) => delegated.includes(each))) return googleErrors.notDelegated();
  return { serviceAccount: account.clientId, subject: sub.toLowerCase(), scope };
}

export function jwtBearerToken(context: GoogleContext, assertion: VerifiedAssertion): JsonAnswer {
  const lifetime = context.accessTokenLifetimeSeconds;
  const accessToken = context.issued.issueAccessToken(
    { sub: assertion.subject ?? assertion.serviceAccount, azp: assertion.serviceAccount, scope: assertion.scope, grantType: 'jwt-bearer' },
    lifetime,
  );
  // Google sends neither scope nor a refresh token for service accounts.
  return { status: 200, body: { access_token: accessToken, expires_in: lifetime, token_type: 'Bearer' } };
}

function parseObject(encoded: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The token endpoint under any of the sandbox's names: tests may reach it as
 * a name only their proxy resolves (hostnames option), on the same port.
 */
function sameTokenEndpoint(aud: unknown, audience: string): boolean {
  if (typeof aud !== 'string') return false;
  if (aud === audience) return true;
  try {
    const given = new URL(aud);
    const expected = new URL(audience);
    return given.protocol === expected.protocol && given.port === expected.port && given.pathname === expected.pathname;
  } catch {
    return false;
  }
}
