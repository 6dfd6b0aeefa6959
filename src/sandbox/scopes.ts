// Delegated scopes of user grants: which resource a request is for (one per
// token), which of its permissions, which OpenID Connect extras, and how
// Entra echoes them back in the token answer's `scope`.
import type { EntraError } from './entra-errors.js';
import { EXCHANGE_RESOURCES, GRAPH_RESOURCES } from './resource-audiences.js';
import { userGrantErrors } from './user-grant-errors.js';

export interface UserScopes {
  /** The token audience, without trailing slash: `https://outlook.office.com`. */
  readonly resource: string;
  /** Permission names without the resource prefix, as `scp` lists them: `IMAP.AccessAsUser.All`. */
  readonly permissions: readonly string[];
  /** The permissions as the client spelled them (qualified or bare), echoed in `scope`. */
  readonly requested: readonly string[];
  readonly openid: boolean;
  readonly profile: boolean;
  readonly email: boolean;
  readonly offlineAccess: boolean;
}

const GRAPH = 'https://graph.microsoft.com';
const OIDC_SCOPES: ReadonlySet<string> = new Set(['openid', 'profile', 'email', 'offline_access']);

const EXCHANGE_DEFAULT = ['IMAP.AccessAsUser.All', 'POP.AccessAsUser.All', 'SMTP.Send', 'User.Read'];
const GRAPH_DEFAULT = ['Mail.ReadWrite', 'Mail.Send', 'User.Read'];

/**
 * What `<resource>/.default` stands for: the permissions an admin would have
 * consented for a mail connector, on Exchange Online and Graph of every
 * Microsoft cloud, so a test can play a national cloud's authority.
 */
const DEFAULT_PERMISSIONS: ReadonlyMap<string, readonly string[]> = new Map([
  ...EXCHANGE_RESOURCES.map((resource) => [resource, EXCHANGE_DEFAULT] as const),
  ...GRAPH_RESOURCES.map((resource) => [resource, GRAPH_DEFAULT] as const),
]);

/**
 * Bare permission names (`Mail.Read`) mean Microsoft Graph, as on Entra. A
 * request with only OpenID scopes gets a Graph token for User.Read.
 */
export function parseUserScopes(scope: string): UserScopes | EntraError {
  const values = [...new Set(scope.split(/\s+/).filter((value) => value.length > 0))];
  const oidc = new Set<string>();
  const resources = new Map<string, string>();
  const permissions: string[] = [];
  const requested: string[] = [];
  for (const value of values) {
    if (OIDC_SCOPES.has(value.toLowerCase())) {
      oidc.add(value.toLowerCase());
      continue;
    }
    const slash = value.lastIndexOf('/');
    const resource = slash < 0 ? GRAPH : value.slice(0, slash).replace(/\/+$/, '');
    const permission = slash < 0 ? value : value.slice(slash + 1);
    if (resource.length === 0 || permission.length === 0 || (slash >= 0 && !URL.canParse(resource))) {
      return userGrantErrors.scopeInvalid(value);
    }
    resources.set(resource.toLowerCase(), resource);
    if (permission === '.default') {
      const defaults = DEFAULT_PERMISSIONS.get(resource.toLowerCase()) ?? ['user_impersonation'];
      permissions.push(...defaults);
      requested.push(...defaults.map((name) => `${resource}/${name}`));
    } else {
      permissions.push(permission);
      requested.push(value);
    }
  }
  if (resources.size > 1) return userGrantErrors.scopeMultipleResources(values.join(' '));
  const [resource] = resources.values();
  return {
    resource: resource ?? GRAPH,
    permissions: resource === undefined ? ['User.Read'] : [...new Set(permissions)],
    requested: resource === undefined ? [`${GRAPH}/User.Read`] : [...new Set(requested)],
    openid: oidc.has('openid'),
    profile: oidc.has('profile'),
    email: oidc.has('email'),
    offlineAccess: oidc.has('offline_access'),
  };
}

/** The answer's `scope`: the permissions, then the OpenID scopes granted; offline_access only with a refresh token. */
export function grantedScope(scopes: UserScopes, refreshTokenIssued: boolean): string {
  const oidc = [
    scopes.openid ? 'openid' : undefined,
    scopes.profile ? 'profile' : undefined,
    scopes.email ? 'email' : undefined,
    refreshTokenIssued ? 'offline_access' : undefined,
  ].filter((value): value is string => value !== undefined);
  return [...scopes.requested, ...oidc].join(' ');
}
