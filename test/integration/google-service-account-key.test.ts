// A Google service-account JSON key (credentialsFile), taken as Google hands
// it out, against the Google sandbox over real HTTPS: the sandbox knows the
// key by its id (the public half of the JSON's private_key, registered under
// its private_key_id, beside another key of the same account), so a token
// arrives only when the assertion is signed with that key and names it in
// `kid`. Through the grant, and through the daemon over gRPC.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import { TokenBrokerClient } from '../../src/client/index.js';
import type { MailboxConfig } from '../../src/config/index.js';
import { loadConfig } from '../../src/config/index.js';
import { startDaemon } from '../../src/daemon/index.js';
import type { RunningDaemon } from '../../src/daemon/index.js';
import { BrokerError } from '../../src/errors/index.js';
import { silentLogger } from '../../src/logging/index.js';
import { startGoogleSandbox } from '../../src/sandbox/google/index.js';
import type { GoogleSandbox } from '../../src/sandbox/google/index.js';
import { configFolder, grantHarness, loadMailboxes } from '../support/oidc-config.js';
import type { GrantHarness } from '../support/oidc-config.js';

const USER = 'alice@example.com';
const SERVICE_ACCOUNT = 'mail-reader@project-1234.iam.gserviceaccount.com';
const GMAIL = 'https://mail.google.com/';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

function pkcs8(): string {
  return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** A JSON key as the Google Cloud console downloads it. */
function jsonKey(privateKey: string, privateKeyId: string, tokenUri: string): string {
  return JSON.stringify(
    {
      type: 'service_account',
      project_id: 'project-1234',
      private_key_id: privateKeyId,
      private_key: privateKey,
      client_email: SERVICE_ACCOUNT,
      client_id: '100000000000000000001',
      auth_uri: 'https://accounts.google.com/o/oauth2/auth',
      token_uri: tokenUri,
      auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
      client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(SERVICE_ACCOUNT)}`,
      universe_domain: 'googleapis.com',
    },
    null,
    2,
  );
}

const currentKey = pkcs8();
const currentKeyId = randomBytes(20).toString('hex');
const otherKeyId = randomBytes(20).toString('hex');
let sandbox: GoogleSandbox;
let folder: string;
let harness: GrantHarness;
let mailboxes: ReadonlyMap<string, MailboxConfig>;
let config: object;

before(async () => {
  sandbox = await startGoogleSandbox();
  sandbox.registerUser(USER);
  // The account holds two keys, as accounts often do during a rotation: the sandbox picks the one the kid names.
  sandbox.registerServiceAccount({ clientId: SERVICE_ACCOUNT, keyId: otherKeyId, publicKeyPem: createPublicKey(pkcs8()).export({ type: 'spki', format: 'pem' }).toString(), delegatedScopes: [GMAIL] });
  sandbox.registerServiceAccount({ clientId: SERVICE_ACCOUNT, keyId: currentKeyId, publicKeyPem: createPublicKey(currentKey).export({ type: 'spki', format: 'pem' }).toString(), delegatedScopes: [GMAIL] });
  folder = await configFolder({
    'ca.pem': sandbox.caCertificatePem,
    'sa.json': jsonKey(currentKey, currentKeyId, sandbox.endpoints.tokenEndpoint),
    // The right private key under the id of a key the account no longer has: only the kid tells them apart.
    'sa-deleted-id.json': jsonKey(currentKey, randomBytes(20).toString('hex'), sandbox.endpoints.tokenEndpoint),
  });
  const robot = { protocol: 'imap', authorizationServer: 'google', grantType: 'client-credentials', credentialsFile: 'sa.json', username: USER };
  config = {
    authorizationServers: { google: { ...sandbox.endpoints, caFile: 'ca.pem' } },
    mailboxes: {
      'gmail-robot': robot,
      'gmail-robot-smtp': { ...robot, protocol: 'smtp' },
      'gmail-robot-deleted-key': { ...robot, credentialsFile: 'sa-deleted-id.json' },
      'gmail-robot-stranger': { ...robot, username: 'mallory@example.com' },
    },
  };
  mailboxes = await loadMailboxes(config, folder);
  harness = grantHarness();
});

after(async () => {
  await harness?.close();
  await sandbox?.close();
});

async function failure(promise: Promise<unknown>): Promise<BrokerError> {
  const error = await promise.then(() => undefined, (thrown: unknown) => thrown);
  assert.ok(error instanceof BrokerError, `expected a BrokerError, got ${String(error)}`);
  return error;
}

function mailbox(name: string): MailboxConfig {
  const found = mailboxes.get(name);
  assert.ok(found !== undefined, name);
  return found;
}

describe('Google service-account JSON key (credentialsFile)', () => {
  test('the grant: a token for the mailbox user, obtained by the service account the file names', async () => {
    const before = sandbox.stats.forGrantType(JWT_BEARER);
    const token = await harness.grant(mailbox('gmail-robot')).acquire({});
    assert.equal(sandbox.stats.forGrantType(JWT_BEARER), before + 1);
    const info = sandbox.verifyAccessToken(token.accessToken);
    assert.ok(info !== undefined, 'the sandbox issued it');
    assert.deepEqual({ sub: info.sub, azp: info.azp, scope: info.scope, grantType: info.grantType }, { sub: USER, azp: SERVICE_ACCOUNT, scope: GMAIL, grantType: 'jwt-bearer' });
    assert.equal(token.refreshToken, undefined);
  });

  test('a private_key_id Google does not know is refused although the key is right: the kid is sent, and the remedy names credentialsFile', async () => {
    const refused = await failure(harness.grant(mailbox('gmail-robot-deleted-key')).acquire({}));
    assert.equal(refused.code, 'invalid_client');
    assert.equal(refused.permanent, true);
    assert.equal(refused.oauth?.errorDescription, 'Invalid JWT Signature.');
    assert.match(refused.remediation ?? '', /mailboxes\.gmail-robot-deleted-key\.credentialsFile/);
    assert.doesNotMatch(refused.remediation ?? '', /\.certificate\b/);
    assert.ok(!refused.describe().includes('PRIVATE KEY'));
  });

  test('a user outside the domain is still named as username', async () => {
    const refused = await failure(harness.grant(mailbox('gmail-robot-stranger')).acquire({}));
    assert.equal(refused.code, 'invalid_client');
    assert.match(refused.remediation ?? '', /mailboxes\.gmail-robot-stranger\.username/);
  });

  test('the daemon: GetToken over gRPC hands out a token the sandbox issued to the service account for the user', async () => {
    const configFile = path.join(folder, 'broker.yaml');
    const address = `unix://${path.join(folder, 'broker.sock')}`;
    await writeFile(configFile, stringify({ server: { listen: [address] }, store: { url: 'memory:' }, ...config }), { mode: 0o600 });
    const loaded = await loadConfig(configFile);
    assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.problems));
    const daemon: RunningDaemon = await startDaemon(loaded.config, { logger: silentLogger() });
    const client = new TokenBrokerClient({ address });
    try {
      const token = await client.getToken('gmail-robot-smtp');
      assert.equal(token.username, USER);
      const info = sandbox.verifyAccessToken(token.accessToken);
      assert.ok(info !== undefined, 'the sandbox issued it');
      assert.deepEqual({ sub: info.sub, azp: info.azp, grantType: info.grantType }, { sub: USER, azp: SERVICE_ACCOUNT, grantType: 'jwt-bearer' });
      assert.equal(
        Buffer.from(token.saslXoauth2, 'base64').toString(),
        `user=${USER}\x01auth=Bearer ${token.accessToken}\x01\x01`,
      );
    } finally {
      client.close();
      await daemon.stop(1_000);
    }
  });
});
