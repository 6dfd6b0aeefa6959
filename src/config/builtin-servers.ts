// The authorization servers every config has without writing them down
// (`microsoft`, `google`) and Google's endpoints and scope; Microsoft's hosts
// and scopes per cloud are in microsoft-clouds.ts (DOMAIN.md).
import { MICROSOFT_CLOUD_HOSTS, microsoftDelegatedScopes } from './microsoft-clouds.js';
import type { AuthorizationServerConfig, MicrosoftCloud, ScopesByProtocol } from './types.js';

/** The built-in `microsoft` server and a microsoft server given neither cloud nor a known authorityHost: the global cloud. */
export const MICROSOFT_DEFAULT_CLOUD: MicrosoftCloud = 'global';
export const MICROSOFT_AUTHORITY_HOST = MICROSOFT_CLOUD_HOSTS[MICROSOFT_DEFAULT_CLOUD].authorityHosts[0];

export const GOOGLE_ENDPOINTS = {
  authorizationEndpoint: 'https://accounts.google.com/o/oauth2/v2/auth',
  tokenEndpoint: 'https://oauth2.googleapis.com/token',
  deviceAuthorizationEndpoint: 'https://oauth2.googleapis.com/device/code',
} as const;

/** Gmail has one scope for IMAP, POP3 and SMTP; Graph does not exist there. */
export const GOOGLE_SCOPES: ScopesByProtocol = {
  imap: ['https://mail.google.com/'],
  pop3: ['https://mail.google.com/'],
  smtp: ['https://mail.google.com/'],
};

/** A fresh map each call, so no caller can change another's defaults. */
export function builtinAuthorizationServers(): Map<string, AuthorizationServerConfig> {
  return new Map<string, AuthorizationServerConfig>([
    ['microsoft', microsoftServer('microsoft', MICROSOFT_DEFAULT_CLOUD)],
    ['google', { name: 'google', type: 'google', ...GOOGLE_ENDPOINTS, scopes: GOOGLE_SCOPES, caCertificates: [] }],
  ]);
}

/** A microsoft server at a cloud's own authority, with that cloud's delegated scopes. */
export function microsoftServer(name: string, cloud: MicrosoftCloud): AuthorizationServerConfig {
  return { name, type: 'microsoft', authorityHost: MICROSOFT_CLOUD_HOSTS[cloud].authorityHosts[0], cloud, scopes: microsoftDelegatedScopes(cloud), caCertificates: [] };
}
