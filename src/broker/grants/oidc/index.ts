// Grants for google- and generic-type authorization servers, through
// openid-client and the broker's one HTTP seam.
export { createOidcGrant } from './create-oidc-grant.js';
