// Checks a mailbox's current token against what its protocol needs: for
// Entra's JWTs the audience (Exchange Online or Graph, in the server's
// cloud), the permission (delegated scp or application roles), the grant
// level, the tenant, the user and the expiry; for opaque tokens (Google,
// generic servers) the scopes the server said it granted.
import { MICROSOFT_CLOUD_HOSTS } from '../config/index.js';
import type { MailboxConfig, MicrosoftCloud, Protocol } from '../config/index.js';
import { error, ok, warning } from './findings.js';
import type { Finding } from './findings.js';
import { decodeAccessToken } from './token-claims.js';
import type { DecodedToken, TokenClaims } from './token-claims.js';

/** The token as the daemon hands it out (GetToken). */
export interface TokenUnderTest {
  readonly accessToken: string;
  readonly expiresAt: Date;
  /** As granted (the token response's `scope`). */
  readonly scopes: readonly string[];
  /** The SASL / Graph user: sharedMailbox if set, else username. */
  readonly username: string;
}

export interface TokenCheckResult {
  readonly token: DecodedToken;
  readonly findings: readonly Finding[];
}

/** Resource app ids Entra may put in `aud` instead of the resource's URL. */
const EXCHANGE_APP_ID = '00000002-0000-0ff1-ce00-000000000000';
const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';
const GMAIL_SCOPE = 'https://mail.google.com/';
/** Scopes a server grants beside the resource's own, never listed in a token's permissions. */
const PROTOCOL_SCOPES = new Set(['offline_access', 'openid', 'profile', 'email']);

type Resource = 'exchange' | 'graph';

const RESOURCE_NAMES: Readonly<Record<Resource, string>> = { exchange: 'Office 365 Exchange Online', graph: 'Microsoft Graph' };

function resourceOf(protocol: Protocol): Resource {
  return protocol === 'graph' ? 'graph' : 'exchange';
}

/** The permissions that let a token open the mailbox, any one of which will do. */
function requiredPermissions(protocol: Protocol, kind: 'app' | 'user', shared: boolean): readonly string[] {
  if (kind === 'app') {
    return { imap: ['IMAP.AccessAsApp'], pop3: ['POP.AccessAsApp'], smtp: ['SMTP.SendAsApp'], graph: ['Mail.Read', 'Mail.ReadWrite'] }[protocol];
  }
  switch (protocol) {
    case 'imap':
      return ['IMAP.AccessAsUser.All'];
    case 'pop3':
      return ['POP.AccessAsUser.All'];
    case 'smtp':
      return ['SMTP.Send'];
    case 'graph':
      // Another user's (shared) mailbox needs a Shared variant; the user's own takes any.
      return shared ? ['Mail.Read.Shared', 'Mail.ReadWrite.Shared'] : ['Mail.Read', 'Mail.ReadWrite', 'Mail.Read.Shared', 'Mail.ReadWrite.Shared'];
  }
}

const origin = (value: string): string => value.toLowerCase().replace(/\/+$/, '');

/** Which resource, in which cloud, an `aud` names; undefined for one we do not know. */
export function audienceResource(audience: string): { resource: Resource; clouds: readonly MicrosoftCloud[] } | undefined {
  const aud = origin(audience);
  if (aud === EXCHANGE_APP_ID) return { resource: 'exchange', clouds: [] };
  if (aud === GRAPH_APP_ID) return { resource: 'graph', clouds: [] };
  const clouds = Object.keys(MICROSOFT_CLOUD_HOSTS) as MicrosoftCloud[];
  for (const resource of ['exchange', 'graph'] as const) {
    const matching = clouds.filter((cloud) => {
      const hosts = MICROSOFT_CLOUD_HOSTS[cloud];
      const names = resource === 'graph' ? [hosts.graph] : [hosts.exchange, hosts.exchangeDelegated];
      return names.some((name) => origin(name) === aud);
    });
    if (matching.length > 0) return { resource, clouds: matching };
  }
  return undefined;
}

/** The clouds an issuer belongs to; empty when the issuer does not tell (sts.windows.net serves more than one). */
function issuerClouds(issuer: string): readonly MicrosoftCloud[] {
  const host = URL.canParse(issuer) ? new URL(issuer).host.toLowerCase() : '';
  if (host === 'login.microsoftonline.com') return ['global'];
  if (host === 'login.microsoftonline.us') return ['usgov', 'usgov-dod'];
  if (host.endsWith('chinacloudapi.cn') || host === 'login.partner.microsoftonline.cn') return ['china'];
  return [];
}

function minutes(ms: number): string {
  const total = Math.round(ms / 60_000);
  return total < 120 ? `${total} min` : `${Math.round(total / 60)} h`;
}

function expiryFinding(expiresAt: number, now: number, name: string): Finding {
  if (expiresAt <= now) {
    return error(
      'expiry',
      `the token expired at ${new Date(expiresAt).toISOString()}.`,
      `The daemon should never hand out an expired token: check the clocks of this machine and the daemon's, and token-broker status ${name}.`,
    );
  }
  return ok('expiry', `valid until ${new Date(expiresAt).toISOString()} (${minutes(expiresAt - now)} from now).`);
}

/** The scope a mailbox would ask for to get `permission` (the delegated forms name the resource's host). */
function exampleScope(mailbox: MailboxConfig, resource: Resource, permission: string, kind: 'app' | 'user'): string {
  const hosts = MICROSOFT_CLOUD_HOSTS[mailbox.authorizationServer.cloud ?? 'global'];
  const host = resource === 'graph' ? hosts.graph : kind === 'app' ? hosts.exchange : hosts.exchangeDelegated;
  return kind === 'app' ? `${host}/.default` : `${host}/${permission}`;
}

function microsoftJwtFindings(mailbox: MailboxConfig, claims: TokenClaims, token: TokenUnderTest, now: number): Finding[] {
  const findings: Finding[] = [];
  const name = mailbox.name;
  const protocol = mailbox.protocol;
  const resource = resourceOf(protocol);
  const cloud = mailbox.authorizationServer.cloud ?? 'global';
  const wantsApp = mailbox.grantType === 'client-credentials';
  const shared = mailbox.sharedMailbox !== undefined;
  const scopesKey = `mailboxes.${name}.scopes`;

  findings.push(expiryFinding(claims.exp === undefined ? token.expiresAt.getTime() : claims.exp * 1000, now, name));

  // Grant level: client credentials give app tokens, every other grant a user's.
  if (wantsApp && claims.kind === 'user') {
    findings.push(error('grant', `mailbox ${name} uses client-credentials, but the token is a user's (delegated, ${claims.user ?? 'no upn'}).`, `Check mailboxes.${name}.grantType; after a change, token-broker reload.`));
  } else if (!wantsApp && claims.kind === 'app') {
    findings.push(error('grant', `mailbox ${name} uses ${mailbox.grantType}, but the token is an application token (no user).`, `Check mailboxes.${name}.grantType; after a change, token-broker reload.`));
  } else {
    findings.push(ok('grant', claims.kind === 'app' ? 'an application token, as client-credentials gives.' : `a delegated token of ${claims.user ?? 'a user'}, as ${mailbox.grantType} gives.`));
  }

  // Audience: Exchange Online for IMAP/POP/SMTP, Graph for graph, in the server's cloud.
  const audience = claims.audience === undefined ? undefined : audienceResource(claims.audience);
  const wantedHost = resource === 'graph' ? MICROSOFT_CLOUD_HOSTS[cloud].graph : wantsApp ? MICROSOFT_CLOUD_HOSTS[cloud].exchange : MICROSOFT_CLOUD_HOSTS[cloud].exchangeDelegated;
  if (claims.audience === undefined || audience === undefined) {
    findings.push(
      error(
        'audience',
        `the token's audience is ${claims.audience ?? 'missing'}; ${protocol.toUpperCase()} needs ${RESOURCE_NAMES[resource]} (${wantedHost}).`,
        `Ask for ${exampleScope(mailbox, resource, requiredPermissions(protocol, wantsApp ? 'app' : 'user', shared)[0] ?? '', wantsApp ? 'app' : 'user')} in ${scopesKey}, or remove ${scopesKey} for the default.`,
      ),
    );
  } else if (audience.resource !== resource) {
    const scope = exampleScope(mailbox, resource, requiredPermissions(protocol, wantsApp ? 'app' : 'user', shared)[0] ?? '', wantsApp ? 'app' : 'user');
    findings.push(
      error(
        'audience',
        `the token is for ${RESOURCE_NAMES[audience.resource]} (aud ${claims.audience}), but ${protocol === 'graph' ? 'Graph' : protocol.toUpperCase()} needs a token for ${RESOURCE_NAMES[resource]} (${wantedHost}): the server will refuse it.`,
        `Set ${scopesKey} to [${scope}${wantsApp ? '' : ', offline_access'}] (or remove it for the default), then ${wantsApp ? 'token-broker reload' : `token-broker reload and token-broker authorize ${name}`}.`,
      ),
    );
  } else if (audience.clouds.length > 0 && !audience.clouds.includes(cloud)) {
    findings.push(
      error(
        'cloud',
        `the token's audience ${claims.audience} belongs to the ${audience.clouds.join('/')} cloud, but authorization server ${mailbox.authorizationServer.name} is set up for ${cloud}.`,
        `Set authorizationServers.${mailbox.authorizationServer.name}.cloud (global | usgov | usgov-dod | china) to the tenant's cloud, and ${scopesKey} to that cloud's hosts.`,
      ),
    );
  } else {
    findings.push(ok('audience', `for ${RESOURCE_NAMES[resource]} (aud ${claims.audience}).`));
  }

  // The cloud of the issuer, where the issuer tells it.
  if (claims.issuer !== undefined) {
    const clouds = issuerClouds(claims.issuer);
    if (clouds.length > 0 && !clouds.includes(cloud)) {
      findings.push(
        error(
          'cloud',
          `the token was issued by ${claims.issuer} (the ${clouds.join('/')} cloud), but authorization server ${mailbox.authorizationServer.name} is set up for ${cloud}.`,
          `Set authorizationServers.${mailbox.authorizationServer.name}.cloud to the tenant's cloud.`,
        ),
      );
    }
  }

  // Permission: scp for delegated tokens, roles for application tokens.
  const kind = claims.kind;
  const required = requiredPermissions(protocol, kind, shared);
  const held = kind === 'app' ? claims.roles : claims.scopes;
  const api = RESOURCE_NAMES[resource];
  if (required.some((permission) => held.includes(permission))) {
    findings.push(ok('permission', `${kind === 'app' ? 'roles' : 'scp'} include ${required.filter((permission) => held.includes(permission)).join(', ')}.`));
  } else if (kind === 'app') {
    findings.push(
      error(
        'permission',
        `the application token carries ${held.length === 0 ? 'no roles' : `roles ${held.join(', ')}`}, without ${required.join(' or ')}: ${api} will refuse it.`,
        `In Entra ID, App registrations > ${mailbox.clientId} > API permissions: add the application permission ${api} / ${required[0] ?? ''} ` +
          `(APIs my organization uses > ${api}) and grant admin consent; the next token carries it (token-broker reload).`,
      ),
    );
  } else {
    findings.push(
      error(
        'permission',
        `the delegated token's scp is ${held.length === 0 ? 'empty' : held.join(' ')}, without ${required.join(' or ')}${shared && protocol === 'graph' ? ' (a shared mailbox needs a .Shared permission)' : ''}.`,
        `In Entra ID, App registrations > ${mailbox.clientId} > API permissions: add the delegated permission ${api} / ${required[0] ?? ''} and grant consent; ` +
          `ask for ${exampleScope(mailbox, resource, required[0] ?? '', 'user')} in ${scopesKey} (or remove it for the default), then token-broker authorize ${name}.`,
      ),
    );
  }

  // Tenant: compared when tenantId is a GUID (a domain name cannot be compared with tid).
  const guid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  if (claims.tenantId !== undefined && mailbox.tenantId !== undefined && guid.test(mailbox.tenantId)) {
    if (claims.tenantId.toLowerCase() !== mailbox.tenantId.toLowerCase()) {
      findings.push(error('tenant', `the token is from tenant ${claims.tenantId}, but mailboxes.${name}.tenantId is ${mailbox.tenantId}.`, `Set mailboxes.${name}.tenantId to the mailbox's tenant (Entra ID > Overview > Tenant ID).`));
    } else {
      findings.push(ok('tenant', `tenant ${claims.tenantId}, as configured.`));
    }
  }

  if (claims.appId !== undefined && claims.appId.toLowerCase() !== mailbox.clientId.toLowerCase()) {
    findings.push(warning('app', `the token was issued to application ${claims.appId}, but mailboxes.${name}.clientId is ${mailbox.clientId}.`, `A token from before a clientId change: token-broker reload, or token-broker authorize ${name}.`));
  }

  // User: a delegated token opens the signed-in user's mailbox, or one shared with that user.
  if (kind === 'user') {
    if (claims.user !== undefined && claims.user.toLowerCase() !== mailbox.username.toLowerCase()) {
      findings.push(
        error(
          'user',
          `the token belongs to ${claims.user}, but mailboxes.${name}.username is ${mailbox.username}: the login as ${token.username} will be refused.`,
          `Run token-broker authorize ${name} and sign in as ${mailbox.username}, or set mailboxes.${name}.username to ${claims.user}.`,
        ),
      );
    } else if (shared) {
      findings.push(
        ok('user', `${claims.user ?? mailbox.username} logs in to the shared mailbox ${mailbox.sharedMailbox ?? ''}: Exchange needs Full Access for the user (Add-MailboxPermission -Identity ${mailbox.sharedMailbox ?? ''} -User ${mailbox.username} -AccessRights FullAccess).`),
      );
    } else {
      findings.push(ok('user', `the token's user ${claims.user ?? '(not named)'} is mailboxes.${name}.username.`));
    }
  } else if (protocol !== 'graph') {
    findings.push(
      ok(
        'user',
        `an application token names no user: the login names ${token.username}, which Exchange lets the app open only with its service principal registered (New-ServicePrincipal) and Add-MailboxPermission for it.`,
      ),
    );
  }
  return findings;
}

/** Opaque tokens: only the scopes the server said it granted can be checked. */
function opaqueFindings(mailbox: MailboxConfig, token: TokenUnderTest, now: number): Finding[] {
  const server = mailbox.authorizationServer;
  const findings: Finding[] = [
    server.type === 'microsoft'
      ? warning('format', 'the token is not a JWT (a personal Microsoft account, or an encrypted token): its audience and permissions cannot be read here; checking the granted scopes instead.')
      : ok('format', `the token is opaque (${server.type === 'google' ? "Google's ya29... tokens" : 'as many servers issue'}): its claims cannot be read; checking the scopes the server granted instead.`),
    expiryFinding(token.expiresAt.getTime(), now, mailbox.name),
  ];
  const scopesKey = `mailboxes.${mailbox.name}.scopes`;
  if (token.scopes.length === 0) {
    findings.push(warning('scopes', `${server.name} did not say which scopes it granted: they cannot be checked.`));
    return findings;
  }
  if (server.type === 'google' && mailbox.protocol !== 'graph') {
    if (token.scopes.includes(GMAIL_SCOPE)) {
      findings.push(ok('scopes', `granted ${GMAIL_SCOPE}, which Gmail's IMAP, POP and SMTP need.`));
    } else {
      findings.push(
        error(
          'scopes',
          `granted ${token.scopes.join(' ')}, without ${GMAIL_SCOPE}: Gmail refuses IMAP, POP and SMTP logins without it.`,
          `Add ${GMAIL_SCOPE} to ${scopesKey} (or authorizationServers.${server.name}.scopes.${mailbox.protocol}), enable it on the OAuth consent screen, then token-broker authorize ${mailbox.name}.`,
        ),
      );
    }
    return findings;
  }
  const missing = mailbox.scopes.filter((scope) => !PROTOCOL_SCOPES.has(scope) && !token.scopes.includes(scope));
  if (missing.length > 0) {
    findings.push(warning('scopes', `${server.name} granted ${token.scopes.join(' ')}, without ${missing.join(' ')} asked for in ${scopesKey}.`, `Allow those scopes for client ${mailbox.clientId} on ${server.name}, then token-broker authorize ${mailbox.name}.`));
  } else {
    findings.push(ok('scopes', `granted every scope asked for (${token.scopes.join(' ')}).`));
  }
  return findings;
}

export function checkToken(mailbox: MailboxConfig, token: TokenUnderTest, now: number): TokenCheckResult {
  const decoded = decodeAccessToken(token.accessToken);
  if (decoded.format === 'jwt' && mailbox.authorizationServer.type === 'microsoft') {
    return { token: decoded, findings: microsoftJwtFindings(mailbox, decoded, token, now) };
  }
  if (decoded.format === 'jwt') {
    // A generic server's JWT: its claims follow no convention we can check against the protocol.
    return { token: decoded, findings: opaqueFindings(mailbox, token, now).filter((finding) => finding.check !== 'format') };
  }
  return { token: decoded, findings: opaqueFindings(mailbox, token, now) };
}
