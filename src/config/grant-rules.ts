// The grant-type matrix of DOMAIN.md (from the vendor table in
// seed/oauth-settings.txt) as data: one column per grant type. The checks in
// checks/ read it, and the tests walk it cell by cell.
import type { GrantTypeName, Protocol } from './types.js';

/** A plain cell: the same rule on every server and in every mode. */
export type Cell = 'required' | 'optional' | 'recommended' | 'n/a';

export interface GrantRules {
  readonly protocols: readonly Protocol[];
  /** user: delegated scopes, someone signs in; application: the app's own permissions. */
  readonly level: 'user' | 'application';
  /** Only on microsoft-type servers; other servers have no tenants. */
  readonly tenantId: 'required' | 'recommended';
  readonly clientId: Cell;
  readonly username: Cell;
  readonly password: Cell;
  readonly redirectUri: Cell;
  readonly redirectPlatform: Cell;
  readonly proxy: Cell;
  readonly scopes: 'optional' | 'n/a' | 'required (server default counts)';
  /** clientSecretExpiresAt (the secret's end date, for the forecast) goes wherever a clientSecret is given, under every grant (checks/client-authentication.ts). */
  readonly clientSecret: 'optional' | 'by redirect platform' | 'required in client-secret mode';
  readonly certificate: 'n/a' | 'required in certificate mode';
  /** A Google service-account JSON key: application-level access on google-type servers only (checks/service-account-key.ts). */
  readonly credentialsFile: 'n/a' | 'optional';
  /** Which endpoints the authorization server must offer (the token endpoint every server has). */
  readonly authorizationEndpoint: boolean;
  readonly deviceAuthorizationEndpoint: boolean;
}

export const GRANT_RULES: Readonly<Record<GrantTypeName, GrantRules>> = {
  ropc: {
    protocols: ['graph'],
    level: 'user',
    tenantId: 'recommended',
    clientId: 'required',
    username: 'required',
    password: 'required',
    redirectUri: 'n/a',
    redirectPlatform: 'n/a',
    proxy: 'optional',
    scopes: 'optional',
    clientSecret: 'optional',
    certificate: 'n/a',
    credentialsFile: 'n/a',
    authorizationEndpoint: false,
    deviceAuthorizationEndpoint: false,
  },
  'ropc-deprecated': {
    protocols: ['graph'],
    level: 'user',
    tenantId: 'recommended',
    clientId: 'required',
    username: 'required',
    password: 'required',
    redirectUri: 'n/a',
    redirectPlatform: 'n/a',
    proxy: 'n/a',
    scopes: 'n/a',
    clientSecret: 'optional',
    certificate: 'n/a',
    credentialsFile: 'n/a',
    authorizationEndpoint: false,
    deviceAuthorizationEndpoint: false,
  },
  'authorization-code': {
    protocols: ['graph', 'imap', 'pop3', 'smtp'],
    level: 'user',
    tenantId: 'required',
    clientId: 'required',
    username: 'required',
    password: 'n/a',
    redirectUri: 'required',
    redirectPlatform: 'optional',
    proxy: 'optional',
    scopes: 'required (server default counts)',
    clientSecret: 'by redirect platform',
    certificate: 'required in certificate mode',
    credentialsFile: 'n/a',
    authorizationEndpoint: true,
    deviceAuthorizationEndpoint: false,
  },
  'client-credentials': {
    protocols: ['graph', 'imap', 'pop3', 'smtp'],
    level: 'application',
    tenantId: 'required',
    clientId: 'required',
    username: 'required',
    password: 'n/a',
    redirectUri: 'n/a',
    redirectPlatform: 'n/a',
    proxy: 'optional',
    scopes: 'required (server default counts)',
    clientSecret: 'required in client-secret mode',
    certificate: 'required in certificate mode',
    credentialsFile: 'optional',
    authorizationEndpoint: false,
    deviceAuthorizationEndpoint: false,
  },
  // Our addition: user level, like authorization-code without a redirect.
  'device-code': {
    protocols: ['graph', 'imap', 'pop3', 'smtp'],
    level: 'user',
    tenantId: 'required',
    clientId: 'required',
    username: 'required',
    password: 'n/a',
    redirectUri: 'n/a',
    redirectPlatform: 'n/a',
    proxy: 'optional',
    scopes: 'required (server default counts)',
    clientSecret: 'optional',
    certificate: 'n/a',
    credentialsFile: 'n/a',
    authorizationEndpoint: false,
    deviceAuthorizationEndpoint: true,
  },
};

/** Grant types that accept authenticationMode: certificate. */
export const CERTIFICATE_GRANTS = (Object.keys(GRANT_RULES) as GrantTypeName[]).filter(
  (grant) => GRANT_RULES[grant].certificate === 'required in certificate mode',
);

/** Grant types that work with `protocol`, for "use one of these instead" messages. */
export function grantsFor(protocol: Protocol): GrantTypeName[] {
  return (Object.keys(GRANT_RULES) as GrantTypeName[]).filter((grant) => GRANT_RULES[grant].protocols.includes(protocol));
}
