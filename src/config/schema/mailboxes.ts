// `mailboxes` in the document schema: sections/mailboxes.ts reads it. One
// variant per grant type, made from GRANT_RULES, the matrix the loader's
// checks read: a key a grant has no use for is left out of its variant, a
// key it always needs is required. What depends on the authorization
// server's type, the authentication mode or the redirect platform stays in
// the loader, and the descriptions say so.
import { z } from 'zod';
import { absoluteUrl, filePath, mailboxIdentity, oneOf, scopeList, tenantId, text, thumbprint } from '../fields.js';
import { GRANT_RULES } from '../grant-rules.js';
import type { GrantRules } from '../grant-rules.js';
import { AUTHENTICATION_MODES, ENVIRONMENT_PROXY_NAME, GRANT_TYPES, PROTOCOLS, REDIRECT_PLATFORMS } from '../types.js';
import type { GrantTypeName, Protocol } from '../types.js';
import { orList } from '../text.js';
import { emptyAllowed, entryName, key, namedEntries, oneOrList, secretPair } from './keys.js';
import { secretEndDate } from './pending-keys.js';

const GRANT_MEANING: Readonly<Record<GrantTypeName, string>> = {
  ropc: "the user's password is exchanged for a token; Graph only, no MFA, no federated accounts",
  'ropc-deprecated': 'the legacy product\'s password flow: always the Graph default scope, never a proxy',
  'authorization-code': 'a person signs in once in a browser (token-broker authorize), then the refresh token keeps the mailbox going',
  'client-credentials': 'the application reads the mailbox with its own permissions, no user signs in',
  'device-code': 'a person signs in once on another device with a code (token-broker authorize)',
};

const certificate = z
  .strictObject({
    file: key(filePath, {
      description: "The certificate and its private key: PEM, or PFX/PKCS#12 (with password or passwordFile when encrypted). Its notAfter is part of the token-death forecast. A secret file.",
      examples: ['/etc/token-broker/app.pem'],
    }).optional(),
    thumbprint: key(thumbprint, {
      description: "The certificate's thumbprint as registered with the app: SHA-1 (40 hexadecimal digits, as the Azure portal shows it) or SHA-256 (64); colons and spaces are allowed. Checked against file.",
      examples: ['AB12CD34EF56AB12CD34EF56AB12CD34EF56AB12'],
    }).optional(),
    ...secretPair('password', 'The password of an encrypted PFX or PEM key in file.'),
  })
  .meta({ description: 'The client certificate (authenticationMode: certificate): file and thumbprint are both required then (checked by the loader).' });

/** The grant types whose rules match, for descriptions every variant shares (the reference shows each key once). */
const grantsWhere = (matches: (rules: GrantRules) => boolean): string => orList(GRANT_TYPES.filter((grant) => matches(GRANT_RULES[grant])));

/** The variant of one grant type: only the keys that apply to it. */
function mailboxVariant(grant: GrantTypeName, rules: GrantRules) {
  const applies = (cell: string): boolean => cell !== 'n/a';
  const protocols = rules.protocols as readonly [Protocol, ...Protocol[]];
  const certificateMode = rules.certificate !== 'n/a';
  const keys: Record<string, z.ZodType> = {
    protocol: key(oneOf(protocols), { description: `What the token is for: ${PROTOCOLS.join(', ')}. ${grantsWhere((rules) => rules.protocols.length < PROTOCOLS.length)} work with graph only.` }),
    authorizationServer: key(text, {
      description: 'The name of an authorization server: the built-in microsoft or google, or one under authorizationServers. Graph always needs a microsoft-type server.',
      default: 'microsoft',
    }).optional(),
    grantType: key(z.literal(grant), {
      description: `How the broker gets tokens: ${GRANT_TYPES.map((each) => `${each} (${GRANT_MEANING[each]})`).join('; ')}. It decides which other keys apply.`,
    }),
    tenantId: key(tenantId, {
      description: `The directory (tenant) ID or one of its domains, on microsoft-type servers: required for ${grantsWhere((rules) => rules.tenantId === 'required')}, recommended for ${grantsWhere((rules) => rules.tenantId === 'recommended')} (without it: the organizations authority, any work or school account). Checked by the loader, which knows the server's type.`,
      examples: ['00000000-0000-0000-0000-000000000000', 'contoso.onmicrosoft.com'],
    }).optional(),
  };
  // A service account key file names its account, so clientId may go beside it (checks/service-account-key.ts).
  const clientId = key(text, {
    description: "The application (client) ID of the app registration. Beside credentialsFile it may be left out: the key file's client_email is the client ID.",
    examples: ['11111111-1111-1111-1111-111111111111'],
  });
  keys.clientId = rules.clientId === 'required' && rules.credentialsFile === 'n/a' ? clientId : clientId.optional();
  keys.authenticationMode = key(oneOf(certificateMode ? AUTHENTICATION_MODES : (['client-secret'] as const)), {
    description: `How the application proves itself: client-secret (clientSecret or clientSecretFile) or certificate (certificate; grant types ${grantsWhere((rules) => rules.certificate !== 'n/a')} only). Beside credentialsFile: certificate.`,
    default: 'client-secret',
  }).optional();
  Object.assign(
    keys,
    secretPair(
      'clientSecret',
      `The application's client secret: required for ${grantsWhere((rules) => rules.clientSecret === 'required in client-secret mode')} in client-secret mode (on Microsoft; Google's application access is a service account instead); for authorization-code required with redirectPlatform web and refused with desktop on Microsoft (a public client: AADSTS700025); otherwise optional, for a confidential client.`,
    ),
  );
  keys.clientSecretExpiresAt = key(secretEndDate, {
    description:
      "When the client secret ends (the Expires date the Entra portal shows): a date, read as 00:00 UTC, or a date-time with its zone. The token-death forecast warns 14, 7 and 1 days ahead. Only beside clientSecret or clientSecretFile.",
    examples: ['2027-03-31', '2027-03-31T00:00:00Z'],
  }).optional();
  if (certificateMode) keys.certificate = certificate.optional();
  if (rules.credentialsFile !== 'n/a') {
    keys.credentialsFile = key(filePath, {
      description:
        "A Google service account's JSON key (type: service_account) with domain-wide delegation, on a google-type server: it replaces clientId (its client_email), authenticationMode and certificate. A secret file.",
      examples: ['/etc/token-broker/secrets/gmail-sa.json'],
    }).optional();
  }
  if (applies(rules.redirectUri)) {
    const redirectUri = key(absoluteUrl, {
      description: 'The redirect URI registered for the app; token-broker authorize listens on it when it is a loopback http:// URL, else the redirected URL is pasted.',
      examples: ['http://localhost:8400/callback'],
    });
    keys.redirectUri = rules.redirectUri === 'required' ? redirectUri : redirectUri.optional();
  }
  if (applies(rules.redirectPlatform)) {
    keys.redirectPlatform = key(oneOf(REDIRECT_PLATFORMS), {
      description: "The platform the redirect URI is registered under in Entra: web (a confidential client: a secret or certificate is required) or desktop (mobile and desktop: a public client, no secret allowed on Microsoft). Left out: web with a credential, else desktop.",
    }).optional();
  }
  if (rules.scopes !== 'n/a') {
    keys.scopes = key(oneOrList(scopeList), {
      description:
        "The scopes to ask for, a list or one space-separated string. Left out: the server's default for the protocol (application-level grants: the resource's .default of the server's cloud).",
      examples: [['https://outlook.office.com/IMAP.AccessAsUser.All', 'offline_access']],
    }).optional();
  }
  keys.username = key(mailboxIdentity, {
    description: "The mailbox's address (the XOAUTH2 user=): the user who signs in, or for client-credentials the mailbox the application reads. No control characters.",
    examples: ['sales@contoso.example'],
  });
  if (applies(rules.password)) Object.assign(keys, secretPair('password', `The user's password; required (password or passwordFile) for ${grantsWhere((rules) => rules.password === 'required')}.`));
  keys.sharedMailbox = key(mailboxIdentity, {
    description: 'A shared mailbox to reach with this identity: it becomes the XOAUTH2 user= and the Graph /users/{sharedMailbox}.',
    examples: ['shared@contoso.example'],
  }).optional();
  if (applies(rules.proxy)) {
    keys.proxy = key(text, {
      description: `A name under proxies, or ${ENVIRONMENT_PROXY_NAME}: the daemon's HTTPS_PROXY / HTTP_PROXY and NO_PROXY. Left out: a direct connection.`,
      examples: ['corp', ENVIRONMENT_PROXY_NAME],
    }).optional();
  }
  return z.strictObject(keys).meta({ title: grant });
}

const mailbox = z.discriminatedUnion(
  'grantType',
  GRANT_TYPES.map((grant) => mailboxVariant(grant, GRANT_RULES[grant])) as unknown as [ReturnType<typeof mailboxVariant>, ...ReturnType<typeof mailboxVariant>[]],
);

export const mailboxesSection = emptyAllowed(namedEntries(entryName('mailbox'), mailbox)).meta({
  description: 'The mailboxes, by the name clients ask for (it appears in logs, metrics and URLs). An empty section is a warning: the broker has nothing to serve.',
});
