// Client credentials grant (application level): the application's own
// identity, no user and no refresh token. Microsoft servers via msal-node.
import type { ConfidentialClientApplication } from '@azure/msal-node';
import type { MailboxConfig } from '../../config/index.js';
import { BrokerError } from '../../errors/index.js';
import type { Grant, GrantDependencies, TokenResult } from './grant.js';
import { createConfidentialClient } from './msal/confidential-client.js';
import { fromMsalError } from './msal/errors.js';
import { notYetSupported } from './not-yet-supported.js';

export function clientCredentialsGrant(mailbox: MailboxConfig, dependencies: GrantDependencies): Grant {
  const server = mailbox.authorizationServer;
  if (server.type !== 'microsoft') {
    return notYetSupported(mailbox, `client-credentials on a ${server.type}-type authorization server`);
  }
  if (mailbox.authenticationMode !== 'client-secret') {
    return notYetSupported(mailbox, 'client-credentials with a certificate');
  }
  const secret = mailbox.clientSecret;
  const tenant = mailbox.tenantId;
  if (secret === undefined || tenant === undefined) {
    // Validation guarantees both; reaching this is a bug, not an ops mistake.
    throw new BrokerError(`mailbox ${mailbox.name}: client-credentials needs tenantId and clientSecret (config validation let this through).`, {
      code: 'internal',
      permanent: true,
      mailbox: mailbox.name,
    });
  }
  const context = { mailbox: mailbox.name, authorizationServer: server.name, grantType: mailbox.grantType };
  let application: ConfidentialClientApplication | undefined;

  return {
    type: 'client-credentials',
    interactive: false,
    async acquire(): Promise<TokenResult> {
      application ??= createConfidentialClient(mailbox, tenant, { clientSecret: secret.reveal() }, dependencies.transport, dependencies.logger);
      let result;
      try {
        // skipCache: the engine owns caching and decides when a new token is due.
        result = await application.acquireTokenByClientCredential({ scopes: [...mailbox.scopes], skipCache: true });
      } catch (error) {
        throw fromMsalError(error, context);
      }
      if (result === null || result.accessToken === '' || result.expiresOn === null) {
        throw new BrokerError(`mailbox ${mailbox.name}: ${server.name} answered without an access token.`, {
          code: 'authorization_server_error',
          mailbox: mailbox.name,
          authorizationServer: server.name,
          remediation: 'The broker retries; check the authorization server.',
        });
      }
      return {
        accessToken: result.accessToken,
        tokenType: result.tokenType === '' ? 'Bearer' : result.tokenType,
        expiresAt: result.expiresOn.getTime(),
        scopes: result.scopes.length > 0 ? result.scopes : [...mailbox.scopes],
      };
    },
  };
}
