// Lifetimes the authorization server itself stated: Google's
// refresh_token_expires_in (time-based access: the user granted access for a
// limited time), and the maximum lifetime Entra names in AADSTS70043 when a
// Conditional Access sign-in frequency ends a refresh token. The second comes
// in a failure: the token it names is already dead, but the same limit applies
// to every later sign-in, so after `token-broker authorize` it forecasts the next.
import type { MailboxConfig } from '../config/index.js';
import type { CredentialDeath } from './credential-death.js';
import { DAY_MS } from './facts.js';
import type { RefreshTokenFacts, StatedMaxLifetime } from './facts.js';

/** Grants a person authorized (ROPC signs in again with its password by itself: a dead refresh token costs it nothing). */
const USER_AUTHORIZED_GRANTS: ReadonlySet<string> = new Set(['authorization-code', 'device-code']);

export function statedRefreshTokenDeath(mailbox: MailboxConfig, facts: RefreshTokenFacts): CredentialDeath | undefined {
  if (!facts.hasRefreshToken || facts.refreshTokenExpiresAt === undefined) return undefined;
  const server = mailbox.authorizationServer.name;
  return {
    credential: 'refresh_token',
    at: facts.refreshTokenExpiresAt,
    basis: 'server_stated_lifetime',
    reason:
      `${server} stated this refresh token's lifetime when it issued it (refresh_token_expires_in: the user granted time-limited access); ` +
      `run token-broker authorize ${mailbox.name} before then, and grant access without a time limit if the consent screen offers one.`,
  };
}

export function signInFrequencyDeath(mailbox: MailboxConfig, facts: RefreshTokenFacts): CredentialDeath | undefined {
  const stated = facts.statedMaxLifetime;
  if (stated === undefined || mailbox.authorizationServer.type !== 'microsoft' || !USER_AUTHORIZED_GRANTS.has(mailbox.grantType)) return undefined;
  // A sign-in after Entra said it starts a new window of the same length; before it, the refused token's own window (already over).
  const renewed = facts.signedInAt !== undefined && facts.signedInAt > stated.statedAt;
  const start = renewed ? facts.signedInAt : stated.tokenIssuedAt;
  const at = start === undefined ? stated.statedAt : start + stated.lifetimeMs;
  return {
    credential: 'refresh_token',
    at,
    basis: 'server_stated_lifetime',
    reason:
      `Entra stated in AADSTS70043 on ${new Date(stated.statedAt).toISOString()} that a Conditional Access sign-in frequency limits this ` +
      `application's sign-ins to ${describeLifetime(stated.lifetimeMs)}; ${renewed ? 'before this date' : 'now'} run token-broker authorize ${mailbox.name}, ` +
      'or ask the Entra administrator to leave the application out of the policy (Entra admin center > Protection > Conditional Access).',
  };
}

/**
 * The lifetime AADSTS70043 names, and the refused token's issue date, from
 * its error_description. Entra's text (Microsoft's error reference, and as
 * seen in the field): "AADSTS70043: The refresh token has expired or is
 * invalid due to sign-in frequency checks by conditional access. The token
 * was issued on 2023-01-03T06:29:27.4842150Z and the maximum allowed lifetime
 * for this request is 86400." The lifetime is in seconds (86400, 1209600,
 * 2592000 are the values met); a .NET TimeSpan ("1.00:00:00", as AADSTS700082
 * writes its inactivity) is read too, in case Entra ever writes it that way.
 * Undefined when no lifetime can be read: the forecast then says nothing rather than guess.
 */
export function parseSignInFrequency(description: string | undefined, statedAt: number): StatedMaxLifetime | undefined {
  if (description === undefined || !/\bAADSTS70043\b/.test(description)) return undefined;
  const lifetime = /maximum allowed lifetime for this request is\s+([0-9][0-9.:]*[0-9]|[0-9])/i.exec(description)?.[1];
  const lifetimeMs = lifetime === undefined ? undefined : parseLifetime(lifetime);
  if (lifetimeMs === undefined || lifetimeMs <= 0) return undefined;
  const issued = /issued on\s+(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z?)/i.exec(description)?.[1];
  const tokenIssuedAt = issued === undefined ? undefined : parseIsoTime(issued);
  return { lifetimeMs, statedAt, ...(tokenIssuedAt === undefined ? {} : { tokenIssuedAt }) };
}

/** Seconds ("86400"), or a TimeSpan "[d.]hh:mm:ss". */
function parseLifetime(text: string): number | undefined {
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const span = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})$/.exec(text);
  if (span === null) return undefined;
  const [, days = '0', hours = '0', minutes = '0', seconds = '0'] = span;
  return ((Number(days) * 24 + Number(hours)) * 60 + Number(minutes)) * 60_000 + Number(seconds) * 1000;
}

/** Entra writes seven fractional digits (.NET ticks); Date.parse is only sure of three. */
function parseIsoTime(text: string): number | undefined {
  const normalized = text.replace(/(\.\d{3})\d+/, '$1').replace(/([^Z])$/, '$1Z');
  const at = Date.parse(normalized);
  return Number.isNaN(at) ? undefined : at;
}

function describeLifetime(ms: number): string {
  if (ms % DAY_MS === 0) return `${ms / DAY_MS} day${ms === DAY_MS ? '' : 's'}`;
  const hours = ms / 3_600_000;
  return Number.isInteger(hours) ? `${hours} hour${hours === 1 ? '' : 's'}` : `${Math.round(ms / 1000)} s`;
}
