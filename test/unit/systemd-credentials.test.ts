// Secrets handed over as systemd credentials (LoadCredential=,
// LoadCredentialEncrypted=): the loader and the store read them from
// $CREDENTIALS_DIRECTORY as systemd 252 lays that folder out, and a store key
// missing there is refused with the systemd-creds command, never generated
// in a folder systemd empties at every stop.
//
// How systemd 252 lays it out (src/core/execute.c, write_credential and
// acquire_credentials): each file is written 0600 and then made 0400, the
// folder 0500, both owned by root; the service's user is then given read
// access by an ACL entry, which stat() shows as group bits (the ACL mask):
// files 0440, folder 0550. Where the file system has no ACLs (the ramfs
// systemd mounts there), the user is made the owner instead: files 0400,
// folder 0500. Node sees only the mode, so the modes below are exactly what
// the broker sees under systemd.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import type { ConfigLoadResult } from '../../src/config/index.js';
import { openTokenStore } from '../../src/store/index.js';
import { rejection } from '../support/assertions.js';
import { CLIENT, TENANT, tempDir, triples } from '../support/config-helpers.js';
import { captureLogs } from '../support/log-capture.js';

/** A uid that is neither root nor the test's user: the service user of the ramfs layout. */
const SERVICE_UID = 65534;

interface Layout {
  readonly name: string;
  readonly fileMode: number;
  readonly folderMode: number;
  readonly owner: 'root' | 'service user';
}

const LAYOUTS: readonly Layout[] = [
  { name: 'ACL (files 0440, folder 0550, owned by root)', fileMode: 0o440, folderMode: 0o550, owner: 'root' },
  { name: 'ramfs without ACLs (files 0400, folder 0500, owned by the service user)', fileMode: 0o400, folderMode: 0o500, owner: 'service user' },
];

/** A credentials folder as systemd makes it, holding `files`; returns its path. */
async function credentialsFolder(parent: string, layout: Layout, files: Record<string, string>): Promise<string> {
  const folder = join(parent, 'credentials', 'token-broker.service');
  await mkdir(folder, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    const file = join(folder, name);
    await writeFile(file, content, { mode: 0o600 });
    await chmod(file, layout.fileMode);
    if (layout.owner === 'service user' && process.getuid?.() === 0) await chown(file, SERVICE_UID, SERVICE_UID);
  }
  await chmod(folder, layout.folderMode);
  if (layout.owner === 'service user' && process.getuid?.() === 0) await chown(folder, SERVICE_UID, SERVICE_UID);
  return folder;
}

/** The example config's shape: the store key and a client secret read from ${CREDENTIALS_DIRECTORY}. */
function credentialsConfig(secretFile = '${CREDENTIALS_DIRECTORY}/sales-client-secret'): string {
  return `store:
  url: sqlite:///var/lib/token-broker/tokens.sqlite
  encryptionKeyFile: \${CREDENTIALS_DIRECTORY}/store-key
mailboxes:
  sales-imap:
    protocol: imap
    grantType: client-credentials
    tenantId: ${TENANT}
    clientId: ${CLIENT}
    clientSecretFile: ${secretFile}
    username: sales@contoso.example
`;
}

async function load(dir: string, credentials: string, strict: boolean, config = credentialsConfig()): Promise<ConfigLoadResult> {
  const file = join(dir, 'broker.yaml');
  await writeFile(file, config, { mode: 0o640 });
  return loadConfig(file, { env: { CREDENTIALS_DIRECTORY: credentials }, strict, now: () => Date.UTC(2026, 0, 1) });
}

const storeKey = (): string => `${randomBytes(32).toString('base64')}\n`;

describe('config: secret files in $CREDENTIALS_DIRECTORY as systemd 252 lays them out', () => {
  for (const layout of LAYOUTS) {
    test(`${layout.name}: accepted under --strict, without a warning`, async () => {
      const dir = await tempDir('systemd-credentials-');
      const credentials = await credentialsFolder(dir, layout, { 'store-key': storeKey(), 'sales-client-secret': 'app-secret\n' });
      for (const strict of [false, true]) {
        const result = await load(dir, credentials, strict);
        assert.deepEqual(triples(result), [], `strict: ${String(strict)}`);
        assert.ok(result.ok);
        assert.equal(result.config.store.encryptionKeyFile, join(credentials, 'store-key'));
        assert.equal(result.config.mailboxes.get('sales-imap')?.clientSecret?.reveal(), 'app-secret');
      }
    });
  }

  test('a credential file every user may read (0444) is still reported: systemd never makes one', async () => {
    const dir = await tempDir('systemd-credentials-');
    const credentials = await credentialsFolder(dir, LAYOUTS[0] as Layout, { 'store-key': storeKey(), 'sales-client-secret': 'app-secret\n' });
    const file = join(credentials, 'sales-client-secret');
    await chmod(credentials, 0o750);
    await chmod(file, 0o444);
    await chmod(credentials, 0o550);
    assert.deepEqual(triples(await load(dir, credentials, true)), [
      ['error', 'mailboxes.sales-imap.clientSecretFile', `${file} can be read by other users (mode 0444), which --strict refuses; restrict it: chmod 600 ${file}`],
    ]);
  });

  test('the same 0440 file outside $CREDENTIALS_DIRECTORY is still reported: there its group bits are a real group', async () => {
    const dir = await tempDir('systemd-credentials-');
    const credentials = await credentialsFolder(dir, LAYOUTS[0] as Layout, { 'store-key': storeKey() });
    const file = join(dir, 'sales-client-secret');
    await writeFile(file, 'app-secret\n');
    await chmod(file, 0o440);
    assert.deepEqual(triples(await load(dir, credentials, true, credentialsConfig(file))), [
      ['error', 'mailboxes.sales-imap.clientSecretFile', `${file} can be read by other users (mode 0440), which --strict refuses; restrict it: chmod 600 ${file}`],
    ]);
  });
});

describe('config: a store key missing among the credentials', () => {
  test('validate says it as serve would, with the systemd-creds command; outside the folder a missing key is still generated', async () => {
    const dir = await tempDir('systemd-credentials-');
    const credentials = await credentialsFolder(dir, LAYOUTS[0] as Layout, { 'sales-client-secret': 'app-secret\n' });
    const keyFile = join(credentials, 'store-key');
    const found = triples(await load(dir, credentials, false));
    assert.equal(found.length, 1, JSON.stringify(found));
    const [severity, path, message] = found[0] ?? [];
    assert.deepEqual([severity, path], ['error', 'store.encryptionKeyFile']);
    assert.match(message ?? '', new RegExp(`^the token store encryption key file ${keyFile} does not exist, and the broker cannot generate it there`));
    assert.match(message ?? '', /systemd-creds encrypt --name=store-key - \/etc\/credstore\.encrypted\/token-broker\.store-key/);
    // The same config with the key outside $CREDENTIALS_DIRECTORY: absent is fine, serve generates it.
    const elsewhere = credentialsConfig().replace('${CREDENTIALS_DIRECTORY}/store-key', join(dir, 'state', 'store-key'));
    assert.deepEqual(triples(await load(dir, credentials, false, elsewhere)), []);
  });
});

describe('config: only the credentials folder itself is exempt', () => {
  test('a 0440 file in a folder whose name merely starts like it is reported', async () => {
    const dir = await tempDir('systemd-credentials-');
    const credentials = await credentialsFolder(dir, { ...(LAYOUTS[1] as Layout), owner: 'root' }, { 'store-key': storeKey() });
    const sibling = `${credentials}-other`;
    await mkdir(sibling);
    const file = join(sibling, 'sales-client-secret');
    await writeFile(file, 'app-secret\n');
    await chmod(file, 0o440);
    assert.deepEqual(triples(await load(dir, credentials, true, credentialsConfig(file))), [
      ['error', 'mailboxes.sales-imap.clientSecretFile', `${file} can be read by other users (mode 0440), which --strict refuses; restrict it: chmod 600 ${file}`],
    ]);
  });
});

describe('store: the key file in $CREDENTIALS_DIRECTORY', () => {
  const previous = process.env.CREDENTIALS_DIRECTORY;
  let dir = '';

  before(async () => {
    dir = await tempDir('systemd-credentials-store-');
  });

  after(() => {
    if (previous === undefined) delete process.env.CREDENTIALS_DIRECTORY;
    else process.env.CREDENTIALS_DIRECTORY = previous;
  });

  async function open(credentials: string) {
    process.env.CREDENTIALS_DIRECTORY = credentials;
    const logs = captureLogs();
    const keyFile = join(credentials, 'store-key');
    const store = await openTokenStore({ url: `sqlite://${join(dirname(dirname(credentials)), 'tokens.sqlite')}`, encryptionKeyFile: keyFile }, { logger: logs.logger });
    return { store, logs, keyFile };
  }

  test('present, 0440 under an ACL: used, with no warning that others may read it', async () => {
    const credentials = await credentialsFolder(join(dir, 'present'), LAYOUTS[0] as Layout, { 'store-key': storeKey() });
    const { store, logs } = await open(credentials);
    await store.close();
    assert.equal(logs.text().includes('readable by other users'), false, logs.text());
  });

  test('missing: store_key_invalid saying to create it with systemd-creds encrypt; nothing is written there', async () => {
    const credentials = await credentialsFolder(join(dir, 'missing'), LAYOUTS[0] as Layout, { 'sales-client-secret': 'app-secret\n' });
    const keyFile = join(credentials, 'store-key');
    const error = await rejection(open(credentials));
    assert.equal(error.code, 'store_key_invalid');
    assert.equal(error.permanent, true);
    assert.equal(
      error.describe(),
      `the token store encryption key file ${keyFile} does not exist, and the broker cannot generate it there: ${credentials} is the systemd credentials folder ($CREDENTIALS_DIRECTORY), read-only and emptied at every stop. ` +
        'Create the key as an encrypted credential, as root: (umask 077; openssl rand -base64 32 | systemd-creds encrypt --name=store-key - /etc/credstore.encrypted/token-broker.store-key), ' +
        'name it in the unit (systemctl edit token-broker: LoadCredentialEncrypted=store-key:/etc/credstore.encrypted/token-broker.store-key), then systemctl restart token-broker. ' +
        'If the tokens are stored already, encrypt the key they were stored with instead of a new one.',
    );
    assert.deepEqual((await readdir(credentials)).sort(), ['sales-client-secret']);
  });
});

describe('config: ${CREDENTIALS_DIRECTORY} outside systemd', () => {
  test('unset (validate run by hand): the error says systemd sets it for LoadCredential= and how to validate with the credentials', async () => {
    const dir = await tempDir('systemd-credentials-unset-');
    const file = join(dir, 'broker.yaml');
    await writeFile(file, credentialsConfig(), { mode: 0o640 });
    const result = await loadConfig(file, { env: {}, now: () => Date.UTC(2026, 0, 1) });
    const unset =
      'environment variable CREDENTIALS_DIRECTORY is not set: systemd sets it only for a unit with LoadCredential= or LoadCredentialEncrypted=; ' +
      'run validate with the unit\'s credentials (systemd-run --pipe --wait -p User=token-broker -p LoadCredentialEncrypted=ID:FILE ... token-broker validate, see docs/install.md), ' +
      'or set it to a folder holding the credential files';
    assert.deepEqual(triples(result), [
      ['error', 'store.encryptionKeyFile', unset],
      ['error', 'mailboxes.sales-imap.clientSecretFile', unset],
    ]);
  });
});
