// Microsoft's cloud instances: where each one's tokens come from and which
// resources its default scopes name. A national cloud is a separate Entra ID
// with its own Exchange Online and Graph; a token for the global resources
// asked of a national authority is refused (AADSTS500011). The one table of
// these hosts in the code: everything else asks it.
//
// Sources:
// - Microsoft Learn, "National clouds" (the Entra authority of each cloud;
//   login.partner.microsoftonline.cn is how the China page still names it):
//   https://learn.microsoft.com/en-us/entra/identity-platform/authentication-national-cloud
// - Microsoft Graph, "National cloud deployments" (token service and Graph
//   root endpoints; scopes must name the cloud's Graph host):
//   https://learn.microsoft.com/en-us/graph/deployments
// - Exchange, "Authenticate an IMAP, POP or SMTP connection using OAuth" (the
//   scope forms `<Exchange host>/IMAP.AccessAsUser.All`, and `.default` for
//   app tokens):
//   https://learn.microsoft.com/en-us/exchange/client-developer/legacy-protocols/how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth
//   The national Exchange Online hosts (outlook.office365.us,
//   outlook-dod.office365.us, partner.outlook.cn) are those of issue 13; the
//   two pages above do not list them.
import type { AuthorizationServerConfig, MicrosoftCloud, Protocol, ScopesByProtocol } from './types.js';

export interface MicrosoftCloudHosts {
  /** https origins of its Entra ID: the first is what `cloud:` alone sets; the others are older names of the same instance. */
  readonly authorityHosts: readonly [string, ...string[]];
  /** Exchange Online (IMAP, POP, SMTP) as app tokens name it: `<exchange>/.default`. */
  readonly exchange: string;
  /**
   * Exchange Online in delegated scopes (`<...>/IMAP.AccessAsUser.All`).
   * Global keeps outlook.office.com, the form Microsoft documents and the
   * broker always asked for (a changed scope would mean re-authorizing every
   * mailbox); the national clouds have one Exchange host for both.
   */
  readonly exchangeDelegated: string;
  readonly graph: string;
}

export const MICROSOFT_CLOUD_HOSTS: Readonly<Record<MicrosoftCloud, MicrosoftCloudHosts>> = {
  global: {
    authorityHosts: ['https://login.microsoftonline.com'],
    exchange: 'https://outlook.office365.com',
    exchangeDelegated: 'https://outlook.office.com',
    graph: 'https://graph.microsoft.com',
  },
  // GCC High. (GCC "moderate" tenants live in the global cloud.)
  usgov: {
    authorityHosts: ['https://login.microsoftonline.us'],
    exchange: 'https://outlook.office365.us',
    exchangeDelegated: 'https://outlook.office365.us',
    graph: 'https://graph.microsoft.us',
  },
  // DoD shares its authority with usgov: only `cloud: usgov-dod` tells them apart.
  'usgov-dod': {
    authorityHosts: ['https://login.microsoftonline.us'],
    exchange: 'https://outlook-dod.office365.us',
    exchangeDelegated: 'https://outlook-dod.office365.us',
    graph: 'https://dod-graph.microsoft.us',
  },
  // Operated by 21Vianet; login.partner.microsoftonline.cn is the older name of its authority.
  china: {
    authorityHosts: ['https://login.chinacloudapi.cn', 'https://login.partner.microsoftonline.cn'],
    exchange: 'https://partner.outlook.cn',
    exchangeDelegated: 'https://partner.outlook.cn',
    graph: 'https://microsoftgraph.chinacloudapi.cn',
  },
};

const CLOUD_NAMES = Object.keys(MICROSOFT_CLOUD_HOSTS) as MicrosoftCloud[];

/** Origin form (lower case, default port dropped), so `https://LOGIN.microsoftonline.us:443/` matches too. */
function originOf(host: string): string | undefined {
  return URL.canParse(host) ? new URL(host).origin : undefined;
}

/** The clouds whose authority `authorityHost` is, in table order (usgov before usgov-dod); none for a host we do not know. */
export function cloudsOfAuthorityHost(authorityHost: string): readonly MicrosoftCloud[] {
  const origin = originOf(authorityHost);
  return CLOUD_NAMES.filter((cloud) => MICROSOFT_CLOUD_HOSTS[cloud].authorityHosts.some((host) => host === origin));
}

export interface MicrosoftAuthority {
  /** https origin tokens are asked of. */
  readonly host: string;
  /**
   * The `host[:port]` names msal-node may treat as this one authority (its
   * cache aliases): the host first, then the other names of its cloud; just
   * the host when it is not a known authority (a test server, a proxy).
   */
  readonly aliases: string[];
}

/** Where a microsoft server's tokens come from: its authorityHost, else its cloud's (global when it names none). */
export function microsoftAuthority(server: AuthorizationServerConfig): MicrosoftAuthority {
  const host = server.authorityHost ?? MICROSOFT_CLOUD_HOSTS[server.cloud ?? 'global'].authorityHosts[0];
  const names = cloudsOfAuthorityHost(host).flatMap((cloud) => MICROSOFT_CLOUD_HOSTS[cloud].authorityHosts.map((known) => new URL(known).host));
  return { host, aliases: [...new Set([new URL(host).host, ...names])] };
}

/** Delegated (user-level) scopes; offline_access so Entra hands out a refresh token. */
export function microsoftDelegatedScopes(cloud: MicrosoftCloud): ScopesByProtocol {
  const { exchangeDelegated, graph } = MICROSOFT_CLOUD_HOSTS[cloud];
  return {
    imap: [`${exchangeDelegated}/IMAP.AccessAsUser.All`, 'offline_access'],
    pop3: [`${exchangeDelegated}/POP.AccessAsUser.All`, 'offline_access'],
    smtp: [`${exchangeDelegated}/SMTP.Send`, 'offline_access'],
    graph: [`${graph}/Mail.ReadWrite`, 'offline_access'],
  };
}

/** Graph needs the Shared variant to reach another user's (shared) mailbox. */
export function microsoftDelegatedSharedGraphScopes(cloud: MicrosoftCloud): readonly string[] {
  return [`${MICROSOFT_CLOUD_HOSTS[cloud].graph}/Mail.ReadWrite.Shared`, 'offline_access'];
}

/** Application level (client credentials): the app's statically granted permissions on the protocol's resource. */
export function microsoftApplicationScopes(cloud: MicrosoftCloud, protocol: Protocol): readonly string[] {
  const { exchange, graph } = MICROSOFT_CLOUD_HOSTS[cloud];
  return [`${protocol === 'graph' ? graph : exchange}/.default`];
}
