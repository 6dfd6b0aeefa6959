// Entra ID refresh tokens die after 90 days without a redemption. The broker
// redeems idle mailboxes' tokens every refresh.keepAliveDays, so this date
// only comes near when the keep-alive keeps failing.
import type { MailboxConfig } from '../config/index.js';
import type { CredentialDeath } from './credential-death.js';
import { DAY_MS } from './facts.js';
import type { RefreshTokenFacts } from './facts.js';

/** Entra's inactivity window of a refresh token (Microsoft identity platform, "Refresh tokens": 90 days). */
export const ENTRA_INACTIVITY_DAYS = 90;

/**
 * Only grants a person authorized: ROPC signs in again with the configured
 * password when its refresh token is refused, so its death costs nothing.
 */
const USER_AUTHORIZED_GRANTS: ReadonlySet<string> = new Set(['authorization-code', 'device-code']);

export function entraInactivityDeath(mailbox: MailboxConfig, facts: RefreshTokenFacts): CredentialDeath | undefined {
  if (mailbox.authorizationServer.type !== 'microsoft' || !USER_AUTHORIZED_GRANTS.has(mailbox.grantType)) return undefined;
  if (!facts.hasRefreshToken || facts.refreshTokenUsedAt === undefined) return undefined;
  return {
    credential: 'refresh_token',
    at: facts.refreshTokenUsedAt + ENTRA_INACTIVITY_DAYS * DAY_MS,
    basis: 'entra_inactivity',
    reason:
      `Entra ID drops a refresh token unused for ${ENTRA_INACTIVITY_DAYS} days, counted from its last redemption; ` +
      `the broker redeems it every refresh.keepAliveDays, so this date only comes near when those redemptions keep failing: ` +
      `fix the failure shown for the mailbox, or run token-broker authorize ${mailbox.name} after the date.`,
  };
}
