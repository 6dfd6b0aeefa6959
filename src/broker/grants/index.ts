// One file per grant type behind the Grant interface.
export { createGrant } from './registry.js';
export type { AuthorizationStart, Grant, GrantDependencies, GrantFactory, GrantState, PendingAuthorization, TokenResult } from './grant.js';
export { pkceChallenge, randomUrlSafe, AUTHORIZATION_LIFETIME_MS } from './pkce.js';
export { routeFor } from './route.js';
export { classifyOAuthError, aadstsNumber } from './oauth-errors.js';
export { entraEndpoints, msalAuthorityOptions } from './msal/authority.js';
