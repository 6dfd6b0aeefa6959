// A client secret's end date, as the operator wrote it from the app
// registration (mailboxes.<name>.clientSecretExpiresAt): Entra shows it under
// Certificates & secrets but never tells a client, so only the config knows it.
import type { MailboxConfig } from '../config/index.js';
import type { CredentialDeath } from './credential-death.js';

export function clientSecretDeath(mailbox: MailboxConfig): CredentialDeath | undefined {
  const at = mailbox.clientSecretExpiresAt;
  if (at === undefined || mailbox.clientSecret === undefined) return undefined;
  return {
    credential: 'client_secret',
    at,
    basis: 'secret_end_date',
    reason:
      `mailboxes.${mailbox.name}.clientSecretExpiresAt: the client secret of application ${mailbox.clientId} ends then; ` +
      `add a new secret to the app registration (Certificates & secrets), put it in mailboxes.${mailbox.name}.clientSecret ` +
      'with its new end date in clientSecretExpiresAt, and reload.',
  };
}
