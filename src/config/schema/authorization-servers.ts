// `authorizationServers` in the document schema: sections/authorization-servers.ts
// reads it. The reader accepts every key on every entry and then refuses
// those the type has no use for; here each type lists only its own, so an
// editor offers the right ones once `type` is written.
import { z } from 'zod';
import { GOOGLE_SCOPES, MICROSOFT_AUTHORITY_HOST } from '../builtin-servers.js';
import { authorityHost, endpointUrl, filePath, flag, oneOf, SAFE_NAME, scopeList } from '../fields.js';
import { microsoftDelegatedScopes } from '../microsoft-clouds.js';
import { AUTHORIZATION_SERVER_TYPES, MICROSOFT_CLOUDS, PROTOCOLS } from '../types.js';
import type { AuthorizationServerType, Protocol } from '../types.js';
import { emptyAllowed, key, nameRule, oneOrList } from './keys.js';

const scopesOf = (protocol: Protocol) =>
  key(oneOrList(scopeList), {
    description: `The scopes a mailbox of protocol ${protocol} on this server asks for when it names none (user-level grants); a list, or one space-separated string.`,
  }).optional();

const SCOPE_DEFAULTS = `Defaults: on microsoft, the cloud's delegated Exchange and Graph scopes (global imap: ${microsoftDelegatedScopes('global').imap?.join(' ') ?? ''}); on google, ${GOOGLE_SCOPES.imap?.join(' ') ?? ''} for imap, pop3 and smtp (Graph does not exist there); on generic, none: its mailboxes name their scopes, or the server names them here.`;

/** The per-protocol default scopes; graph only where Microsoft Graph exists. */
function scopes(protocols: readonly Protocol[]) {
  return z
    .strictObject(Object.fromEntries(protocols.map((protocol) => [protocol, scopesOf(protocol)])))
    .meta({ description: `Default scopes per protocol; a protocol given here replaces the default for that protocol only. ${SCOPE_DEFAULTS}` })
    .optional();
}

const caFile = key(filePath, {
  description: "Extra trust anchors (PEM, one or more certificates) added to the system's for this server: a TLS-inspecting proxy, an internal identity provider. At most 1 MiB.",
  examples: ['/etc/token-broker/acme-ca.pem'],
}).optional();

const endpoint = (what: string) => key(endpointUrl, { description: `${what} An https URL (plain http only on 127.0.0.1, ::1 or localhost).` }).optional();

const endpoints = {
  issuer: endpoint("The issuer, for OpenID Connect discovery (/.well-known/openid-configuration); the endpoints written here win over discovery's."),
  authorizationEndpoint: endpoint('The authorization endpoint (authorization-code).'),
  tokenEndpoint: endpoint('The token endpoint.'),
  deviceAuthorizationEndpoint: endpoint('The device authorization endpoint (device-code).'),
};

const TYPE_MEANING: Readonly<Record<AuthorizationServerType, string>> = {
  microsoft: 'Microsoft Entra ID: work and school accounts, Exchange Online, Microsoft Graph',
  google: 'Google: Gmail and Google Workspace',
  generic: 'any OAuth 2.0 server; needs issuer (discovery) or tokenEndpoint, checked by the loader',
};

const typeKey = (type: AuthorizationServerType) =>
  key(z.literal(type), {
    description: `The kind of server: ${AUTHORIZATION_SERVER_TYPES.map((each) => `${each} (${TYPE_MEANING[each]})`).join('; ')}. It decides which other keys apply. Required, except on the built-in entries microsoft and google, whose type is known.`,
  });

const microsoftServer = z.strictObject({
  type: typeKey('microsoft'),
  authorityHost: key(authorityHost, {
    description:
      'The https origin of the Entra ID instance, without a path. Left out: that of cloud. A known host of another cloud than cloud is an error: the tokens would be for the wrong resources.',
    default: MICROSOFT_AUTHORITY_HOST,
    examples: ['https://login.microsoftonline.us', 'https://login.chinacloudapi.cn'],
  }).optional(),
  cloud: key(oneOf(MICROSOFT_CLOUDS), {
    description:
      'The national cloud whose resource hosts the default scopes name: global, usgov (GCC High), usgov-dod or china. Left out: the cloud of a known authorityHost (login.microsoftonline.us is usgov: a DoD tenant writes usgov-dod), else global.',
    default: 'global',
  }).optional(),
  scopes: scopes(PROTOCOLS),
  caFile,
}).meta({ title: 'microsoft' });

const googleServer = z.strictObject({
  type: typeKey('google'),
  ...endpoints,
  scopes: scopes(PROTOCOLS.filter((protocol) => protocol !== 'graph')),
  caFile,
  testingApp: key(flag, {
    description:
      'The Google app\'s OAuth consent screen is in "testing" publishing status: Google ends its refresh tokens after 7 days, and the token-death forecast says so. Only on type google.',
    default: false,
  }).optional(),
}).meta({ title: 'google' });

const genericServer = z.strictObject({
  type: typeKey('generic'),
  ...endpoints,
  scopes: scopes(PROTOCOLS),
  caFile,
}).meta({ title: 'generic' });

/** An entry named after a built-in server overrides it: its type may be left out, and may not change. */
const builtinOverride = <T extends z.ZodObject>(server: T, name: string) =>
  server.partial({ type: true }).meta({ description: `Overrides the built-in ${name} server; its type, ${name}, may be left out and cannot change.` }).optional();

export const authorizationServersSection = emptyAllowed(
  z
    .object({ microsoft: builtinOverride(microsoftServer, 'microsoft'), google: builtinOverride(googleServer, 'google') })
    .catchall(z.discriminatedUnion('type', [microsoftServer, googleServer, genericServer]))
    // The reader's name rule; catchall keys cannot carry a key schema, so JSON Schema gets it as propertyNames.
    .superRefine((servers, ctx) => {
      for (const name of Object.keys(servers)) if (!SAFE_NAME.test(name)) ctx.addIssue({ code: 'custom', message: 'invalid server name', path: [name] });
    })
    .meta({ propertyNames: nameRule('server') }),
).meta({
  description: 'Authorization servers: microsoft and google exist built in; an entry here adds a server (any name, with its type) or overrides a built-in one. Mailboxes name them in authorizationServer.',
});
