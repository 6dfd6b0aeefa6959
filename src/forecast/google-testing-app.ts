// Google: an OAuth app whose consent screen is in "Testing" publishing status
// gets refresh tokens that die 7 days after they were issued, however often
// they are used (Google Identity, "Refresh token expiration").
import type { MailboxConfig } from '../config/index.js';
import type { CredentialDeath } from './credential-death.js';
import { DAY_MS } from './facts.js';
import type { RefreshTokenFacts } from './facts.js';

export const GOOGLE_TESTING_APP_DAYS = 7;

export function googleTestingAppDeath(mailbox: MailboxConfig, facts: RefreshTokenFacts): CredentialDeath | undefined {
  const server = mailbox.authorizationServer;
  if (server.type !== 'google' || server.testingApp !== true) return undefined;
  if (!facts.hasRefreshToken || facts.refreshTokenIssuedAt === undefined) return undefined;
  return {
    credential: 'refresh_token',
    at: facts.refreshTokenIssuedAt + GOOGLE_TESTING_APP_DAYS * DAY_MS,
    basis: 'google_testing_app',
    reason:
      `authorizationServers.${server.name}.testingApp: the Google app's consent screen is in "Testing", so its refresh tokens die ` +
      `${GOOGLE_TESTING_APP_DAYS} days after they were issued; run token-broker authorize ${mailbox.name} before then, ` +
      'or publish the app (Google Cloud console > APIs & Services > OAuth consent screen > Publish app) and authorize once more.',
  };
}
