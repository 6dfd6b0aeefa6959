// How the mailbox's client proves itself at the token endpoint: its secret
// (basic or post), the certificate's key (private_key_jwt) or nothing (a
// public client). The choice is pure; building the method may import a key.
import { createHash, X509Certificate } from 'node:crypto';
import { ClientSecretBasic, ClientSecretPost, modifyAssertion, None, PrivateKeyJwt } from 'openid-client';
import type { ClientAuth, ServerMetadata } from 'openid-client';
import type { MailboxConfig } from '../../../config/index.js';
import { configurationError, validationGap } from './grant-errors.js';
import { signingKey } from './private-key.js';

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none';

export function clientAuthMethod(mailbox: MailboxConfig, metadata: ServerMetadata): ClientAuthMethod {
  if (mailbox.authenticationMode === 'certificate') return 'private_key_jwt';
  if (mailbox.clientSecret === undefined) return 'none';
  // Google documents the secret in the body; basic works too, post is what its own libraries send.
  if (mailbox.authorizationServer.type === 'google') return 'client_secret_post';
  // RFC 6749 says servers must support basic, so it is the default; a server
  // that lists its methods without basic gets post.
  const supported = metadata.token_endpoint_auth_methods_supported;
  if (supported !== undefined && !supported.includes('client_secret_basic')) return 'client_secret_post';
  return 'client_secret_basic';
}

/** The openid-client implementation of `method` with this mailbox's credential. */
export async function clientAuthentication(method: ClientAuthMethod, mailbox: MailboxConfig): Promise<ClientAuth> {
  switch (method) {
    case 'none':
      return None();
    case 'client_secret_basic':
      return ClientSecretBasic(secretOf(mailbox));
    case 'client_secret_post':
      return ClientSecretPost(secretOf(mailbox));
    case 'private_key_jwt': {
      const certificate = mailbox.certificate;
      if (certificate?.privateKey === undefined || certificate.certificatePem === undefined) {
        throw validationGap(mailbox, 'authenticationMode certificate without a loaded key');
      }
      const key = await signingKey(certificate.privateKey.reveal()).catch((error: unknown) => {
        throw configurationError(mailbox, error instanceof Error ? error.message : String(error), `Replace mailboxes.${mailbox.name}.certificate with an RSA or EC certificate and key.`);
      });
      const thumbprint = x5tS256(certificate.certificatePem);
      // The certificate's SHA-256 thumbprint lets a server that keeps several
      // certificates for the client pick the right one; `aud` stays the
      // issuer, openid-client's (and OIDC Core errata 2's) choice.
      return PrivateKeyJwt(key, {
        [modifyAssertion]: (header) => {
          header['x5t#S256'] = thumbprint;
        },
      });
    }
    default: {
      const unknown: never = method;
      throw new Error(`unknown client authentication method ${String(unknown)}`);
    }
  }
}

function secretOf(mailbox: MailboxConfig): string {
  const secret = mailbox.clientSecret;
  if (secret === undefined) throw validationGap(mailbox, 'no client secret');
  return secret.reveal();
}

/** JOSE `x5t#S256`: base64url SHA-256 of the certificate's DER. */
export function x5tS256(certificatePem: string): string {
  return createHash('sha256').update(new X509Certificate(certificatePem).raw).digest('base64url');
}
