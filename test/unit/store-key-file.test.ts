// The store's key files: generated (0600, folder 0700, a warning to back it
// up) when absent, refused with store_key_invalid and an exact message when
// unreadable or not a key, and held to the same rule the config loader applies.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { encryptionKeyProblem as configRule, ENCRYPTION_KEY_RULE as CONFIG_RULE_TEXT } from '../../src/config/sections/store.js';
import { openTokenStore } from '../../src/store/index.js';
import { encryptionKeyProblem as storeRule, ENCRYPTION_KEY_RULE as STORE_RULE_TEXT } from '../../src/store/key-file.js';
import { keyIdOf } from '../../src/store/key-ring.js';
import { rejection } from '../support/assertions.js';
import { tempDir } from '../support/config-helpers.js';
import { captureLogs } from '../support/log-capture.js';

const RULE = 'a key file holds one line of base64 encoding 32 random bytes, as `openssl rand -base64 32` prints';

async function openMemory(encryptionKeyFile: string, previousEncryptionKeyFiles?: string[]) {
  const logs = captureLogs();
  // sqlite, not memory: a memory store keeps its key in memory and reads no key file.
  const store = await openTokenStore({ url: `sqlite://${join(dirname(encryptionKeyFile), 'tokens.sqlite')}`, encryptionKeyFile, ...(previousEncryptionKeyFiles === undefined ? {} : { previousEncryptionKeyFiles }) }, { logger: logs.logger });
  return { store, logs };
}

describe('store key file', () => {
  test('absent: generated as one base64 line of 32 bytes, mode 0600, folder 0700, with a warning naming the file', async () => {
    const dir = await tempDir('store-key-');
    const file = join(dir, 'state', 'keys', 'store.key');
    const { store, logs } = await openMemory(file);
    await store.close();
    const content = await readFile(file, 'utf8');
    assert.match(content, /^[A-Za-z0-9+/]{43}=\n$/);
    const key = Buffer.from(content, 'base64');
    assert.equal(key.length, 32);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'state', 'keys'))).mode & 0o777, 0o700);
    assert.equal((await stat(join(dir, 'state'))).mode & 0o777, 0o700);
    const warning = logs
      .text()
      .split('\n')
      .filter((line) => line.includes('"level":40'));
    assert.equal(warning.length, 1);
    assert.match(warning[0] ?? '', new RegExp(`generated a new token store encryption key in ${file}; back this file up`));
    assert.ok(logs.text().includes(keyIdOf(key)), 'the key id is logged');
    assert.equal(logs.text().includes(content.trim()), false, 'the key is never logged');
  });

  test('present: reused, so what was written can be read by the next store', async () => {
    const dir = await tempDir('store-key-');
    const file = join(dir, 'store.key');
    await writeFile(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    const before = await readFile(file, 'utf8');
    const { store, logs } = await openMemory(file);
    await store.close();
    assert.equal(await readFile(file, 'utf8'), before);
    assert.equal(logs.text().includes('"level":40'), false, 'no warning for a good key file');
  });

  test('a key file others may read is used, with a warning to chmod it', async () => {
    const dir = await tempDir('store-key-');
    const file = join(dir, 'store.key');
    await writeFile(file, randomBytes(32).toString('base64'));
    await chmod(file, 0o644);
    const { store, logs } = await openMemory(file);
    await store.close();
    assert.match(logs.text(), new RegExp(`token store encryption key file ${file} is readable by other users \\(mode 0644\\); restrict it: chmod 600 ${file}`));
  });

  const bad: [string, string | Buffer, string][] = [
    ['empty', '', 'is empty'],
    ['only a newline', '\n', 'is empty'],
    ['two lines', `${randomBytes(32).toString('base64')}\n${randomBytes(32).toString('base64')}\n`, 'holds more than one line'],
    ['not base64', 'this is not a key at all, just words', 'is not base64'],
    ['base64url instead of base64', `${Buffer.alloc(32, 0xfb).toString('base64url')}=`, 'is not base64'],
    ['16 bytes', randomBytes(16).toString('base64'), 'decodes to 16 bytes, not 32'],
    ['64 bytes', randomBytes(64).toString('base64'), 'decodes to 64 bytes, not 32'],
    ['raw binary key', Buffer.from(Array.from({ length: 32 }, (_, index) => 0x80 + index)), 'is not base64'],
  ];
  for (const [name, content, problem] of bad) {
    test(`not a key (${name}): store_key_invalid naming the file, the problem and what to do`, async () => {
      const dir = await tempDir('store-key-');
      const file = join(dir, 'store.key');
      await writeFile(file, content, { mode: 0o600 });
      const error = await rejection(openMemory(file));
      assert.equal(error.code, 'store_key_invalid');
      assert.equal(error.permanent, true);
      assert.equal(
        error.describe(),
        `the token store encryption key file ${file} is not a valid key (it ${problem}); ${RULE}. Restore the file from your backup. Only if losing every stored token is acceptable (mailboxes then obtain new tokens; interactive ones must be authorized again), delete it and the broker generates a new key.`,
      );
      // The file is left alone: a new key over it would make every stored token unreadable.
      assert.deepEqual(await readFile(file), Buffer.from(content));
    });
  }

  test('unreadable (a folder where the file should be): store_key_invalid, never a crash', async () => {
    const dir = await tempDir('store-key-');
    const file = join(dir, 'store.key');
    await mkdir(file);
    const error = await rejection(openMemory(file));
    assert.equal(error.code, 'store_key_invalid');
    assert.equal(
      error.describe(),
      `cannot read the token store encryption key file ${file} (EISDIR: illegal operation on a directory). Make it readable by the broker's user, or point store.encryptionKeyFile at the right file. Do not replace it with a new key: tokens stored under it could not be read any more.`,
    );
  });

  test('cannot be created (its folder is a file): store_key_invalid with the command to create it by hand', async () => {
    const dir = await tempDir('store-key-');
    await writeFile(join(dir, 'not-a-folder'), 'x');
    const file = join(dir, 'not-a-folder', 'store.key');
    const error = await rejection(openMemory(file));
    assert.equal(error.code, 'store_key_invalid');
    assert.equal(
      error.describe(),
      `cannot create the token store encryption key file ${file} (${join(dir, 'not-a-folder')} is not a folder). Make its folder writable by the broker's user, or create the key yourself: (umask 077; openssl rand -base64 32 > ${file})`,
    );
  });

  test('a previous key file that is missing or not a key: store_key_invalid saying to restore or remove it', async () => {
    const dir = await tempDir('store-key-');
    const current = join(dir, 'store.key');
    await writeFile(current, randomBytes(32).toString('base64'), { mode: 0o600 });
    const missing = join(dir, 'old.key');
    const missingError = await rejection(openMemory(current, [missing]));
    assert.equal(missingError.code, 'store_key_invalid');
    assert.equal(
      missingError.describe(),
      `cannot read the token store encryption key file ${missing} (ENOENT: no such file or directory). Make it readable by the broker's user, or remove it from store.previousEncryptionKeyFiles once no record needs it.`,
    );
    await writeFile(missing, 'short', { mode: 0o600 });
    const invalidError = await rejection(openMemory(current, [missing]));
    assert.equal(
      invalidError.describe(),
      `the token store encryption key file ${missing} is not a valid key (it is not base64); ${RULE}. Restore the old key file from your backup, or remove it from store.previousEncryptionKeyFiles once no record needs it.`,
    );
  });

  test('the store and the config loader apply the same rule to key files', () => {
    assert.equal(STORE_RULE_TEXT, CONFIG_RULE_TEXT);
    const samples: (string | Buffer)[] = [
      ...bad.map(([, content]) => content),
      randomBytes(32).toString('base64'),
      `  ${randomBytes(32).toString('base64')}  \r\n`,
      randomBytes(31).toString('base64'),
      randomBytes(33).toString('base64'),
      'AAAA',
      '====',
      `${randomBytes(32).toString('base64').slice(0, -1)}`,
    ];
    for (const sample of samples) {
      const data = Buffer.from(sample);
      assert.equal(storeRule(data), configRule(data), `they disagree on ${JSON.stringify(String(sample))}`);
    }
    assert.equal(storeRule(Buffer.from(randomBytes(32).toString('base64'))), undefined);
  });
});
