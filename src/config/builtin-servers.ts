// The authorization servers every config has without writing them down
// (`microsoft`, `google`), and the scopes Microsoft expects per protocol and
// grant level (DOMAIN.md).
import type { AuthorizationServerConfig, Protocol, ScopesByProtocol } from './types.js';

export const MICROSOFT_AUTHORITY_HOST = 'https://login.microsoftonline.com';

/** Delegated (user-level) scopes; offline_access so Entra hands out a refresh token. */
export const MICROSOFT_DELEGATED_SCOPES: ScopesByProtocol = {
  imap: ['https://outlook.office.com/IMAP.AccessAsUser.All', 'offline_access'],
  pop3: ['https://outlook.office.com/POP.AccessAsUser.All', 'offline_access'],
  smtp: ['https://outlook.office.com/SMTP.Send', 'offline_access'],
  graph: ['https://graph.microsoft.com/Mail.ReadWrite', 'offline_access'],
};

/** Graph needs the Shared variant to reach another user's (shared) mailbox. */
export const MICROSOFT_DELEGATED_SHARED_GRAPH_SCOPES: readonly string[] = ['https://graph.microsoft.com/Mail.ReadWrite.Shared', 'offline_access'];

/** Application level (client credentials): the app's statically granted permissions. */
export const MICROSOFT_APPLICATION_SCOPES: Readonly<Record<Protocol, readonly string[]>> = {
  imap: ['https://outlook.office365.com/.default'],
  pop3: ['https://outlook.office365.com/.default'],
  smtp: ['https://outlook.office365.com/.default'],
  graph: ['https://graph.microsoft.com/.default'],
};

/** ropc-deprecated always asks for the Graph default scope. */
export const ROPC_DEPRECATED_SCOPES: readonly string[] = ['https://graph.microsoft.com/.default'];

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
    ['microsoft', { name: 'microsoft', type: 'microsoft', authorityHost: MICROSOFT_AUTHORITY_HOST, scopes: MICROSOFT_DELEGATED_SCOPES, caCertificates: [] }],
    ['google', { name: 'google', type: 'google', ...GOOGLE_ENDPOINTS, scopes: GOOGLE_SCOPES, caCertificates: [] }],
  ]);
}
