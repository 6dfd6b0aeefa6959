// Every death a mailbox's credentials are expected to die, from each source,
// earliest first: what MailboxStatus.credentialDeaths carries.
import type { MailboxConfig } from '../config/index.js';
import { clientCertificateDeath } from './certificate.js';
import { clientSecretDeath } from './client-secret.js';
import type { CredentialDeath } from './credential-death.js';
import { entraInactivityDeath } from './entra-inactivity.js';
import type { RefreshTokenFacts } from './facts.js';
import { googleTestingAppDeath } from './google-testing-app.js';
import { signInFrequencyDeath, statedRefreshTokenDeath } from './server-stated-lifetime.js';

export function mailboxCredentialDeaths(mailbox: MailboxConfig, facts: RefreshTokenFacts): CredentialDeath[] {
  const deaths = [
    entraInactivityDeath(mailbox, facts),
    statedRefreshTokenDeath(mailbox, facts),
    signInFrequencyDeath(mailbox, facts),
    googleTestingAppDeath(mailbox, facts),
    clientSecretDeath(mailbox),
    clientCertificateDeath(mailbox),
  ].filter((death) => death !== undefined);
  return deaths.sort((a, b) => a.at - b.at);
}
