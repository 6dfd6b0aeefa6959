// One file per grant type behind the Grant interface.
export { createGrant } from './registry.js';
export type { Grant, GrantDependencies, GrantFactory, TokenResult } from './grant.js';
export { classifyOAuthError, aadstsNumber } from './oauth-errors.js';
export { entraEndpoints, msalAuthorityOptions } from './msal/authority.js';
