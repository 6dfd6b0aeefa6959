// The grant for combinations the configuration accepts but the server type
// cannot do (Google has no client-credentials grant for OAuth clients, nor
// certificates for them): every acquisition fails with a permanent error that
// says what to configure instead, and the daemon still starts.
import type { MailboxConfig } from '../../../config/index.js';
import type { BrokerError } from '../../../errors/index.js';
import type { Grant } from '../grant.js';

export function unavailableGrant(mailbox: MailboxConfig, error: BrokerError): Grant {
  return {
    type: mailbox.grantType,
    interactive: false,
    acquire: (): Promise<never> => Promise.reject(error),
  };
}
