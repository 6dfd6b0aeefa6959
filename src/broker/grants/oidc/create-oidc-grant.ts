// Picks the grant for a mailbox on a google- or generic-type authorization
// server. The switch is exhaustive, like the registry's.
import type { MailboxConfig } from '../../../config/index.js';
import type { Grant, GrantDependencies } from '../grant.js';
import { oidcAuthorizationCodeGrant } from './authorization-code.js';
import { oidcClientCredentialsGrant } from './client-credentials.js';
import { oidcDeviceCodeGrant } from './device-code.js';
import { configurationError, validationGap } from './grant-errors.js';
import { googleServiceAccountGrant } from './service-account.js';
import { unavailableGrant } from './unavailable-grant.js';

export function createOidcGrant(mailbox: MailboxConfig, dependencies: GrantDependencies): Grant {
  const server = mailbox.authorizationServer;
  if (server.type === 'microsoft') return unavailableGrant(mailbox, validationGap(mailbox, 'a microsoft-type server was handed to the openid-client grants'));
  const google = server.type === 'google';
  const grantType = mailbox.grantType;
  switch (grantType) {
    case 'authorization-code':
      if (google && mailbox.authenticationMode === 'certificate') {
        return unavailableGrant(
          mailbox,
          configurationError(mailbox, 'Google OAuth clients cannot authenticate with a certificate.', `Use authenticationMode client-secret with the OAuth client's secret in mailboxes.${mailbox.name}.clientSecret.`),
        );
      }
      return oidcAuthorizationCodeGrant(mailbox, dependencies);
    case 'device-code':
      return oidcDeviceCodeGrant(mailbox, dependencies);
    case 'client-credentials':
      if (!google) return oidcClientCredentialsGrant(mailbox, dependencies);
      if (mailbox.authenticationMode !== 'certificate') {
        return unavailableGrant(
          mailbox,
          configurationError(
            mailbox,
            'Google has no client-credentials grant for OAuth clients; application-level access to Gmail is a service account with domain-wide delegation.',
            `Set mailboxes.${mailbox.name}.authenticationMode: certificate with the service account's key and certificate, and clientId to the service account's e-mail address.`,
          ),
        );
      }
      return googleServiceAccountGrant(mailbox, dependencies);
    case 'ropc':
    case 'ropc-deprecated':
      // Validation keeps these on microsoft-type servers (Graph only).
      return unavailableGrant(mailbox, validationGap(mailbox, `grant type ${grantType} on a ${server.type}-type server`));
    default: {
      const unknown: never = grantType;
      throw new Error(`unknown grant type ${String(unknown)}`);
    }
  }
}
