// Picks the grant implementation for a mailbox: Microsoft servers through
// msal-node, Google and generic servers through openid-client. The switches
// are exhaustive: a grant type or server type added to the config without an
// implementation fails to compile. Every grant made here reports its failures
// scrubbed of secrets (scrubbed-grant.ts): this is the one place all grants
// go through.
import type { MailboxConfig } from '../../config/index.js';
import { BrokerError } from '../../errors/index.js';
import type { Grant, GrantDependencies } from './grant.js';
import { microsoftClientCredentialsGrant } from './client-credentials.js';
import { microsoftAuthorizationCodeGrant } from './microsoft-authorization-code.js';
import { microsoftDeviceCodeGrant } from './microsoft-device-code.js';
import { createOidcGrant } from './oidc/index.js';
import { ropcGrant } from './ropc.js';
import { ropcDeprecatedGrant } from './ropc-deprecated.js';
import { withSecretsScrubbed } from './scrubbed-grant.js';

export function createGrant(mailbox: MailboxConfig, dependencies: GrantDependencies): Grant {
  return withSecretsScrubbed(createUnscrubbedGrant(mailbox, dependencies), mailbox);
}

function createUnscrubbedGrant(mailbox: MailboxConfig, dependencies: GrantDependencies): Grant {
  const serverType = mailbox.authorizationServer.type;
  switch (serverType) {
    case 'microsoft':
      return createMicrosoftGrant(mailbox, dependencies);
    case 'google':
    case 'generic':
      return createOidcGrant(mailbox, dependencies);
    default: {
      const unknown: never = serverType;
      throw new Error(`unknown authorization server type ${String(unknown)}`);
    }
  }
}

function createMicrosoftGrant(mailbox: MailboxConfig, dependencies: GrantDependencies): Grant {
  const grantType = mailbox.grantType;
  switch (grantType) {
    case 'ropc':
      return ropcGrant(mailbox, dependencies);
    case 'ropc-deprecated':
      return ropcDeprecatedGrant(mailbox, dependencies);
    case 'client-credentials':
      return microsoftClientCredentialsGrant(mailbox, dependencies, requireTenant(mailbox));
    case 'authorization-code':
      return microsoftAuthorizationCodeGrant(mailbox, dependencies, requireTenant(mailbox));
    case 'device-code':
      return microsoftDeviceCodeGrant(mailbox, dependencies, requireTenant(mailbox));
    default: {
      const unknown: never = grantType;
      throw new Error(`unknown grant type ${String(unknown)}`);
    }
  }
}

function requireTenant(mailbox: MailboxConfig): string {
  if (mailbox.tenantId !== undefined) return mailbox.tenantId;
  // Validation requires tenantId for these grants on microsoft servers.
  throw new BrokerError(`mailbox ${mailbox.name}: grant type ${mailbox.grantType} needs tenantId (config validation let this through).`, {
    code: 'internal',
    permanent: true,
    mailbox: mailbox.name,
  });
}
