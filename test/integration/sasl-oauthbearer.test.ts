// Token.sasl_oauthbearer end to end: a real token from the sandbox, through
// the daemon's gRPC face and the client package, and printed by the real
// `token-broker token --oauthbearer` binary. The mailbox's user holds ',' and
// '=' so that the GS2 escaping (RFC 5801) is seen on the wire too.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { runCliInProcess } from '../support/cli-in-process.js';
import { runCli } from '../support/daemon-process.js';
import { startInProcessBroker } from '../support/in-process-broker.js';
import type { InProcessBroker } from '../support/in-process-broker.js';

const MAILBOX = 'desk-imap';
const USER = 'ops=desk,eu@contoso.example';

describe('sasl_oauthbearer', () => {
  let world: InProcessBroker;

  before(async () => {
    const app = { tenantId: randomUUID(), clientId: randomUUID(), clientSecret: 'app-secret' };
    world = await startInProcessBroker({
      prefix: 'tb-oauthbearer-',
      setup: (sandbox) => void sandbox.registerApplication(app),
      config: ({ sandbox, address }) => `server: { listen: ["${address}"] }
store: { url: "memory:" }
authorizationServers:
  microsoft: { authorityHost: "${sandbox.url}", caFile: ca.pem }
mailboxes:
  ${MAILBOX}:
    protocol: imap
    grantType: client-credentials
    tenantId: ${app.tenantId}
    clientId: ${app.clientId}
    clientSecret: ${app.clientSecret}
    username: "${USER}"
`,
    });
  });

  after(async () => {
    await world?.stop();
  });

  test('a real token round-trips over gRPC: the exact RFC 7628 bytes, user escaped, beside the XOAUTH2 string', async () => {
    const token = await world.connect().getToken(MAILBOX);
    assert.ok(world.sandbox.verifyAccessToken(token.accessToken), 'the token is the sandbox\'s');
    assert.equal(token.username, USER);
    assert.deepEqual(Buffer.from(token.saslOauthbearer, 'base64'), Buffer.from(`n,a=ops=3Ddesk=2Ceu@contoso.example,\x01auth=Bearer ${token.accessToken}\x01\x01`));
    assert.deepEqual(Buffer.from(token.saslXoauth2, 'base64'), Buffer.from(`user=${USER}\x01auth=Bearer ${token.accessToken}\x01\x01`));
  });

  test('token --oauthbearer prints it (the real binary)', async () => {
    const token = await world.connect().getToken(MAILBOX);
    const printed = await runCli(['token', MAILBOX, '--oauthbearer', '--socket', world.address]);
    assert.equal(printed.code, 0, printed.stderr);
    assert.equal(printed.stdout, `${token.saslOauthbearer}\n`);
    assert.equal(printed.stderr, '');
  });

  test('token --xoauth2 --oauthbearer is a usage error (exit 2) that names both options', async () => {
    for (const args of [
      ['token', MAILBOX, '--xoauth2', '--oauthbearer', '--socket', world.address],
      ['token', MAILBOX, '--oauthbearer', '--xoauth2', '--socket', world.address],
    ]) {
      const result = await runCli(args);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.equal(result.stdout, '', 'no token printed');
      assert.match(result.stderr, /option '--(xoauth2|oauthbearer)' cannot be used with option '--(oauthbearer|xoauth2)'/);
    }
  });

  test('token --help lists --oauthbearer', async () => {
    const help = await runCliInProcess(['token', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--oauthbearer\s+print the SASL OAUTHBEARER string \(RFC 7628\)/);
    assert.match(help.stdout, /--xoauth2\s+print the SASL XOAUTH2 string/);
  });
});
