// Builds validated-config objects for unit tests of the engine and server.
import type { AuthorizationServerConfig, MailboxConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/logging/index.js';
import { openTokenStore } from '../../src/store/index.js';
import type { TokenStore } from '../../src/store/index.js';

export const TEST_SERVER: AuthorizationServerConfig = {
  name: 'microsoft',
  type: 'microsoft',
  authorityHost: 'https://login.microsoftonline.com',
  scopes: {},
  caCertificates: [],
};

export function testMailbox(overrides: Partial<MailboxConfig> = {}): MailboxConfig {
  return {
    name: 'sales',
    protocol: 'imap',
    grantType: 'client-credentials',
    authorizationServer: TEST_SERVER,
    tenantId: '00000000-0000-0000-0000-000000000001',
    clientId: '00000000-0000-0000-0000-000000000002',
    authenticationMode: 'client-secret',
    scopes: ['https://outlook.office365.com/.default'],
    username: 'sales@contoso.example',
    ...overrides,
  };
}

/** An in-memory token store (its key lives in memory too), for engine tests. */
export function memoryStore(): Promise<TokenStore> {
  return openTokenStore({ url: 'memory:', encryptionKeyFile: '/nonexistent/unused.key' }, { logger: silentLogger() });
}
