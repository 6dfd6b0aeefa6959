// The two pieces beside the config that know national clouds: the msal
// authority (built from the server's cloud when it names no authorityHost,
// with the cloud's other host names as cache aliases) and the sandbox's
// resources (`<resource>/.default` of each cloud's Exchange Online and Graph).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { msalAuthorityOptions } from '../../src/broker/index.js';
import { parseUserScopes } from '../../src/sandbox/scopes.js';
import { TEST_SERVER } from '../support/mailbox.js';

describe('msalAuthorityOptions per cloud', () => {
  const cases = [
    ['usgov', 'https://login.microsoftonline.us/contoso/oauth2/v2.0/token'],
    ['usgov-dod', 'https://login.microsoftonline.us/contoso/oauth2/v2.0/token'],
    ['china', 'https://login.chinacloudapi.cn/contoso/oauth2/v2.0/token'],
  ] as const;
  for (const [cloud, tokenEndpoint] of cases) {
    test(`a ${cloud} server without authorityHost asks its cloud's authority`, () => {
      const { authorityHost: _ignored, ...server } = TEST_SERVER;
      assert.equal(msalAuthorityOptions({ ...server, cloud }, 'contoso').tokenEndpoint, tokenEndpoint);
    });
  }

  test("china's two host names are one instance to msal's cache", () => {
    const options = msalAuthorityOptions({ ...TEST_SERVER, cloud: 'china', authorityHost: 'https://login.partner.microsoftonline.cn' }, 'contoso');
    const discovery = JSON.parse(options.cloudDiscoveryMetadata) as { metadata: { preferred_network: string; aliases: string[] }[] };
    assert.equal(discovery.metadata[0]?.preferred_network, 'login.partner.microsoftonline.cn');
    assert.deepEqual(discovery.metadata[0]?.aliases, ['login.partner.microsoftonline.cn', 'login.chinacloudapi.cn']);
  });

  test('an unknown host (the sandbox) is its own only alias, whatever the cloud', () => {
    const options = msalAuthorityOptions({ ...TEST_SERVER, cloud: 'usgov', authorityHost: 'https://localhost:8443' }, 'contoso');
    const discovery = JSON.parse(options.cloudDiscoveryMetadata) as { metadata: { aliases: string[] }[] };
    assert.deepEqual(discovery.metadata[0]?.aliases, ['localhost:8443']);
  });
});

describe('sandbox: each cloud resource has its .default permissions', () => {
  const exchange = ['https://outlook.office365.us', 'https://outlook-dod.office365.us', 'https://partner.outlook.cn'];
  const graph = ['https://graph.microsoft.us', 'https://dod-graph.microsoft.us', 'https://microsoftgraph.chinacloudapi.cn'];
  for (const resource of exchange) {
    test(`${resource}/.default: the mail protocols`, () => {
      const scopes = parseUserScopes(`${resource}/.default offline_access`);
      assert.ok(!('error' in scopes));
      assert.equal(scopes.resource, resource);
      assert.deepEqual(scopes.permissions, ['IMAP.AccessAsUser.All', 'POP.AccessAsUser.All', 'SMTP.Send', 'User.Read']);
    });
  }
  for (const resource of graph) {
    test(`${resource}/.default: Graph mail`, () => {
      const scopes = parseUserScopes(`${resource}/.default`);
      assert.ok(!('error' in scopes));
      assert.equal(scopes.resource, resource);
      assert.deepEqual(scopes.permissions, ['Mail.ReadWrite', 'Mail.Send', 'User.Read']);
    });
  }
});
