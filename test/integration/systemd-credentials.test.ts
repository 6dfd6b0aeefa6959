// `token-broker serve` with config/broker.example.yaml as it ships (its store
// key and client secret read as ${CREDENTIALS_DIRECTORY}/ID), only pointed at
// the sandbox and a temp folder, and CREDENTIALS_DIRECTORY a folder laid out
// as systemd 252 lays out LoadCredentialEncrypted= (files 0440 and folder
// 0550 under an ACL, see test/unit/systemd-credentials.test.ts): it starts
// under --strict and hands out a token; without the store key among the
// credentials it exits 78 saying how to make one with systemd-creds.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { startBrokerEnvironment } from '../support/broker-environment.js';
import type { BrokerEnvironment } from '../support/broker-environment.js';
import { runCli } from '../support/daemon-process.js';

const EXAMPLE_CONFIG = fileURLToPath(new URL('../../../config/broker.example.yaml', import.meta.url));
const TENANT = '00000000-0000-0000-0000-000000000000';
const CLIENT = '11111111-1111-1111-1111-111111111111';
const CLIENT_SECRET = 'sales-app-secret';

/** The example config, unchanged but for where it listens, stores, and which server it asks. */
function exampleConfig(example: string, address: string, directory: string, sandboxUrl: string): string {
  const document = parseDocument(example);
  // What this test is about: the example reads its secrets from systemd's credentials.
  assert.equal(document.getIn(['store', 'encryptionKeyFile']), '${CREDENTIALS_DIRECTORY}/store-key');
  assert.equal(document.getIn(['mailboxes', 'sales-imap', 'clientSecretFile']), '${CREDENTIALS_DIRECTORY}/sales-client-secret');
  assert.equal(document.getIn(['mailboxes', 'sales-imap', 'tenantId']), TENANT);
  assert.equal(document.getIn(['mailboxes', 'sales-imap', 'clientId']), CLIENT);
  document.setIn(['server', 'listen'], [address]);
  document.setIn(['store', 'url'], `sqlite://${path.join(directory, 'tokens.sqlite')}`);
  document.setIn(['authorizationServers'], { microsoft: { authorityHost: sandboxUrl, caFile: 'ca.pem' } });
  return document.toString();
}

/** $CREDENTIALS_DIRECTORY as systemd 252 leaves it: files 0440, folder 0550 (group bits: the ACL mask for the service's user). */
async function credentialsFolder(parent: string, files: Record<string, string>): Promise<string> {
  const folder = path.join(parent, 'credentials', 'token-broker.service');
  await mkdir(folder, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    await writeFile(path.join(folder, name), content, { mode: 0o600 });
    await chmod(path.join(folder, name), 0o440);
  }
  await chmod(folder, 0o550);
  return folder;
}

const storeKey = (): string => `${randomBytes(32).toString('base64')}\n`;

describe('serve: the example config with its secrets as systemd credentials', () => {
  let example = '';
  let scratch = '';
  let credentials = '';
  let environment: BrokerEnvironment | undefined;

  before(async () => {
    example = await readFile(EXAMPLE_CONFIG, 'utf8');
    scratch = await mkdtemp(path.join(tmpdir(), 'tb-systemd-credentials-'));
    credentials = await credentialsFolder(scratch, { 'store-key': storeKey(), 'sales-client-secret': `${CLIENT_SECRET}\n` });
    environment = await startBrokerEnvironment({
      prefix: 'tb-systemd-serve-',
      serveArgs: ['--strict', '--no-watch-config'],
      env: { CREDENTIALS_DIRECTORY: credentials },
      setup: (sandbox) => sandbox.registerApplication({ tenantId: TENANT, clientId: CLIENT, clientSecret: CLIENT_SECRET }),
      config: ({ sandbox, directory, address }) => exampleConfig(example, address, directory, sandbox.url),
    });
  });

  after(async () => {
    await environment?.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  test('started under --strict: a token for sales-imap, and no warning about the credentials', async () => {
    assert.ok(environment !== undefined);
    const token = await environment.client.getToken('sales-imap');
    assert.ok(token.accessToken !== '');
    assert.doesNotMatch(environment.daemon.stderr(), /can be read by other users|readable by other users/);
    assert.doesNotMatch(environment.daemon.stderr(), /generated a new token store encryption key/);
  });

  test('without the store key among the credentials: serve and validate exit 78, saying to create it with systemd-creds encrypt', async () => {
    assert.ok(environment !== undefined);
    const missing = await credentialsFolder(path.join(scratch, 'no-key'), { 'sales-client-secret': `${CLIENT_SECRET}\n` });
    const configFile = path.join(scratch, 'no-key', 'broker.yaml');
    const address = `unix://${path.join(scratch, 'no-key', 'broker.sock')}`;
    await writeFile(path.join(scratch, 'no-key', 'ca.pem'), environment.sandbox.caCertificatePem);
    await writeFile(configFile, exampleConfig(example, address, path.join(scratch, 'no-key'), environment.sandbox.url));
    const keyFile = path.join(missing, 'store-key');
    // Said by the config check, so `validate` says it too, before systemd ever starts the unit.
    for (const command of [['serve', '--config', configFile, '--strict', '--no-watch-config'], ['validate', '--config', configFile]]) {
      const result = await runCli(command, { CREDENTIALS_DIRECTORY: missing });
      assert.equal(result.code, 78, result.stderr);
      const said = result.stdout + result.stderr;
      assert.ok(
        said.includes(
          `store.encryptionKeyFile: the token store encryption key file ${keyFile} does not exist, and the broker cannot generate it there: ${missing} is the systemd credentials folder ($CREDENTIALS_DIRECTORY), read-only and emptied at every stop. ` +
            'Create the key as an encrypted credential, as root: (umask 077; openssl rand -base64 32 | systemd-creds encrypt --name=store-key - /etc/credstore.encrypted/token-broker.store-key)',
        ),
        `${command[0] ?? ''}: ${said}`,
      );
    }
  });
});
