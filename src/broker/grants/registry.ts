// Picks the grant implementation for a mailbox. The switch is exhaustive: a
// grant type added to the config without an implementation fails to compile.
import type { MailboxConfig } from '../../config/index.js';
import type { Grant, GrantDependencies } from './grant.js';
import { clientCredentialsGrant } from './client-credentials.js';
import { notYetSupported } from './not-yet-supported.js';

export function createGrant(mailbox: MailboxConfig, dependencies: GrantDependencies): Grant {
  const grantType = mailbox.grantType;
  switch (grantType) {
    case 'client-credentials':
      return clientCredentialsGrant(mailbox, dependencies);
    case 'ropc':
    case 'ropc-deprecated':
    case 'authorization-code':
    case 'device-code':
      return notYetSupported(mailbox, `grant type ${grantType}`);
    default: {
      const unknown: never = grantType;
      throw new Error(`unknown grant type ${String(unknown)}`);
    }
  }
}
