// Client credentials on Microsoft Entra ID (application level): the
// application's own identity by client secret or certificate, no user and no
// refresh token. One msal application per mailbox, its cache bypassed: the
// engine decides when a new token is due.
import type { ConfidentialClientApplication } from '@azure/msal-node';
import type { MailboxConfig } from '../../config/index.js';
import { BrokerError } from '../../errors/index.js';
import type { Grant, GrantDependencies, TokenResult } from './grant.js';
import { warnIfCertificateExpiring } from './certificate-expiry.js';
import { confidentialCredentialOf, createConfidentialClient } from './msal/applications.js';
import { fromMsalError } from './msal/errors.js';
import { toTokenResult } from './msal/results.js';
import { routeFor } from './route.js';

export function microsoftClientCredentialsGrant(mailbox: MailboxConfig, dependencies: GrantDependencies, tenant: string): Grant {
  const credential = confidentialCredentialOf(mailbox);
  if (credential === undefined) {
    // Validation guarantees a secret or certificate; reaching this is a bug, not an ops mistake.
    throw new BrokerError(`mailbox ${mailbox.name}: client-credentials needs a client secret or certificate (config validation let this through).`, {
      code: 'internal',
      permanent: true,
      mailbox: mailbox.name,
    });
  }
  const context = { mailbox: mailbox.name, authorizationServer: mailbox.authorizationServer.name, grantType: mailbox.grantType };
  let application: ConfidentialClientApplication | undefined;

  return {
    type: 'client-credentials',
    interactive: false,
    async acquire(): Promise<TokenResult> {
      warnIfCertificateExpiring(mailbox, dependencies);
      application ??= createConfidentialClient(
        { mailbox, tenant, transport: dependencies.transport, route: routeFor(mailbox), logger: dependencies.logger, clock: dependencies.clock },
        credential,
      );
      try {
        return toTokenResult(mailbox, await application.acquireTokenByClientCredential({ scopes: [...mailbox.scopes], skipCache: true }), undefined);
      } catch (error) {
        throw fromMsalError(error, context);
      }
    },
  };
}
