// A client certificate close to its end warns at every token request (the
// config warns once at load), so ops see it in the log long before Entra
// starts refusing the assertion.
import type { MailboxConfig } from '../../config/index.js';
import type { GrantDependencies } from './grant.js';

export const CERTIFICATE_WARNING_DAYS = 30;
const DAY_MS = 86_400_000;

export function warnIfCertificateExpiring(mailbox: MailboxConfig, dependencies: GrantDependencies): void {
  const notAfter = mailbox.authenticationMode === 'certificate' ? mailbox.certificate?.notAfter : undefined;
  if (notAfter === undefined) return;
  const daysLeft = Math.floor((notAfter - dependencies.clock.now()) / DAY_MS);
  if (daysLeft > CERTIFICATE_WARNING_DAYS) return;
  dependencies.logger.warn(
    { mailbox: mailbox.name, certificate: mailbox.certificate?.file, notAfter: new Date(notAfter).toISOString(), daysLeft },
    daysLeft < 0
      ? `mailbox ${mailbox.name}: the client certificate has expired; upload a new one to the app registration and update mailboxes.${mailbox.name}.certificate`
      : `mailbox ${mailbox.name}: the client certificate expires in ${daysLeft} days; renew it and update mailboxes.${mailbox.name}.certificate`,
  );
}
