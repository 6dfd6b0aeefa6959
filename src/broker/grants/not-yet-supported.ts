// The grant for combinations the configuration accepts but this version
// cannot obtain tokens for yet: it fails every acquisition with a clear,
// permanent error instead of the daemon refusing to start.
import type { MailboxConfig } from '../../config/index.js';
import { BrokerError } from '../../errors/index.js';
import type { Grant } from './grant.js';

export function notYetSupported(mailbox: MailboxConfig, what: string): Grant {
  return {
    type: mailbox.grantType,
    interactive: false,
    acquire(): Promise<never> {
      return Promise.reject(
        new BrokerError(`mailbox ${mailbox.name}: ${what} is not supported by this version of token-broker.`, {
          code: 'not_implemented',
          permanent: true,
          mailbox: mailbox.name,
          authorizationServer: mailbox.authorizationServer.name,
          remediation: 'Use client-credentials with a client secret on a microsoft-type server, or upgrade token-broker.',
        }),
      );
    },
  };
}
