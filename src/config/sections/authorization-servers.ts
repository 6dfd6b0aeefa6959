// `authorizationServers`: the built-in microsoft and google, overridden or
// joined by the file's entries. An entry that had errors is kept (marked
// incomplete) so mailboxes using it are still checked against its type.
import { builtinAuthorizationServers, GOOGLE_ENDPOINTS, GOOGLE_SCOPES, MICROSOFT_DEFAULT_CLOUD, microsoftServer } from '../builtin-servers.js';
import { readCaFile } from '../ca-file.js';
import type { LoadContext } from '../context.js';
import { authorityHost, endpointUrl, flag, oneOf, SAFE_NAME, SAFE_NAME_RULE, scopeList } from '../fields.js';
import { cloudsOfAuthorityHost, MICROSOFT_CLOUD_HOSTS, microsoftDelegatedScopes } from '../microsoft-clouds.js';
import { withOptional } from '../optional.js';
import { isPresent, MappingReader, valueOf } from '../reader.js';
import type { Field } from '../reader.js';
import { AUTHORIZATION_SERVER_TYPES, MICROSOFT_CLOUDS, PROTOCOLS } from '../types.js';
import type { AuthorizationServerConfig, AuthorizationServerType, MicrosoftCloud, Protocol } from '../types.js';

export interface ServerEntry {
  readonly config: AuthorizationServerConfig;
  /** False when one of its fields had an error: checks that need its endpoints or scopes stand back. */
  readonly complete: boolean;
}

export interface ServerRegistry {
  readonly servers: ReadonlyMap<string, ServerEntry>;
  /** Defined in the file but without a usable type: mailboxes naming them are not checked against them. */
  readonly broken: ReadonlySet<string>;
}

const SERVER_KEYS = ['type', 'authorityHost', 'cloud', 'issuer', 'authorizationEndpoint', 'tokenEndpoint', 'deviceAuthorizationEndpoint', 'scopes', 'caFile', 'testingApp'] as const;
const ENDPOINT_KEYS = ['issuer', 'authorizationEndpoint', 'tokenEndpoint', 'deviceAuthorizationEndpoint'] as const;

/** What a server of each type starts from before the file's fields apply. */
function typeDefaults(name: string, type: AuthorizationServerType): AuthorizationServerConfig {
  if (type === 'microsoft') return microsoftServer(name, MICROSOFT_DEFAULT_CLOUD);
  if (type === 'google') return { name, type, ...GOOGLE_ENDPOINTS, scopes: GOOGLE_SCOPES, caCertificates: [] };
  return { name, type, scopes: {}, caCertificates: [] };
}

export async function readAuthorizationServers(ctx: LoadContext, section: Field<MappingReader>): Promise<ServerRegistry> {
  const servers = new Map<string, ServerEntry>([...builtinAuthorizationServers()].map(([name, config]) => [name, { config, complete: true }]));
  const broken = new Set<string>();
  if (section.state !== 'ok') return { servers, broken };
  for (const entry of section.value.entries()) {
    const path = section.value.childPath(entry.key);
    const errorsBefore = ctx.sink.errorCount;
    if (!SAFE_NAME.test(entry.key)) ctx.sink.error(path, `invalid server name; use ${SAFE_NAME_RULE}`, entry.keyAt);
    const reader = MappingReader.open(ctx, entry.value, path, entry.keyAt, SERVER_KEYS);
    const config = reader === undefined ? undefined : await readServer(reader, entry.key, servers.get(entry.key)?.config);
    if (config === undefined) {
      servers.delete(entry.key);
      broken.add(entry.key);
    } else {
      servers.set(entry.key, { config, complete: ctx.sink.errorCount === errorsBefore });
    }
  }
  return { servers, broken };
}

async function readServer(reader: MappingReader, name: string, builtin: AuthorizationServerConfig | undefined): Promise<AuthorizationServerConfig | undefined> {
  const { sink } = reader.ctx;
  const typeField = reader.field('type', oneOf(AUTHORIZATION_SERVER_TYPES));
  let type = valueOf(typeField) ?? (typeField.state === 'absent' ? builtin?.type : undefined);
  if (typeField.state === 'absent' && builtin === undefined) reader.missing('type', `required; set one of: ${AUTHORIZATION_SERVER_TYPES.join(', ')}`);
  if (typeField.state === 'ok' && builtin !== undefined && typeField.value !== builtin.type) {
    sink.error(typeField.path, `the built-in ${name} server is of type ${builtin.type}; give a server of type ${typeField.value} a name of its own`, typeField.valueAt);
    type = undefined;
  }

  // Read every field whatever the type, so that all their problems show at once.
  const host = reader.field('authorityHost', authorityHost);
  const cloudField = reader.field('cloud', oneOf(MICROSOFT_CLOUDS));
  const endpoints = Object.fromEntries(ENDPOINT_KEYS.map((key) => [key, reader.field(key, endpointUrl)])) as Record<(typeof ENDPOINT_KEYS)[number], Field<string>>;
  const scopes = readScopes(reader, type);
  const ca = await readCaFile(reader, 'caFile');
  const testingApp = reader.field('testingApp', flag);

  if (type === undefined) return undefined;
  if (type !== 'google' && isPresent(testingApp)) {
    sink.error(testingApp.path, `applies only to type google (a Google app's consent screen in "Testing" status); remove it`, testingApp.at);
  }
  if (type !== 'microsoft' && isPresent(host)) sink.error(host.path, `applies only to type microsoft; remove it`, host.at);
  if (type !== 'microsoft' && isPresent(cloudField)) sink.error(cloudField.path, `applies only to type microsoft; remove it`, cloudField.at);
  if (type === 'microsoft') {
    for (const field of Object.values(endpoints)) {
      if (isPresent(field)) sink.error(field.path, `does not apply to type microsoft (endpoints come from authorityHost and each mailbox's tenantId); remove it`, field.at);
    }
  }
  if (type === 'generic' && endpoints.issuer.state === 'absent' && endpoints.tokenEndpoint.state === 'absent') {
    sink.error(reader.path, 'a generic server needs issuer (for discovery) or tokenEndpoint; set one of them', reader.at);
  }

  const base = builtin ?? typeDefaults(name, type);
  const own = (field: Field<string>): string | undefined => (type === 'microsoft' ? undefined : valueOf(field));
  const microsoft = type === 'microsoft' ? resolveCloud(reader, host, cloudField, base) : undefined;
  const config: AuthorizationServerConfig = {
    name,
    type,
    // A microsoft server's defaults are its cloud's; the operator's per-protocol scopes win.
    scopes: { ...(microsoft === undefined ? base.scopes : microsoftDelegatedScopes(microsoft.cloud)), ...scopes },
    caCertificates: valueOf(ca)?.certificates ?? base.caCertificates,
  };
  return withOptional(config, {
    authorityHost: microsoft?.authorityHost,
    cloud: microsoft?.cloud,
    issuer: own(endpoints.issuer) ?? base.issuer,
    authorizationEndpoint: own(endpoints.authorizationEndpoint) ?? base.authorizationEndpoint,
    tokenEndpoint: own(endpoints.tokenEndpoint) ?? base.tokenEndpoint,
    deviceAuthorizationEndpoint: own(endpoints.deviceAuthorizationEndpoint) ?? base.deviceAuthorizationEndpoint,
    caFile: valueOf(ca)?.file ?? base.caFile,
    testingApp: type === 'google' ? (valueOf(testingApp) ?? base.testingApp) : undefined,
  });
}

/**
 * A microsoft server's cloud and authority host, each from the other when
 * only one is written: `cloud` alone means its own authority; a known
 * authorityHost alone means its cloud (login.microsoftonline.us: usgov, as
 * usgov-dod shares it); an unknown host (a test server, a sovereign proxy)
 * takes the written cloud, else global. A known host of another cloud than
 * the written one is a mistake: the tokens would be for the wrong resources.
 */
function resolveCloud(reader: MappingReader, host: Field<string>, cloudField: Field<MicrosoftCloud>, base: AuthorizationServerConfig): { cloud: MicrosoftCloud; authorityHost: string | undefined } {
  const writtenHost = valueOf(host);
  const hostClouds = writtenHost === undefined ? [] : cloudsOfAuthorityHost(writtenHost);
  if (cloudField.state !== 'ok') return { cloud: hostClouds[0] ?? MICROSOFT_DEFAULT_CLOUD, authorityHost: writtenHost ?? base.authorityHost };
  const writtenCloud = cloudField.value;
  const cloudHost = MICROSOFT_CLOUD_HOSTS[writtenCloud].authorityHosts[0];
  if (writtenHost !== undefined && hostClouds.length > 0 && !hostClouds.includes(writtenCloud)) {
    reader.ctx.sink.error(
      cloudField.path,
      `cloud ${writtenCloud} disagrees with authorityHost ${writtenHost}, which is the ${hostClouds.join(' or ')} cloud's; set cloud: ${hostClouds.join(' or ')}, or authorityHost: ${cloudHost}, or remove one of the two`,
      cloudField.valueAt,
    );
  }
  return { cloud: writtenCloud, authorityHost: writtenHost ?? cloudHost };
}

function readScopes(reader: MappingReader, type: AuthorizationServerType | undefined): Partial<Record<Protocol, readonly string[]>> {
  const section = reader.mapping('scopes', PROTOCOLS);
  const scopes: Partial<Record<Protocol, readonly string[]>> = {};
  if (section.state !== 'ok') return scopes;
  for (const protocol of PROTOCOLS) {
    const field = section.value.field(protocol, scopeList);
    if (protocol === 'graph' && type === 'google' && isPresent(field)) {
      reader.ctx.sink.error(field.path, 'Microsoft Graph is not available on a google-type server; remove it', field.at);
      continue;
    }
    if (field.state === 'ok') scopes[protocol] = field.value;
  }
  return scopes;
}

