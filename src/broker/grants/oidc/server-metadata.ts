// Where a mailbox's authorization server metadata comes from, decided
// without any network call: Google's fixed endpoints, a generic server's
// configured endpoints, or discovery from its issuer when the endpoints the
// grant needs are not all configured (configured ones then win).
import type { ServerMetadata } from 'openid-client';
import type { AuthorizationServerConfig, GrantTypeName } from '../../../config/index.js';

/** The issuer Google's ID tokens and metadata name; only used to check an ID token when `openid` is asked for. */
export const GOOGLE_ISSUER = 'https://accounts.google.com';

export type MetadataSource =
  | { readonly kind: 'static'; readonly metadata: ServerMetadata }
  | { readonly kind: 'discovery'; readonly issuer: URL; readonly overrides: Partial<ServerMetadata> };

type Endpoint = 'token_endpoint' | 'authorization_endpoint' | 'device_authorization_endpoint';

/** The endpoints a grant calls besides the token endpoint. */
function endpointsNeeded(grantType: GrantTypeName): readonly Endpoint[] {
  if (grantType === 'authorization-code') return ['token_endpoint', 'authorization_endpoint'];
  if (grantType === 'device-code') return ['token_endpoint', 'device_authorization_endpoint'];
  return ['token_endpoint'];
}

function configuredEndpoints(server: AuthorizationServerConfig): Partial<Record<Endpoint, string>> {
  const endpoints: Partial<Record<Endpoint, string>> = {};
  if (server.tokenEndpoint !== undefined) endpoints.token_endpoint = server.tokenEndpoint;
  if (server.authorizationEndpoint !== undefined) endpoints.authorization_endpoint = server.authorizationEndpoint;
  if (server.deviceAuthorizationEndpoint !== undefined) endpoints.device_authorization_endpoint = server.deviceAuthorizationEndpoint;
  return endpoints;
}

export function metadataSource(server: AuthorizationServerConfig, grantType: GrantTypeName): MetadataSource {
  const endpoints = configuredEndpoints(server);
  if (server.type === 'google') {
    // Google's endpoints are fixed (built in, or overridden for a test server); its discovery
    // document would only repeat them, so no request is spent on it.
    return {
      kind: 'static',
      metadata: { issuer: server.issuer ?? GOOGLE_ISSUER, ...endpoints, token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'] },
    };
  }
  const complete = endpointsNeeded(grantType).every((endpoint) => endpoints[endpoint] !== undefined);
  if (!complete && server.issuer !== undefined) return { kind: 'discovery', issuer: new URL(server.issuer), overrides: endpoints };
  const tokenEndpoint = endpoints.token_endpoint;
  if (tokenEndpoint === undefined) {
    // Config validation requires issuer or tokenEndpoint on a generic server.
    throw new Error(`authorization server ${server.name} has neither issuer nor tokenEndpoint (config validation let this through)`);
  }
  // Without a configured issuer the token endpoint stands in: it is what a
  // private_key_jwt assertion's `aud` then names (RFC 7523), and an ID token
  // (scope openid) will not match it, which the error explains.
  return { kind: 'static', metadata: { issuer: server.issuer ?? tokenEndpoint, ...endpoints } };
}

/** Discovered metadata with the operator's configured endpoints in place of the discovered ones. */
export function withOverrides(discovered: ServerMetadata, overrides: Partial<ServerMetadata>): ServerMetadata {
  return { ...discovered, ...overrides };
}

/** Plain http is allowed only for a test server on this machine (config validation says the same). */
export function isLoopbackHttp(url: string | URL): boolean {
  const parsed = new URL(url);
  return parsed.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(parsed.hostname);
}

/** True when some endpoint is plain http, so openid-client must be told to allow it. */
export function usesLoopbackHttp(metadata: ServerMetadata): boolean {
  const urls = [metadata.issuer, metadata.token_endpoint, metadata.authorization_endpoint, metadata.device_authorization_endpoint];
  return urls.some((url) => url !== undefined && isLoopbackHttp(url));
}
