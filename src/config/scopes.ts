// Which scopes a mailbox asks for when it names none: the server's default
// for its protocol, at the grant's level (delegated or application).
import { MICROSOFT_APPLICATION_SCOPES, MICROSOFT_DELEGATED_SCOPES, MICROSOFT_DELEGATED_SHARED_GRAPH_SCOPES, ROPC_DEPRECATED_SCOPES } from './builtin-servers.js';
import { GRANT_RULES } from './grant-rules.js';
import type { AuthorizationServerConfig, GrantTypeName, Protocol } from './types.js';

export function defaultScopes(server: AuthorizationServerConfig, protocol: Protocol, grant: GrantTypeName, sharedMailbox: boolean): readonly string[] | undefined {
  if (grant === 'ropc-deprecated') return ROPC_DEPRECATED_SCOPES;
  if (server.type === 'microsoft') {
    if (GRANT_RULES[grant].level === 'application') return MICROSOFT_APPLICATION_SCOPES[protocol];
    const configured = server.scopes[protocol];
    // Only our own Graph default has a Shared twin; an operator's scopes are used as written.
    if (protocol === 'graph' && sharedMailbox && sameScopes(configured, MICROSOFT_DELEGATED_SCOPES.graph)) return MICROSOFT_DELEGATED_SHARED_GRAPH_SCOPES;
    return configured;
  }
  return server.scopes[protocol];
}

function sameScopes(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  return a !== undefined && b !== undefined && a.length === b.length && a.every((scope, index) => scope === b[index]);
}
