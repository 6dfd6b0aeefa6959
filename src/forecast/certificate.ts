// A client certificate's notAfter (client credentials or a web redirect with
// a certificate), read from the file when the config was loaded.
import type { MailboxConfig } from '../config/index.js';
import type { CredentialDeath } from './credential-death.js';

export function clientCertificateDeath(mailbox: MailboxConfig): CredentialDeath | undefined {
  const notAfter = mailbox.authenticationMode === 'certificate' ? mailbox.certificate?.notAfter : undefined;
  if (notAfter === undefined || mailbox.certificate === undefined) return undefined;
  return {
    credential: 'certificate',
    at: notAfter,
    basis: 'certificate_not_after',
    reason:
      `the client certificate ${mailbox.certificate.file} is not valid after this date (notAfter); upload a new one to the app registration, ` +
      `point mailboxes.${mailbox.name}.certificate at it with its thumbprint, and reload.`,
  };
}
