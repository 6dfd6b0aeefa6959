// Creates the msal-node ConfidentialClientApplication for a mailbox: authority
// metadata handed over (no discovery calls), HTTP through our transport,
// msal's own log lines forwarded to ours without personal data.
import { ConfidentialClientApplication, LogLevel } from '@azure/msal-node';
import type { Logger } from 'pino';
import type { MailboxConfig } from '../../../config/index.js';
import type { HttpTransport } from '../../../http/index.js';
import { msalAuthorityOptions } from './authority.js';
import { MsalNetworkClient } from './network-client.js';
import { routeFor } from '../route.js';

export function createConfidentialClient(
  mailbox: MailboxConfig,
  tenant: string,
  credential: { clientSecret: string },
  transport: HttpTransport,
  logger: Logger,
): ConfidentialClientApplication {
  const authority = msalAuthorityOptions(mailbox.authorizationServer, tenant);
  return new ConfidentialClientApplication({
    auth: {
      clientId: mailbox.clientId,
      authority: authority.authority,
      clientSecret: credential.clientSecret,
      authorityMetadata: authority.authorityMetadata,
      cloudDiscoveryMetadata: authority.cloudDiscoveryMetadata,
      knownAuthorities: authority.knownAuthorities,
    },
    system: {
      networkClient: new MsalNetworkClient(transport, routeFor(mailbox)),
      loggerOptions: {
        piiLoggingEnabled: false,
        logLevel: LogLevel.Warning,
        loggerCallback: (level, message) => {
          if (level <= LogLevel.Error) logger.warn({ mailbox: mailbox.name, msal: message }, 'msal-node error');
          else logger.debug({ mailbox: mailbox.name, msal: message }, 'msal-node');
        },
      },
    },
  });
}
