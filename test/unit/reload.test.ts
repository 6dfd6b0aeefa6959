// The pure parts of hot reload: which keys need a restart, how a change of
// server.clients and an engine summary read in the log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Secret } from '../../src/config/index.js';
import type { BrokerConfig, ClientConfig } from '../../src/config/index.js';
import { restartRequiredKeys, tlsFilesDigest } from '../../src/daemon/restart-required.js';
import { clientChanges, describeSummary } from '../../src/daemon/reloader.js';
import { tempDir } from '../support/config-helpers.js';

type Settings = Pick<BrokerConfig, 'server' | 'store' | 'metrics'>;

const BASE: Settings = {
  server: {
    listen: [{ kind: 'unix', path: '/run/token-broker/broker.sock', url: 'unix:///run/token-broker/broker.sock' }],
    socketMode: 0o660,
    clients: [{ name: 'a', key: new Secret('key-a', 'test'), mailboxes: ['*'], admin: false }],
  },
  store: { url: 'sqlite:///var/lib/token-broker/tokens.sqlite', encryptionKeyFile: '/etc/token-broker/store.key' },
};

const METRICS_TCP = { kind: 'tcp', host: '127.0.0.1', port: 9464, url: '127.0.0.1:9464' } as const;

/** Name, the change, the keys expected, and the running settings when not BASE. */
const cases: readonly (readonly [string, (base: Settings) => Settings, readonly string[], Settings?])[] = [
  ['nothing changed', (base) => ({ ...base }), []],
  [
    'only server.clients changed (it reloads)',
    (base) => ({ ...base, server: { ...base.server, clients: undefined } }),
    [],
  ],
  [
    'another listen address',
    (base) => ({ ...base, server: { ...base.server, listen: [...base.server.listen, { kind: 'tcp', host: '127.0.0.1', port: 50051, url: 'tcp://127.0.0.1:50051' }] } }),
    ['server.listen'],
  ],
  ['socket mode', (base) => ({ ...base, server: { ...base.server, socketMode: 0o600 } }), ['server.socketMode']],
  ['tls added', (base) => ({ ...base, server: { ...base.server, tls: { certFile: '/c.pem', keyFile: '/k.pem' } } }), ['server.tls']],
  ['store url and key file', (base) => ({ ...base, store: { url: 'redis://localhost:6379/0', encryptionKeyFile: '/other.key' } }), ['store.url', 'store.encryptionKeyFile']],
  ['previous keys', (base) => ({ ...base, store: { ...base.store, previousEncryptionKeyFiles: ['/old.key'] } }), ['store.previousEncryptionKeyFiles']],
  ['metrics added', (base) => ({ ...base, metrics: { listen: METRICS_TCP, perMailbox: true } }), ['metrics.listen', 'metrics.perMailbox']],
  [
    'metrics moved to a unix socket',
    (base) => ({ ...base, metrics: { listen: { kind: 'unix', path: '/run/token-broker/metrics.sock', url: 'unix:///run/token-broker/metrics.sock' }, perMailbox: true } }),
    ['metrics.listen'],
    { ...BASE, metrics: { listen: METRICS_TCP, perMailbox: true } },
  ],
  ['per-mailbox series turned off', (base) => ({ ...base, metrics: { listen: METRICS_TCP, perMailbox: false } }), ['metrics.perMailbox'], { ...BASE, metrics: { listen: METRICS_TCP, perMailbox: true } }],
];

for (const [name, change, expected, running = BASE] of cases) {
  test(`restart-required keys: ${name}`, () => {
    assert.deepEqual(restartRequiredKeys(running, change(running)), expected);
  });
}

test('tls paths compared one by one: a new clientCaFile needs a restart', () => {
  const withTls: Settings = { ...BASE, server: { ...BASE.server, tls: { certFile: '/c.pem', keyFile: '/k.pem' } } };
  const withCa: Settings = { ...BASE, server: { ...BASE.server, tls: { certFile: '/c.pem', keyFile: '/k.pem', clientCaFile: '/ca.pem' } } };
  assert.deepEqual(restartRequiredKeys(withTls, withTls), []);
  assert.deepEqual(restartRequiredKeys(withTls, withCa), ['server.tls']);
});

const client = (name: string, key: string, extra: Partial<ClientConfig> = {}): ClientConfig => ({
  name,
  key: new Secret(key, 'test'),
  mailboxes: ['*'],
  admin: false,
  ...extra,
});

test('client changes by name: added, removed, and changed (key, patterns or admin), never a key', () => {
  const before = [client('keep', 'k1'), client('gone', 'k2'), client('rekeyed', 'k3'), client('promoted', 'k4'), client('narrowed', 'k5')];
  const after = [
    client('keep', 'k1'),
    client('rekeyed', 'k3-new'),
    client('promoted', 'k4', { admin: true }),
    client('narrowed', 'k5', { mailboxes: ['sales-*'] }),
    client('new', 'k6'),
  ];
  const changes = clientChanges(before, after);
  assert.deepEqual(changes.fields, { enforcing: true, added: ['new'], removed: ['gone'], changed: ['rekeyed', 'promoted', 'narrowed'] });
  assert.equal(changes.text, 'clients: 1 added (new), 1 removed (gone), 3 changed (rekeyed, promoted, narrowed)');
  assert.ok(!changes.text.includes('k3-new'));
});

test('client changes: a list appearing or going away says what it means for callers', () => {
  assert.equal(clientChanges(undefined, [client('a', 'k')]).text, 'server.clients added: every call needs a client key now; 1 added (a), 0 removed, 0 changed');
  assert.equal(clientChanges([client('a', 'k')], undefined).text, 'server.clients removed: every caller that can reach a listener is trusted now');
  assert.deepEqual(clientChanges([client('a', 'k')], undefined).fields, { enforcing: false, added: [], removed: ['a'], changed: [] });
  assert.equal(clientChanges(undefined, undefined).text, 'no client allow-list');
});

test('a keySha256 client is the same client while its digest is', () => {
  const digest = 'a'.repeat(64);
  const hashed = (value: string): ClientConfig => ({ name: 'ops', keySha256: value, mailboxes: ['*'], admin: true });
  assert.deepEqual(clientChanges([hashed(digest)], [hashed(digest)]).fields.changed, []);
  assert.deepEqual(clientChanges([hashed(digest)], [hashed('b'.repeat(64))]).fields.changed, ['ops']);
});

test('the summary names every mailbox, and says 0 for empty groups', () => {
  assert.equal(
    describeSummary({ added: ['fresh'], removed: [], changed: ['ropc', 'shared'], reacquiring: ['ropc'] }),
    '1 added (fresh), 0 removed, 2 changed (ropc, shared), 1 re-acquiring (ropc)',
  );
});

test('the TLS digest follows the files\' content: a renewed certificate under the same path is a change', async () => {
  const dir = await tempDir('reload-tls-');
  const tls = { certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') };
  await writeFile(tls.certFile, 'certificate 1');
  await writeFile(tls.keyFile, 'key 1');
  const first = await tlsFilesDigest(tls);
  assert.equal(await tlsFilesDigest(tls), first, 'stable while nothing changes');
  await writeFile(tls.certFile, 'certificate 2');
  assert.notEqual(await tlsFilesDigest(tls), first);
  assert.equal(await tlsFilesDigest(undefined), undefined);
});
