// How long a served token must stay valid: min_validity_seconds as a request
// gives it, and as the engine judges a token against it. One place, so that
// GetToken's cache, its acquisition and WatchToken's pushes agree.
import { BrokerError } from '../errors/index.js';

export const DEFAULT_MIN_VALIDITY_SECONDS = 60;
const DEFAULT_MIN_VALIDITY_MS = DEFAULT_MIN_VALIDITY_SECONDS * 1000;
/**
 * The most min_validity_seconds a request may ask for. No authorization
 * server issues access tokens for longer than a day (Entra 60-90 min, Google
 * 1 h), so more can never be satisfied: refused before it costs a request.
 */
export const MAX_MIN_VALIDITY_SECONDS = 86_400;

/**
 * min_validity as the engine takes it: the seconds a caller asked for, or
 * 'default' when it left min_validity_seconds 0 (requiredValidityMs says
 * what that needs of a token).
 */
export type MinValidity = number | 'default';

/**
 * The min_validity_seconds of a request (`field` names it in the message)
 * as the engine takes it: 0 means the default; more than
 * MAX_MIN_VALIDITY_SECONDS is refused (invalid_request: INVALID_ARGUMENT).
 */
export function requestedMinValidity(seconds: number, field: string): MinValidity {
  if (seconds === 0) return 'default';
  checkMinValidity(seconds, field);
  return seconds;
}

export function checkMinValidity(minValidity: MinValidity, field: string): void {
  // Also refuses NaN, which no comparison would.
  if (minValidity === 'default' || (minValidity >= 0 && minValidity <= MAX_MIN_VALIDITY_SECONDS)) return;
  throw new BrokerError(
    `${field} is ${minValidity}, more than a day (${MAX_MIN_VALIDITY_SECONDS} s): no authorization server issues tokens that long, so no token could satisfy it.`,
    {
      code: 'invalid_request',
      remediation: `Ask for the validity the connection needs, less than the token lifetime (usually 3600 s); 0 means the default, ${DEFAULT_MIN_VALIDITY_SECONDS} s (half the token lifetime for tokens that live less).`,
    },
  );
}

/**
 * How long `token` must still be valid to be served (ms). The default is
 * 60 s; but a server whose tokens live less than that (test servers, some
 * custom ones) could then never be served without an explicit value, every
 * call refused as INVALID_ARGUMENT although the token is fine for a login:
 * for such a token the default is half its lifetime, the point from which
 * the proactive refresh (refreshDueAt) already fetches the next. A value the
 * caller gave is taken as it is, never lowered. Allocates nothing: the cached
 * GetToken path calls it.
 */
export function requiredValidityMs(minValidity: MinValidity, token: { readonly expiresAt: number; readonly obtainedAt: number }): number {
  if (minValidity !== 'default') return minValidity * 1000;
  const lifetimeMs = token.expiresAt - token.obtainedAt;
  return lifetimeMs < DEFAULT_MIN_VALIDITY_MS ? lifetimeMs / 2 : DEFAULT_MIN_VALIDITY_MS;
}
