// store.previousEncryptionKeyFiles in the config: optional, resolved like
// every path, and each file checked at load time with the loader's usual
// messages, so a missing old key is found at `validate`, not at the first read.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CLIENT, configOf, loadObject, TENANT, tempDir, triples, writeFiles } from '../support/config-helpers.js';

const MAILBOX = { protocol: 'imap', grantType: 'client-credentials', tenantId: TENANT, clientId: CLIENT, clientSecret: 'x', username: 'u@contoso.example' };
const RULE = 'a key file holds one line of base64 encoding 32 random bytes, as `openssl rand -base64 32` prints';

async function keyFolder(): Promise<string> {
  const dir = await tempDir('store-config-');
  await writeFiles(dir, {
    'old-1.key': `${randomBytes(32).toString('base64')}\n`,
    'old-2.key': randomBytes(32).toString('base64'),
    'short.key': `${randomBytes(16).toString('base64')}\n`,
    'words.key': 'not a key\n',
  });
  return dir;
}

describe('config store.previousEncryptionKeyFiles', () => {
  test('absent: the store section has no such key at all', async () => {
    const config = configOf(await loadObject({ store: { url: 'memory:' }, mailboxes: { m: MAILBOX } }));
    assert.equal('previousEncryptionKeyFiles' in config.store, false);
  });

  test('relative and absolute paths, resolved from the config folder, in order', async () => {
    const dir = await keyFolder();
    const config = configOf(
      await loadObject({ store: { url: 'memory:', encryptionKeyFile: 'store.key', previousEncryptionKeyFiles: ['old-1.key', join(dir, 'old-2.key')] }, mailboxes: { m: MAILBOX } }, { dir }),
    );
    assert.deepEqual(config.store, {
      url: 'memory:',
      encryptionKeyFile: join(dir, 'store.key'),
      previousEncryptionKeyFiles: [join(dir, 'old-1.key'), join(dir, 'old-2.key')],
    });
  });

  test('an empty list is allowed: no previous keys', async () => {
    const config = configOf(await loadObject({ store: { previousEncryptionKeyFiles: [] }, mailboxes: { m: MAILBOX } }));
    assert.deepEqual(config.store.previousEncryptionKeyFiles, []);
  });

  const cases: [string, unknown, (dir: string) => [string, string, string][]][] = [
    ['a single path instead of a list', 'old-1.key', () => [['error', 'store.previousEncryptionKeyFiles', 'must be a list of file paths, not a string']]],
    ['a mapping', { a: 'old-1.key' }, () => [['error', 'store.previousEncryptionKeyFiles', 'must be a list of file paths, not a mapping']]],
    ['an empty path', ['old-1.key', ''], () => [['error', 'store.previousEncryptionKeyFiles[1]', 'must not be empty; give a file path']]],
    [
      'a missing file',
      ['old-1.key', 'gone.key'],
      (dir) => [
        ['error', 'store.previousEncryptionKeyFiles[1]', `cannot read ${join(dir, 'gone.key')} (ENOENT: no such file or directory); check the path and that the broker's user may read it`],
      ],
    ],
    [
      'files that are no keys, each reported',
      ['short.key', 'old-2.key', 'words.key'],
      (dir) => [
        ['error', 'store.previousEncryptionKeyFiles[0]', `${join(dir, 'short.key')} is not a store encryption key (it decodes to 16 bytes, not 32); ${RULE}`],
        ['error', 'store.previousEncryptionKeyFiles[2]', `${join(dir, 'words.key')} is not a store encryption key (it is not base64); ${RULE}`],
      ],
    ],
  ];
  for (const [name, value, expected] of cases) {
    test(name, async () => {
      const dir = await keyFolder();
      const result = await loadObject({ store: { previousEncryptionKeyFiles: value }, mailboxes: { m: MAILBOX } }, { dir });
      assert.equal(result.ok, false);
      assert.deepEqual(triples(result), expected(dir));
    });
  }

  test('problems point at the list item in the YAML', async () => {
    const dir = await keyFolder();
    const result = await loadObject({ store: { previousEncryptionKeyFiles: ['old-1.key', 'short.key'] }, mailboxes: { m: MAILBOX } }, { dir });
    assert.equal(result.ok, false);
    const problem = result.ok ? undefined : result.problems[0];
    // store:\n  previousEncryptionKeyFiles:\n    - old-1.key\n    - short.key
    assert.deepEqual([problem?.line, problem?.column], [4, 7]);
  });

  test('the key file contents never appear in a message', async () => {
    const dir = await tempDir('store-config-');
    const secretish = `${randomBytes(24).toString('base64')}`;
    await writeFiles(dir, { 'old.key': secretish });
    const result = await loadObject({ store: { previousEncryptionKeyFiles: ['old.key'] }, mailboxes: { m: MAILBOX } }, { dir });
    assert.equal(result.ok, false);
    assert.equal(JSON.stringify(triples(result)).includes(secretish), false);
    assert.match(JSON.stringify(triples(result)), /decodes to 24 bytes, not 32/);
  });
});

describe('config store.encryptionKeyFile', () => {
  async function load(store: Record<string, unknown>, files: Record<string, string> = {}): Promise<{ dir: string; result: Awaited<ReturnType<typeof loadObject>> }> {
    const dir = await tempDir('store-key-config-');
    await writeFiles(dir, files);
    return { dir, result: await loadObject({ store, mailboxes: { m: MAILBOX } }, { dir }) };
  }

  test('a good key file passes', async () => {
    const { result } = await load({ url: 'sqlite://tokens.sqlite', encryptionKeyFile: 'store.key' }, { 'store.key': `${randomBytes(32).toString('base64')}\n` });
    assert.deepEqual(triples(result), []);
  });

  test('a missing key file passes: serve creates it', async () => {
    const { result } = await load({ url: 'sqlite://tokens.sqlite', encryptionKeyFile: 'keys/store.key' });
    assert.deepEqual(triples(result), []);
  });

  test('a file that is no key is an error, as serve would find it (exit 78)', async () => {
    const { dir, result } = await load({ url: 'sqlite://tokens.sqlite', encryptionKeyFile: 'store.key' }, { 'store.key': 'not a key\n' });
    assert.deepEqual(triples(result), [['error', 'store.encryptionKeyFile', `${join(dir, 'store.key')} is not a store encryption key (it is not base64); ${RULE}`]]);
  });

  test('the default store (sqlite) checks it too', async () => {
    const { dir, result } = await load({ encryptionKeyFile: 'store.key' }, { 'store.key': `${randomBytes(16).toString('base64')}\n` });
    assert.deepEqual(triples(result), [['error', 'store.encryptionKeyFile', `${join(dir, 'store.key')} is not a store encryption key (it decodes to 16 bytes, not 32); ${RULE}`]]);
  });

  test('a folder is an error naming it', async () => {
    const { dir, result } = await load({ url: 'redis://127.0.0.1:6379/0', encryptionKeyFile: '.' });
    assert.deepEqual(triples(result), [['error', 'store.encryptionKeyFile', `${dir} is a directory, not a regular file; give the path of a regular file`]]);
  });

  test('memory: uses no key file, so none is read', async () => {
    const { result } = await load({ url: 'memory:', encryptionKeyFile: '.' });
    assert.deepEqual(triples(result), []);
  });
});
