// Metadata documents in Entra's shapes: OpenID configuration per tenant,
// instance (cloud) discovery, and the signing keys. Clients that discover
// endpoints find the sandbox's own URLs and nothing on the internet.
import { GENERAL_AUDIENCES } from './directory.js';

export interface OpenIdConfiguration {
  token_endpoint: string;
  token_endpoint_auth_methods_supported: string[];
  jwks_uri: string;
  response_modes_supported: string[];
  subject_types_supported: string[];
  id_token_signing_alg_values_supported: string[];
  response_types_supported: string[];
  scopes_supported: string[];
  issuer: string;
  request_uri_parameter_supported: boolean;
  authorization_endpoint: string;
  device_authorization_endpoint: string;
  http_logout_supported: boolean;
  frontchannel_logout_supported: boolean;
  end_session_endpoint: string;
  claims_supported: string[];
  tenant_region_scope: string | null;
  cloud_instance_name: string;
  cloud_graph_host_name: string;
  msgraph_host: string;
}

export function openIdConfiguration(authorityUrl: string, tenant: string): OpenIdConfiguration {
  const base = `${authorityUrl}/${tenant}`;
  // Like Entra, multi-tenant documents carry a placeholder in the issuer:
  // the real issuer is only known once a tenant signs in.
  const issuerTenant = GENERAL_AUDIENCES.has(tenant.toLowerCase()) ? '{tenantid}' : tenant;
  return {
    token_endpoint: `${base}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${base}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: `${authorityUrl}/${issuerTenant}/v2.0`,
    request_uri_parameter_supported: false,
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    claims_supported: [
      'sub', 'iss', 'cloud_instance_name', 'cloud_instance_host_name', 'cloud_graph_host_name', 'msgraph_host',
      'aud', 'exp', 'iat', 'auth_time', 'acr', 'nonce', 'preferred_username', 'name', 'tid', 'ver', 'at_hash',
      'c_hash', 'email',
    ],
    tenant_region_scope: null,
    cloud_instance_name: 'microsoftonline.com',
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: 'graph.microsoft.com',
  };
}

export interface InstanceDiscovery {
  tenant_discovery_endpoint: string;
  'api-version': string;
  metadata: Array<{ preferred_network: string; preferred_cache: string; aliases: string[] }>;
}

/**
 * What msal asks before trusting an authority host. Entra answers with the
 * tenant taken from the `authorization_endpoint` query parameter; the aliases
 * are host:port because that is how msal compares authorities.
 */
export function instanceDiscovery(authorityUrl: string, authorizationEndpoint: string | null): InstanceDiscovery {
  const { host, port } = new URL(authorityUrl);
  return {
    tenant_discovery_endpoint: `${authorityUrl}/${tenantOf(authorizationEndpoint)}/v2.0/.well-known/openid-configuration`,
    'api-version': '1.1',
    metadata: [
      {
        preferred_network: host,
        preferred_cache: host,
        aliases: [host, port === '' ? '127.0.0.1' : `127.0.0.1:${port}`],
      },
    ],
  };
}

function tenantOf(authorizationEndpoint: string | null): string {
  if (authorizationEndpoint === null) return 'common';
  try {
    const first = new URL(authorizationEndpoint).pathname.split('/').find((segment) => segment.length > 0);
    return first ?? 'common';
  } catch {
    return 'common';
  }
}
