// The crypto envelope and key ring of the token store: AES-256-GCM with the
// record's kind and mailbox bound as associated data, a key id in clear, and
// no single changed character that goes unnoticed.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { inspect } from 'node:util';
import { ENVELOPE_VERSION, seal, unseal } from '../../src/store/envelope.js';
import type { RecordAddress } from '../../src/store/envelope.js';
import { KeyRing, keyIdOf, storeKey } from '../../src/store/key-ring.js';

const KEY_A = storeKey(randomBytes(32), '/keys/a.key');
const KEY_B = storeKey(randomBytes(32), '/keys/b.key');
const SALES: RecordAddress = { kind: 'mailbox', name: 'sales' };
const PLAINTEXT = JSON.stringify({ fingerprint: 'f', refreshToken: 'rt-0123456789abcdef' });

describe('envelope', () => {
  test('round trip: opens with the key it names and gives the plaintext back', () => {
    const sealed = seal(PLAINTEXT, KEY_A, SALES);
    const opened = unseal(sealed, new KeyRing(KEY_A), SALES);
    assert.equal(opened.ok, true);
    assert.equal(opened.ok && opened.plaintext, PLAINTEXT);
    assert.equal(opened.ok && opened.key, KEY_A);
  });

  test('format: one line of JSON with version, key id, 12-byte iv, ciphertext and 16-byte tag; nothing of the plaintext', () => {
    const sealed = seal(PLAINTEXT, KEY_A, SALES);
    const envelope = JSON.parse(sealed) as Record<string, string | number>;
    assert.deepEqual(Object.keys(envelope), ['v', 'kid', 'iv', 'ct', 'tag']);
    assert.equal(envelope.v, ENVELOPE_VERSION);
    assert.equal(envelope.kid, KEY_A.id);
    assert.equal(Buffer.from(String(envelope.iv), 'base64url').length, 12);
    assert.equal(Buffer.from(String(envelope.tag), 'base64url').length, 16);
    assert.equal(Buffer.from(String(envelope.ct), 'base64url').length, Buffer.byteLength(PLAINTEXT));
    assert.equal(sealed.includes('\n'), false);
    assert.equal(sealed.includes('rt-0123456789abcdef'), false);
    assert.equal(sealed.includes('fingerprint'), false);
  });

  test('a fresh nonce every time: the same record never seals to the same text', () => {
    const texts = new Set(Array.from({ length: 50 }, () => seal(PLAINTEXT, KEY_A, SALES)));
    assert.equal(texts.size, 50);
  });

  const elsewhere: [string, RecordAddress][] = [
    ['another mailbox', { kind: 'mailbox', name: 'support' }],
    ['a mailbox whose name only differs in case', { kind: 'mailbox', name: 'Sales' }],
    ['the pending authorization of the same mailbox', { kind: 'pending', name: 'sales' }],
    ['a shared token line of the same name', { kind: 'line', name: 'sales' }],
  ];
  for (const [name, address] of elsewhere) {
    test(`a record moved to ${name} does not open`, () => {
      const opened = unseal(seal(PLAINTEXT, KEY_A, SALES), new KeyRing(KEY_A), address);
      assert.deepEqual(opened, { ok: false, problem: 'unauthentic', keyId: KEY_A.id });
    });
  }

  test('a record under a key the ring lacks is "unknown-key", naming the key id', () => {
    const opened = unseal(seal(PLAINTEXT, KEY_A, SALES), new KeyRing(KEY_B), SALES);
    assert.deepEqual(opened, { ok: false, problem: 'unknown-key', keyId: KEY_A.id });
  });

  test('a previous key still opens what it sealed', () => {
    const opened = unseal(seal(PLAINTEXT, KEY_A, SALES), new KeyRing(KEY_B, [KEY_A]), SALES);
    assert.equal(opened.ok && opened.key, KEY_A);
  });

  test('every single changed character is noticed: never a successful open', () => {
    const sealed = seal(PLAINTEXT, KEY_A, SALES);
    const kidStart = sealed.indexOf(KEY_A.id);
    const problems = new Set<string>();
    for (let index = 0; index < sealed.length; index++) {
      for (const replacement of ['A', '0', '2', '"', '-']) {
        if (sealed[index] === replacement) continue;
        const tampered = sealed.slice(0, index) + replacement + sealed.slice(index + 1);
        const opened = unseal(tampered, new KeyRing(KEY_A), SALES);
        assert.equal(opened.ok, false, `changing character ${index} to ${replacement} went unnoticed`);
        if (!opened.ok) problems.add(opened.problem);
        // Only a changed key id can look like "another key"; everything else is damage.
        const inKid = index >= kidStart && index < kidStart + KEY_A.id.length;
        if (!opened.ok && opened.problem === 'unknown-key') assert.ok(inKid, `character ${index} gave unknown-key`);
      }
    }
    assert.deepEqual([...problems].sort(), ['malformed', 'unauthentic', 'unknown-key', 'unsupported-version']);
  });

  const malformed: [string, string][] = [
    ['empty', ''],
    ['not JSON', 'hello'],
    ['JSON null', 'null'],
    ['a list', '[]'],
    ['only a version', '{"v":1}'],
    ['version 0', JSON.stringify({ v: 0, kid: KEY_A.id, iv: '', ct: '', tag: '' })],
    ['key id not hex', JSON.stringify({ v: 1, kid: 'zzzzzzzzzzzzzzzz', iv: 'AAAAAAAAAAAAAAAA', ct: '', tag: 'AAAAAAAAAAAAAAAAAAAAAA' })],
    ['iv too short', JSON.stringify({ v: 1, kid: KEY_A.id, iv: 'AAAA', ct: '', tag: 'AAAAAAAAAAAAAAAAAAAAAA' })],
    ['padding in base64url', JSON.stringify({ v: 1, kid: KEY_A.id, iv: 'AAAAAAAAAAAAAAAA', ct: 'AA==', tag: 'AAAAAAAAAAAAAAAAAAAAAA' })],
  ];
  for (const [name, text] of malformed) {
    test(`malformed: ${name}`, () => {
      assert.deepEqual(unseal(text, new KeyRing(KEY_A), SALES), { ok: false, problem: 'malformed' });
    });
  }

  test('a newer format version is reported as such, not as damage', () => {
    const sealed = JSON.stringify({ ...(JSON.parse(seal(PLAINTEXT, KEY_A, SALES)) as object), v: 2 });
    assert.deepEqual(unseal(sealed, new KeyRing(KEY_A), SALES), { ok: false, problem: 'unsupported-version', version: 2 });
  });
});

describe('key ring', () => {
  test('key id: the first 16 hex digits of sha256 of the key bytes (base64 -d FILE | sha256sum | cut -c1-16)', () => {
    // sha256 of 32 zero bytes is 66687aad f862bd77 6c8fc18b 8e9f8e20 ...
    assert.equal(keyIdOf(Buffer.alloc(32)), '66687aadf862bd77');
    assert.equal(storeKey(Buffer.alloc(32), '/k').id, '66687aadf862bd77');
  });

  test('the key prints as a KeyObject, never as its bytes', () => {
    const bytes = Buffer.alloc(32, 7);
    const key = storeKey(bytes, '/k');
    const printed = JSON.stringify(key) + inspect(key, { depth: 10, showHidden: true });
    assert.equal(printed.includes(bytes.toString('base64')), false);
    assert.equal(printed.includes(bytes.toString('hex')), false);
  });

  test('duplicates are dropped; describe() lists ids with their files', () => {
    const ring = new KeyRing(KEY_A, [KEY_B, KEY_A, KEY_B]);
    assert.deepEqual(
      ring.previous.map((key) => key.id),
      [KEY_B.id],
    );
    assert.equal(ring.find(KEY_B.id), KEY_B);
    assert.equal(ring.find('0000000000000000'), undefined);
    assert.equal(ring.describe(), `${KEY_A.id} (current, /keys/a.key), ${KEY_B.id} (previous, /keys/b.key)`);
  });
});
