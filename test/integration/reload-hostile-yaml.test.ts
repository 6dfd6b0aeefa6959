// Hot reload of a config file written to hurt, or broken next to a secret,
// against the real `token-broker serve` binary: the Reload RPC answers with
// the problem at its line:column (not "internal error"), the log and
// `token-broker validate` quote no secret, and the daemon keeps serving the
// configuration it runs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import type { BrokerToken } from '../../src/client/index.js';
import { clientCredentialsMailbox, startBrokerEnvironment } from '../support/broker-environment.js';
import type { BrokerEnvironment } from '../support/broker-environment.js';
import { runCliInProcess } from '../support/cli-in-process.js';

const TENANT = randomUUID();
const APP = randomUUID();
const APP_SECRET = `app-${randomUUID()}`;
/** An inline password in the broken files: it must appear in no answer, no log line and no validate output. */
const INLINE_SECRET = `pw-${randomUUID()}`;

describe('reload: a hostile config file is a problem, and the daemon keeps serving', () => {
  let environment: BrokerEnvironment;
  let token: BrokerToken;
  let header: string;

  before(async () => {
    environment = await startBrokerEnvironment({
      prefix: 'tb-reload-hostile-',
      serveArgs: ['--no-watch-config'],
      setup: (sandbox) => sandbox.registerApplication({ tenantId: TENANT, clientId: APP, clientSecret: APP_SECRET }),
      config: ({ sandbox, address }) => `server: { listen: ["${address}"] }
store: { url: "memory:" }
authorizationServers:
  microsoft: { authorityHost: "${sandbox.url}", caFile: ca.pem }
mailboxes:
${clientCredentialsMailbox('sales', TENANT, APP, APP_SECRET)}`,
    });
    token = await environment.client.getToken('sales');
    header = `server: { listen: ["${environment.address}"] }
store: { url: "memory:" }
authorizationServers:
  microsoft: { authorityHost: "${environment.sandbox.url}", caFile: ca.pem }
`;
  });

  after(() => environment?.stop());

  const assertStillServing = async (): Promise<void> => {
    assert.equal(environment.daemon.child.exitCode, null, 'the daemon is running');
    assert.equal((await environment.client.getToken('sales')).accessToken, token.accessToken, 'the old mailbox, with its token');
    await assert.rejects(environment.client.getToken('m1'), (error: ServiceError) => error.code === GrpcStatus.NOT_FOUND);
  };

  test('Reload of a file whose alias is inside its own anchor: the problem at the alias, not "internal error"', async () => {
    await writeFile(environment.configFile, `${header}mailboxes: &all\n${clientCredentialsMailbox('sales', TENANT, APP, APP_SECRET)}  m1: *all\n`);
    const result = await environment.client.reload();
    assert.equal(result.applied, false);
    assert.deepEqual(result.errors, [
      `${environment.configFile}:13:7: error: mailboxes.m1: this alias (*) is inside the value its anchor (&) marks, so it would expand without end; point it at another anchor, or write the value out`,
    ]);
    assert.doesNotMatch(environment.daemon.stderr(), /internal error|Maximum call stack/);
    await assertStillServing();
  });

  test('Reload of a file nested 100,000 levels deep: one problem', async () => {
    await writeFile(environment.configFile, `${header}mailboxes:\n${clientCredentialsMailbox('sales', TENANT, APP, APP_SECRET)}    scopes: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`);
    const result = await environment.client.reload();
    assert.equal(result.applied, false);
    assert.equal(result.errors.length, 1, result.errors.join('\n'));
    assert.match(result.errors[0] ?? '', /^.*broker\.yaml:13:\d+: error: YAML nested more than 64 levels deep; /);
    await assertStillServing();
  });

  test('Reload and validate of a file with a syntax error next to an inline password: the password is nowhere', async () => {
    // Values that start with ! (read as a tag: a warning) and | (read as a block scalar header: an error): the yaml package's own messages quote them.
    const broken = `${header}mailboxes:\n${clientCredentialsMailbox('sales', TENANT, APP, APP_SECRET)}    sharedMailbox: !${INLINE_SECRET}\n    password: |${INLINE_SECRET}\n`;
    await writeFile(environment.configFile, broken);
    const from = environment.daemon.stderr().length;
    const result = await environment.client.reload();
    assert.equal(result.applied, false);
    assert.ok(result.errors.length > 0);
    for (const error of result.errors) assert.match(error, /broker\.yaml:14:\d+: error: YAML syntax error: /);
    assert.ok(!result.errors.join('\n').includes(INLINE_SECRET), result.errors.join('\n'));
    const logged = environment.daemon.stderr().slice(from);
    assert.match(logged, /broker\.yaml:13:\d+: warning: YAML: /);
    assert.match(logged, /broker\.yaml:14:\d+: error: YAML syntax error: /);
    assert.ok(!logged.includes(INLINE_SECRET), logged);
    const validate = await runCliInProcess(['validate', '--config', environment.configFile]);
    assert.equal(validate.code, 78, validate.stderr);
    assert.match(validate.stdout + validate.stderr, /broker\.yaml:14:\d+: error: YAML syntax error: /);
    assert.ok(!(validate.stdout + validate.stderr).includes(INLINE_SECRET), validate.stdout + validate.stderr);
    await assertStillServing();
  });
});
