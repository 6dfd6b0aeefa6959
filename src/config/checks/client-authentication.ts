// How the client proves itself: a secret, a certificate, or nothing (a public
// client). Which one is allowed depends on the grant, the authentication mode
// and, for authorization-code, the redirect platform registered in Entra.
import { CERTIFICATE_GRANTS, GRANT_RULES } from '../grant-rules.js';
import { isPresent } from '../reader.js';
import { orList } from '../text.js';
import type { MailboxCheck } from './check.js';

export const authenticationModeAllowed: MailboxCheck = ({ mailbox, facts, sink }) => {
  const field = mailbox.authenticationMode;
  if (facts.mode !== 'certificate' || facts.grant === undefined || CERTIFICATE_GRANTS.includes(facts.grant) || field.state !== 'ok') return;
  sink.error(field.path, `certificate works only with grant types ${orList(CERTIFICATE_GRANTS)}; use client-secret (or remove authenticationMode)`, field.valueAt);
};

export const credentialMatchesMode: MailboxCheck = ({ mailbox, facts, sink }) => {
  const { grant, mode } = facts;
  if (grant === undefined || mode === undefined || GRANT_RULES[grant].certificate === 'n/a') return;
  // The key file is the credential: what may stand beside it is checks/service-account-key.ts's business.
  if (GRANT_RULES[grant].credentialsFile !== 'n/a' && isPresent(mailbox.credentialsFile)) return;
  const { certificate, clientSecret } = mailbox;
  if (mode === 'certificate') {
    if (certificate.state === 'absent') sink.error(certificate.path, 'required in authenticationMode certificate; set certificate.file and certificate.thumbprint', mailbox.at);
    if (certificate.state === 'ok') {
      const { file, thumbprint, at } = certificate.value;
      if (file.state === 'absent') sink.error(file.path, 'required; set the PEM or PFX file with the certificate and its private key', at);
      if (thumbprint.state === 'absent') sink.error(thumbprint.path, "required; set the certificate's thumbprint (SHA-1, as the Azure portal shows it)", at);
    }
    if (isPresent(clientSecret)) sink.error(clientSecret.path, 'does not apply in authenticationMode certificate (the certificate is the client credential); remove it', clientSecret.at);
    return;
  }
  if (isPresent(certificate)) sink.error(certificate.path, 'does not apply in authenticationMode client-secret; remove it, or set authenticationMode: certificate', certificate.at);
  if (GRANT_RULES[grant].clientSecret === 'required in client-secret mode' && clientSecret.state === 'absent') {
    sink.error(clientSecret.path, `required for grant type ${grant} in client-secret mode; set clientSecret or clientSecretFile, or use authenticationMode: certificate`, mailbox.at);
  }
};

/**
 * authorization-code: a web redirect makes a confidential client, which must
 * send a credential; a mobile/desktop redirect makes a public client, which
 * Entra refuses any credential from (AADSTS700025). Google's desktop clients
 * do send their (non-confidential) secret, so the second rule is Entra's only.
 */
export const redirectPlatformRules: MailboxCheck = ({ mailbox, facts, sink }) => {
  const { grant, platform, mode, server } = facts;
  if (grant === undefined || GRANT_RULES[grant].clientSecret !== 'by redirect platform' || platform === undefined || mode === undefined) return;
  const { clientSecret, authenticationMode } = mailbox;
  if (platform === 'web' && mode === 'client-secret' && clientSecret.state === 'absent') {
    sink.error(
      clientSecret.path,
      `required for grant type ${grant} with redirectPlatform web: a web app is a confidential client and must send a credential (Entra: AADSTS7000218); set clientSecret or clientSecretFile, use authenticationMode: certificate, or use redirectPlatform: desktop`,
      mailbox.at,
    );
  }
  if (platform !== 'desktop' || server?.config.type !== 'microsoft') return;
  if (isPresent(clientSecret)) {
    sink.error(
      clientSecret.path,
      'must be left out with redirectPlatform desktop: a mobile/desktop redirect makes a public client, and Entra answers AADSTS700025 when a public client sends a secret; remove it, or use redirectPlatform: web',
      clientSecret.at,
    );
  }
  if (mode === 'certificate' && authenticationMode.state === 'ok') {
    sink.error(
      authenticationMode.path,
      'certificate cannot be used with redirectPlatform desktop: a mobile/desktop redirect makes a public client, and Entra refuses credentials from public clients (AADSTS700025); use redirectPlatform: web',
      authenticationMode.valueAt,
    );
  }
};

/**
 * Google's client authentication differs from Entra's: its application-level
 * access is a service account (a signed JWT, no client secret: its JSON key
 * in credentialsFile, or the PEM form in certificate), and its user
 * clients authenticate with their client secret only.
 */
export const googleClientAuthentication: MailboxCheck = ({ mailbox, facts, sink }) => {
  const { grant, mode, server } = facts;
  if (server?.config.type !== 'google' || grant === undefined || mode === undefined) return;
  const at = mailbox.authenticationMode.state === 'ok' ? mailbox.authenticationMode.valueAt : mailbox.at;
  if (grant === 'client-credentials' && mode === 'client-secret' && !isPresent(mailbox.credentialsFile)) {
    sink.error(
      mailbox.authenticationMode.path,
      "Google has no client-credentials grant with a client secret: application-level access is a service account with domain-wide delegation; set credentialsFile to the service account's JSON key (or authenticationMode: certificate, certificate.file to its private key and certificate, clientId to its e-mail address)",
      at,
    );
  }
  if ((grant === 'authorization-code' || grant === 'device-code') && mode === 'certificate') {
    sink.error(mailbox.authenticationMode.path, 'Google OAuth clients authenticate with their client secret; use authenticationMode: client-secret', at);
  }
};

/**
 * clientSecretExpiresAt dates the client secret: without one it dates
 * nothing, and a forecast of a secret that is not used would only mislead.
 */
export const secretEndDateNeedsSecret: MailboxCheck = ({ mailbox, sink }) => {
  const { clientSecretExpiresAt, clientSecret } = mailbox;
  if (!isPresent(clientSecretExpiresAt) || isPresent(clientSecret)) return;
  sink.error(
    clientSecretExpiresAt.path,
    'applies only where a client secret is used (clientSecret or clientSecretFile), and this mailbox has none; remove it, or set the secret it dates',
    clientSecretExpiresAt.at,
  );
};
