// Which scopes a mailbox asks for when it names none: the server's default
// for its protocol, at the grant's level (delegated or application), for the
// Microsoft server's cloud.
import { MICROSOFT_DEFAULT_CLOUD } from './builtin-servers.js';
import { GRANT_RULES } from './grant-rules.js';
import { microsoftApplicationScopes, microsoftDelegatedScopes, microsoftDelegatedSharedGraphScopes } from './microsoft-clouds.js';
import type { AuthorizationServerConfig, GrantTypeName, Protocol } from './types.js';

export function defaultScopes(server: AuthorizationServerConfig, protocol: Protocol, grant: GrantTypeName, sharedMailbox: boolean): readonly string[] | undefined {
  const cloud = server.cloud ?? MICROSOFT_DEFAULT_CLOUD;
  // ropc-deprecated always asks for Graph's default scope: the legacy product's one token, in the server's cloud.
  if (grant === 'ropc-deprecated') return microsoftApplicationScopes(cloud, 'graph');
  if (server.type === 'microsoft') {
    if (GRANT_RULES[grant].level === 'application') return microsoftApplicationScopes(cloud, protocol);
    const configured = server.scopes[protocol];
    // Only our own Graph default has a Shared twin; an operator's scopes are used as written.
    if (protocol === 'graph' && sharedMailbox && sameScopes(configured, microsoftDelegatedScopes(cloud).graph)) return microsoftDelegatedSharedGraphScopes(cloud);
    return configured;
  }
  return server.scopes[protocol];
}

function sameScopes(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  return a !== undefined && b !== undefined && a.length === b.length && a.every((scope, index) => scope === b[index]);
}
