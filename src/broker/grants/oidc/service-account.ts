// Google's application-level access: a service account with domain-wide
// delegation acting as the mailbox user. Config mapping: clientId = the
// service account's e-mail (`iss`), username = the user to act as (`sub`),
// scopes as delegated in the Admin console, authenticationMode certificate
// whose file holds the JSON key's "private_key" followed by the certificate
// Google publishes for that key at
// https://www.googleapis.com/service_accounts/v1/metadata/x509/<e-mail>
// (thumbprint: its SHA-1). The JSON key's private_key_id is not needed.
import { genericGrantRequest } from 'openid-client';
import type { ClientAuth } from 'openid-client';
import type { MailboxConfig } from '../../../config/index.js';
import type { Grant, GrantDependencies, TokenResult } from '../grant.js';
import { configurationError, validationGap } from './grant-errors.js';
import { classifyGoogleServiceAccountError } from './google-errors.js';
import { OidcClient } from './oidc-client.js';
import { JWT_BEARER_GRANT_TYPE, serviceAccountAssertion } from './service-account-assertion.js';

/** The assertion is the credential (RFC 7523 section 2.1): nothing else, not even client_id, goes in the body. */
const assertionOnly: ClientAuth = () => undefined;

export function googleServiceAccountGrant(mailbox: MailboxConfig, dependencies: GrantDependencies): Grant {
  const client = new OidcClient(mailbox, dependencies, { clientAuthentication: assertionOnly, classify: classifyGoogleServiceAccountError });
  return {
    type: 'client-credentials',
    interactive: false,
    async acquire(): Promise<TokenResult> {
      const privateKey = mailbox.certificate?.privateKey;
      if (privateKey === undefined) throw validationGap(mailbox, 'a service account without a loaded private key');
      const configuration = await client.configuration();
      const audience = configuration.serverMetadata().token_endpoint;
      if (audience === undefined) throw validationGap(mailbox, 'a google-type server without tokenEndpoint');
      let assertion: string;
      try {
        assertion = serviceAccountAssertion({
          serviceAccount: mailbox.clientId,
          subject: mailbox.username,
          audience,
          scopes: mailbox.scopes,
          now: dependencies.clock.now(),
          privateKeyPem: privateKey.reveal(),
        });
      } catch (error) {
        throw configurationError(mailbox, error instanceof Error ? error.message : String(error), `Put the service account's RSA key and certificate in mailboxes.${mailbox.name}.certificate.file.`);
      }
      try {
        const response = await genericGrantRequest(configuration, JWT_BEARER_GRANT_TYPE, { assertion });
        return client.tokenResult(response, { keepsRefreshToken: false });
      } catch (error) {
        throw await client.failure(error);
      }
    },
  };
}
