// Builds the authority URL and the metadata msal-node would otherwise fetch
// (instance discovery and OpenID configuration). Handing them over means msal
// makes no discovery calls at all: no request to login.microsoftonline.com
// for a national cloud or test authority, one request less per new client,
// and nothing that bypasses our proxy seam.
import { microsoftAuthority } from '../../../config/index.js';
import type { AuthorizationServerConfig } from '../../../config/index.js';

export interface EntraEndpoints {
  readonly authority: string;
  readonly authorizationEndpoint: string;
  readonly tokenEndpoint: string;
  readonly deviceAuthorizationEndpoint: string;
}

export interface MsalAuthorityOptions extends EntraEndpoints {
  readonly authorityMetadata: string;
  readonly cloudDiscoveryMetadata: string;
  readonly knownAuthorities: string[];
}

export function entraEndpoints(server: AuthorizationServerConfig, tenant: string): EntraEndpoints {
  const host = microsoftAuthority(server).host.replace(/\/+$/, '');
  const base = `${host}/${encodeURIComponent(tenant)}`;
  return {
    authority: base,
    authorizationEndpoint: `${base}/oauth2/v2.0/authorize`,
    tokenEndpoint: `${base}/oauth2/v2.0/token`,
    deviceAuthorizationEndpoint: `${base}/oauth2/v2.0/devicecode`,
  };
}

export function msalAuthorityOptions(server: AuthorizationServerConfig, tenant: string): MsalAuthorityOptions {
  const endpoints = entraEndpoints(server, tenant);
  const hostAndPort = new URL(endpoints.authority).host;
  // A cloud's other names for its authority (China's two) count as the same
  // one in msal's cache; for any other host the list is just that host.
  const aliases = microsoftAuthority(server).aliases;
  const base = endpoints.authority;
  const authorityMetadata = {
    token_endpoint: endpoints.tokenEndpoint,
    authorization_endpoint: endpoints.authorizationEndpoint,
    device_authorization_endpoint: endpoints.deviceAuthorizationEndpoint,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    issuer: `${base}/v2.0`,
    jwks_uri: `${base}/discovery/v2.0/keys`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
  };
  const cloudDiscoveryMetadata = {
    tenant_discovery_endpoint: `${base}/v2.0/.well-known/openid-configuration`,
    'api-version': '1.1',
    metadata: [{ preferred_network: hostAndPort, preferred_cache: hostAndPort, aliases }],
  };
  return {
    ...endpoints,
    authorityMetadata: JSON.stringify(authorityMetadata),
    cloudDiscoveryMetadata: JSON.stringify(cloudDiscoveryMetadata),
    knownAuthorities: [hostAndPort],
  };
}
