// Google's application-level access: a service account with domain-wide
// delegation acting as the mailbox user (`sub` = username, scopes as
// delegated in the Admin console). Two ways to configure its key:
// - credentialsFile: the JSON key as Google hands it out; `iss` = its
//   client_email (also the mailbox's clientId), `kid` = its private_key_id,
//   `aud` = its token_uri (as Google's own client libraries do);
// - the PEM form: clientId = the service account's e-mail, authenticationMode
//   certificate whose file holds the JSON key's "private_key" followed by the
//   certificate Google publishes for that key at
//   https://www.googleapis.com/service_accounts/v1/metadata/x509/<e-mail>
//   (thumbprint: its SHA-1); no kid, `aud` = the server's token endpoint.
// Either way the request goes to the configured server's token endpoint.
import { genericGrantRequest } from 'openid-client';
import type { ClientAuth } from 'openid-client';
import type { MailboxConfig } from '../../../config/index.js';
import type { Grant, GrantDependencies, TokenResult } from '../grant.js';
import { configurationError, validationGap } from './grant-errors.js';
import { classifyGoogleServiceAccountError } from './google-errors.js';
import { classifyKeyFileError } from './service-account-key-errors.js';
import { OidcClient } from './oidc-client.js';
import { JWT_BEARER_GRANT_TYPE, serviceAccountAssertion } from './service-account-assertion.js';

/** The assertion is the credential (RFC 7523 section 2.1): nothing else, not even client_id, goes in the body. */
const assertionOnly: ClientAuth = () => undefined;

export function googleServiceAccountGrant(mailbox: MailboxConfig, dependencies: GrantDependencies): Grant {
  const keyFile = mailbox.serviceAccountKey;
  const classify = keyFile === undefined ? classifyGoogleServiceAccountError : classifyKeyFileError;
  const client = new OidcClient(mailbox, dependencies, { clientAuthentication: assertionOnly, classify });
  return {
    type: 'client-credentials',
    interactive: false,
    async acquire(): Promise<TokenResult> {
      const privateKey = keyFile?.privateKey ?? mailbox.certificate?.privateKey;
      if (privateKey === undefined) throw validationGap(mailbox, 'a service account without a loaded private key');
      const configuration = await client.configuration();
      const tokenEndpoint = configuration.serverMetadata().token_endpoint;
      if (tokenEndpoint === undefined) throw validationGap(mailbox, 'a google-type server without tokenEndpoint');
      const audience = keyFile?.tokenUri ?? tokenEndpoint;
      let assertion: string;
      try {
        assertion = serviceAccountAssertion({
          serviceAccount: mailbox.clientId,
          subject: mailbox.username,
          audience,
          scopes: mailbox.scopes,
          now: dependencies.clock.now(),
          privateKeyPem: privateKey.reveal(),
          ...(keyFile === undefined ? {} : { keyId: keyFile.privateKeyId }),
        });
      } catch (error) {
        const remedy = keyFile === undefined ? `Put the service account's RSA key and certificate in mailboxes.${mailbox.name}.certificate.file.` : `Download a new JSON key of the service account into mailboxes.${mailbox.name}.credentialsFile.`;
        throw configurationError(mailbox, error instanceof Error ? error.message : String(error), remedy);
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
