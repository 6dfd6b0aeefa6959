// Which token audiences name Exchange Online and which Microsoft Graph, in
// every Microsoft cloud the sandbox can play. The broker's table of these
// hosts is src/config/microsoft-clouds.ts; the sandbox imports nothing of the
// broker, hence this copy.

/** Exchange Online of the public cloud (both names), US Government, DoD and China (21Vianet). */
export const EXCHANGE_RESOURCES: readonly string[] = [
  'https://outlook.office.com',
  'https://outlook.office365.com',
  'https://outlook.office365.us',
  'https://outlook-dod.office365.us',
  'https://partner.outlook.cn',
];

/** Microsoft Graph of the same clouds. */
export const GRAPH_RESOURCES: readonly string[] = [
  'https://graph.microsoft.com',
  'https://graph.microsoft.us',
  'https://dod-graph.microsoft.us',
  'https://microsoftgraph.chinacloudapi.cn',
];

// Entra may also put the resource's application id in `aud`; tokens this
// sandbox mints use the URL, but a resource server accepts both.
const EXCHANGE_APP_ID = '00000002-0000-0ff1-ce00-000000000000';
export const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';

const EXCHANGE_AUDIENCES: ReadonlySet<string> = new Set([...EXCHANGE_RESOURCES, EXCHANGE_APP_ID]);
const GRAPH_AUDIENCES: ReadonlySet<string> = new Set([...GRAPH_RESOURCES, GRAPH_APP_ID]);

/** How resources compare: case-insensitively and without trailing slashes. */
export function normalizeResource(resource: string): string {
  return resource.trim().replace(/\/+$/, '').toLowerCase();
}

/**
 * The key under which an admin's consent for a resource is kept: outlook.office.com
 * and outlook.office365.com are one service principal (Office 365 Exchange
 * Online), so consent to either covers tokens for both.
 */
export function consentResourceKey(resource: string): string {
  const normalized = normalizeResource(resource);
  return normalized === 'https://outlook.office.com' ? 'https://outlook.office365.com' : normalized;
}

export function isExchangeAudience(audience: unknown): boolean {
  return typeof audience === 'string' && EXCHANGE_AUDIENCES.has(normalizeResource(audience));
}

export function isGraphAudience(audience: unknown): boolean {
  return typeof audience === 'string' && GRAPH_AUDIENCES.has(normalizeResource(audience));
}
