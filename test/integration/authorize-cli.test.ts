// `token-broker authorize` as an operator runs it against the real daemon:
// a device-code mailbox (code and verification URI printed, progress while
// the person signs in, approved in the sandbox, then `token` prints a token
// the sandbox verifies), and the mistakes an operator makes: an unknown
// mailbox, a wrong client key, a connector's key instead of an admin one.
// The authorize command itself runs as a process (stdin, progress on stderr,
// the exit code); the quick answers run in-process.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Agent, fetch } from 'undici';
import type { UserAccessTokenClaims } from '../../src/sandbox/index.js';
import { startBrokerEnvironment } from '../support/broker-environment.js';
import type { BrokerEnvironment } from '../support/broker-environment.js';
import { runCliInProcess } from '../support/cli-in-process.js';
import { runCli, startCli } from '../support/daemon-process.js';

const TENANT = randomUUID();
const PUBLIC_APP = randomUUID();
const ALICE = 'alice@contoso.example';
const ADMIN_KEY = `admin-${randomUUID()}`;
const CONNECTOR_KEY = `connector-${randomUUID()}`;

describe('token-broker authorize against the running daemon', () => {
  let environment: BrokerEnvironment;
  let adminKeyFile: string;

  before(async () => {
    environment = await startBrokerEnvironment({
      prefix: 'tb-authorize-cli-',
      sandbox: { deviceCodeIntervalSeconds: 1 },
      setup: (sandbox) => {
        sandbox.registerApplication({ tenantId: TENANT, clientId: PUBLIC_APP, publicClient: true });
        sandbox.registerUser({ tenantId: TENANT, username: ALICE, password: `pw-${randomUUID()}` });
      },
      config: ({ sandbox, address }) => `server:
  listen: ["${address}"]
  clients:
    - { name: ops, key: "${ADMIN_KEY}", mailboxes: ["*"], admin: true }
    - { name: connector-1, key: "${CONNECTOR_KEY}", mailboxes: ["*"] }
store: { url: "memory:" }
authorizationServers:
  microsoft: { authorityHost: "${sandbox.url}", caFile: ca.pem }
mailboxes:
  smtp-device:
    protocol: smtp
    grantType: device-code
    tenantId: ${TENANT}
    clientId: ${PUBLIC_APP}
    username: ${ALICE}
`,
    });
    adminKeyFile = path.join(environment.directory, 'admin.key');
    await writeFile(adminKeyFile, `${ADMIN_KEY}\n`, { mode: 0o600 });
  });

  after(() => environment?.stop());

  test('device code: the code and the page are printed, progress is shown, the approval completes it and exits 0; token then prints a valid token', async () => {
    const { address, sandbox } = environment;
    const before = await runCliInProcess(['token', 'smtp-device', '--socket', address, '--key-file', adminKeyFile]);
    assert.equal(before.code, 1);
    assert.match(before.stderr, /token-broker authorize smtp-device/, 'the mailbox needs authorization first, and the message says how');

    const cli = startCli(['authorize', 'smtp-device', '--socket', address, '--key-file', adminKeyFile]);
    const [, verificationUri = '', userCode = ''] = await cli.waitForStdout(/To authorize mailbox smtp-device, open (\S+) and enter the code (\S+)$/m);
    assert.equal(verificationUri, `${sandbox.url}/devicelogin`);
    assert.match(userCode, /^[A-Z0-9]{8,9}$/);
    await cli.waitForStdout(/\(the code expires at \d{4}-\d\d-\d\dT[\d:.]+Z\)\. Waiting for the sign-in\.\.\./);
    // The person opens the page on another machine...
    const page = await fetch(verificationUri, { dispatcher: new Agent({ connect: { ca: sandbox.caCertificatePem } }) });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Enter code/);
    // ...and takes a while: the command says it is still waiting, with the time left.
    const [, secondsLeft = ''] = await cli.waitForStderr(/still waiting \((\d+) s left\)\.\.\./);
    assert.ok(Number(secondsLeft) > 800 && Number(secondsLeft) <= 900, `${secondsLeft} s left of the 15 minutes a device code lives`);
    assert.doesNotMatch((await runCliInProcess(['status', '--socket', address, '--key-file', adminKeyFile])).stdout, /smtp-device\s+ready/);

    sandbox.approveDeviceCode(userCode, ALICE);
    const result = await cli.exit;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Mailbox smtp-device is authorized; token expires at \d{4}-\d\d-\d\dT/);

    const token = await runCli(['token', 'smtp-device', '--socket', address, '--key-file', adminKeyFile]);
    assert.equal(token.code, 0, token.stderr);
    const claims = sandbox.verifyAccessToken(token.stdout.trim()) as UserAccessTokenClaims | undefined;
    assert.ok(claims, 'the printed token verifies against the sandbox');
    assert.equal(claims.upn, ALICE);
    assert.match(claims.scp, /SMTP\.Send/);
  });

  test('an unknown mailbox exits 1 and says where to find the names', async () => {
    const result = await runCliInProcess(['authorize', 'no-such-mailbox', '--socket', environment.address], { TOKEN_BROKER_KEY: ADMIN_KEY });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /no mailbox named "no-such-mailbox" is configured/);
    assert.match(result.stderr, /token-broker status/);
    assert.equal(result.stdout, '', 'nothing to open, no code');
  });

  test('a wrong client key exits 1 and says the key was refused, never echoing it', async () => {
    const wrong = `wrong-${randomUUID()}`;
    const result = await runCliInProcess(['authorize', 'smtp-device', '--socket', environment.address], { TOKEN_BROKER_KEY: wrong });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /refused the client key/);
    assert.match(result.stderr, /unknown client key: it matches no entry of server\.clients/);
    assert.match(result.stderr, /The key is wrong: check the one given with --key-file, \$TOKEN_BROKER_KEY_FILE or \$TOKEN_BROKER_KEY against server\.clients/);
    assert.ok(!result.stderr.includes(wrong), 'the key is not printed');
    assert.equal(result.stdout, '');
  });

  test("a connector's key is not enough: authorizing takes an admin key", async () => {
    const result = await runCliInProcess(['authorize', 'smtp-device', '--socket', environment.address], { TOKEN_BROKER_KEY: CONNECTOR_KEY });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /connector-1/);
    assert.match(result.stderr, /admin/);
  });
});
