// Microsoft national clouds end to end (issue 13, point 1): the daemon in
// process, with the Entra-shaped sandbox standing in for each cloud's
// authority (an unknown host, so `cloud:` is written out). The tokens it
// hands back are for that cloud's resources: the audience and scopes the
// sandbox put in them, not the global ones (AADSTS500011 on the real thing).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { TokenBrokerClient } from '../../src/client/index.js';
import type { AccessTokenClaims } from '../../src/sandbox/index.js';
import { startInProcessBroker } from '../support/in-process-broker.js';
import type { InProcessBroker } from '../support/in-process-broker.js';

const TENANT = randomUUID();
const APP = { tenantId: TENANT, clientId: randomUUID(), clientSecret: `app-${randomUUID()}` };
const PUBLIC_APP = randomUUID();
const ALICE = 'alice@contoso.example';
const ALICE_PASSWORD = `pw-${randomUUID()}`;

/** Each cloud's resources as Microsoft publishes them (see src/config/microsoft-clouds.ts). */
const CLOUDS = {
  usgov: { exchange: 'https://outlook.office365.us', graph: 'https://graph.microsoft.us' },
  'usgov-dod': { exchange: 'https://outlook-dod.office365.us', graph: 'https://dod-graph.microsoft.us' },
  china: { exchange: 'https://partner.outlook.cn', graph: 'https://microsoftgraph.chinacloudapi.cn' },
} as const;
type Cloud = keyof typeof CLOUDS;
const CLOUD_NAMES = Object.keys(CLOUDS) as Cloud[];

function mailboxes(cloud: Cloud): string {
  const common = `    authorizationServer: ${cloud}\n    tenantId: ${TENANT}\n`;
  const app = `${common}    grantType: client-credentials\n    clientId: ${APP.clientId}\n    clientSecret: ${APP.clientSecret}\n    username: shared@contoso.example\n`;
  const user = `${common}    protocol: graph\n    clientId: ${PUBLIC_APP}\n    username: ${ALICE}\n    password: ${ALICE_PASSWORD}\n`;
  return [
    `  ${cloud}-imap-app:\n    protocol: imap\n${app}`,
    `  ${cloud}-graph-app:\n    protocol: graph\n${app}`,
    `  ${cloud}-graph-user:\n    grantType: ropc\n${user}`,
  ].join('');
}

describe('national clouds through the daemon', () => {
  let broker: InProcessBroker;
  let client: TokenBrokerClient;

  before(async () => {
    broker = await startInProcessBroker({
      prefix: 'tb-clouds-',
      setup: (sandbox) => {
        sandbox.registerApplication(APP);
        sandbox.registerApplication({ tenantId: TENANT, clientId: PUBLIC_APP, publicClient: true });
        sandbox.registerUser({ tenantId: TENANT, username: ALICE, password: ALICE_PASSWORD });
      },
      config: ({ sandbox, address }) => `server:
  listen: ["${address}"]
store: { url: "memory:" }
authorizationServers:
  # ropc-deprecated always uses the microsoft server: here in the usgov cloud.
  microsoft: { cloud: usgov, authorityHost: "${sandbox.url}", caFile: ca.pem }
${CLOUD_NAMES.map((cloud) => `  ${cloud}: { type: microsoft, cloud: ${cloud}, authorityHost: "${sandbox.url}", caFile: ca.pem }\n`).join('')}mailboxes:
${CLOUD_NAMES.map(mailboxes).join('')}  legacy:
    protocol: graph
    grantType: ropc-deprecated
    tenantId: ${TENANT}
    clientId: ${PUBLIC_APP}
    username: ${ALICE}
    password: ${ALICE_PASSWORD}
`,
    });
    client = broker.connect();
  });

  after(async () => {
    await broker?.stop();
  });

  async function claimsOf(mailbox: string): Promise<AccessTokenClaims> {
    const token = await client.getToken(mailbox);
    const claims = broker.sandbox.verifyAccessToken(token.accessToken);
    assert.ok(claims, `${mailbox}: the sandbox did not issue this token`);
    return claims;
  }

  for (const cloud of CLOUD_NAMES) {
    const { exchange, graph } = CLOUDS[cloud];

    test(`${cloud}: app tokens (client credentials) are for the cloud's Exchange Online and Graph`, async () => {
      const imap = await claimsOf(`${cloud}-imap-app`);
      assert.equal(imap.aud, exchange);
      assert.equal(imap.idtyp, 'app');
      assert.equal((await claimsOf(`${cloud}-graph-app`)).aud, graph);
    });

    test(`${cloud}: a user token (ROPC) is for the cloud's Graph with the delegated permission`, async () => {
      const claims = await claimsOf(`${cloud}-graph-user`);
      assert.equal(claims.aud, graph);
      assert.equal(claims.scp, 'Mail.ReadWrite');
    });

  }

  test("usgov: ropc-deprecated asks for the microsoft server's cloud's Graph .default and gets its mail permissions", async () => {
    const claims = await claimsOf('legacy');
    assert.equal(claims.aud, CLOUDS.usgov.graph);
    assert.equal(claims.scp, 'Mail.ReadWrite Mail.Send User.Read');
  });
});
