// The sections besides mailboxes: server (listen, socketMode, tls, clients, limits),
// store, metrics, refresh, proxies and authorizationServers; their defaults
// and each of their rules, with exact messages.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { builtinAuthorizationServers, DEFAULT_CONFIG_PATH } from '../../src/config/index.js';
import { makeCertificate } from '../support/certificates.js';
import { CLIENT, configOf, loadObject, NOW, problemsOf, TENANT, tempDir, triples, writeFiles } from '../support/config-helpers.js';
import type { Expected } from '../support/config-helpers.js';

const DAY = 24 * 60 * 60 * 1000;
const MAILBOX = { protocol: 'imap', grantType: 'client-credentials', tenantId: TENANT, clientId: CLIENT, clientSecret: 'x', username: 'u@contoso.example' };
const KERNEL_FOLDER = (folder: string): string =>
  `a unix socket cannot live under ${folder} (a file system of the kernel, not a place for the broker's files); use a path such as unix:///run/token-broker/broker.sock`;
const UNREADABLE = (path: string): string => `cannot read ${path} (ENOENT: no such file or directory); check the path and that the broker's user may read it`;

interface SectionCase {
  readonly name: string;
  readonly config: Record<string, unknown>;
  readonly expect: readonly Expected[] | ((dir: string) => readonly Expected[]);
}

let tls: Promise<string> | undefined;

/** A folder holding a TLS certificate, its key, another key and a non-certificate; made once, read only. */
function tlsFolder(): Promise<string> {
  tls ??= makeTlsFolder();
  return tls;
}

async function makeTlsFolder(): Promise<string> {
  const dir = await tempDir();
  const server = makeCertificate(NOW - DAY, NOW + 365 * DAY, 'broker.example');
  const other = makeCertificate(NOW - DAY, NOW + 365 * DAY, 'other');
  await writeFiles(dir, { 'server.pem': server.certificatePem, 'server.key': server.keyPem, 'other.key': other.keyPem, 'ca.pem': other.certificatePem, 'notes.txt': 'hello\n' });
  return dir;
}

function runCases(cases: readonly SectionCase[]): void {
  for (const c of cases) {
    test(c.name, async () => {
      const dir = await tlsFolder();
      const result = await loadObject({ mailboxes: { m: MAILBOX }, ...c.config }, { dir });
      const expected = typeof c.expect === 'function' ? c.expect(dir) : c.expect;
      assert.deepEqual(triples(result), expected);
      assert.equal(result.ok, !expected.some(([severity]) => severity === 'error'));
    });
  }
}

describe('config defaults', () => {
  test('a config with only a mailbox gets every default of CONTRACT.md', async () => {
    const dir = await tempDir();
    const config = configOf(await loadObject({ mailboxes: { m: MAILBOX } }, { dir }));
    assert.equal(config.source, join(dir, 'broker.yaml'));
    assert.deepEqual(config.server, { listen: [{ kind: 'unix', path: '/run/token-broker/broker.sock', url: 'unix:///run/token-broker/broker.sock' }], socketMode: 0o660 });
    assert.deepEqual(config.store, { url: 'sqlite:///var/lib/token-broker/tokens.sqlite', encryptionKeyFile: '/var/lib/token-broker/store.key' });
    assert.deepEqual(config.refresh, { leadTimeSeconds: 300, maxConcurrentPerServer: 16, sweepIntervalSeconds: 10, idleAfterHours: 24, keepAliveDays: 7 });
    assert.equal(config.metrics, undefined);
    assert.equal('metrics' in config, false);
    assert.deepEqual([...config.authorizationServers.keys()], ['microsoft', 'google']);
    assert.deepEqual(config.authorizationServers, builtinAuthorizationServers());
    assert.equal(config.proxies.size, 0);
    assert.equal(DEFAULT_CONFIG_PATH, '/etc/token-broker/broker.yaml');
  });

  test('empty sections are fine and mean the defaults', async () => {
    const config = configOf(await loadObject({ server: null, store: null, refresh: {}, proxies: null, authorizationServers: null, mailboxes: { m: MAILBOX } }));
    assert.equal(config.server.socketMode, 0o660);
    assert.equal(config.refresh.leadTimeSeconds, 300);
  });

  test('no mailboxes is a warning, not an error', async () => {
    for (const config of [{ mailboxes: {} }, { store: { url: 'memory:' } }]) {
      const result = await loadObject(config);
      assert.equal(result.ok, true);
      assert.deepEqual(triples(result), [['warning', 'mailboxes', 'no mailboxes are configured; the broker has nothing to serve']]);
    }
  });

  test('builtinAuthorizationServers: microsoft and google per DOMAIN.md, a fresh map each call', () => {
    const servers = builtinAuthorizationServers();
    assert.deepEqual(servers.get('microsoft'), {
      name: 'microsoft',
      type: 'microsoft',
      authorityHost: 'https://login.microsoftonline.com',
      cloud: 'global',
      scopes: {
        imap: ['https://outlook.office.com/IMAP.AccessAsUser.All', 'offline_access'],
        pop3: ['https://outlook.office.com/POP.AccessAsUser.All', 'offline_access'],
        smtp: ['https://outlook.office.com/SMTP.Send', 'offline_access'],
        graph: ['https://graph.microsoft.com/Mail.ReadWrite', 'offline_access'],
      },
      caCertificates: [],
    });
    assert.deepEqual(servers.get('google'), {
      name: 'google',
      type: 'google',
      authorizationEndpoint: 'https://accounts.google.com/o/oauth2/v2/auth',
      tokenEndpoint: 'https://oauth2.googleapis.com/token',
      deviceAuthorizationEndpoint: 'https://oauth2.googleapis.com/device/code',
      scopes: { imap: ['https://mail.google.com/'], pop3: ['https://mail.google.com/'], smtp: ['https://mail.google.com/'] },
      caCertificates: [],
    });
    servers.delete('google');
    assert.equal(builtinAuthorizationServers().has('google'), true);
  });
});

describe('config server.listen and socketMode', () => {
  test('addresses are parsed', async () => {
    const config = configOf(
      await loadObject({ server: { listen: ['unix:///run/b.sock', 'tcp://127.0.0.1:50051', 'tcp://[::1]:0', 'tcp://localhost:50052'] }, mailboxes: { m: MAILBOX } }),
    );
    assert.deepEqual(config.server.listen, [
      { kind: 'unix', path: '/run/b.sock', url: 'unix:///run/b.sock' },
      { kind: 'tcp', host: '127.0.0.1', port: 50051, url: 'tcp://127.0.0.1:50051' },
      { kind: 'tcp', host: '::1', port: 0, url: 'tcp://[::1]:0' },
      { kind: 'tcp', host: 'localhost', port: 50052, url: 'tcp://localhost:50052' },
    ]);
  });

  test('one address may be written without a list', async () => {
    const config = configOf(await loadObject({ server: { listen: 'tcp://127.0.0.2:1' }, mailboxes: { m: MAILBOX } }));
    assert.deepEqual(config.server.listen, [{ kind: 'tcp', host: '127.0.0.2', port: 1, url: 'tcp://127.0.0.2:1' }]);
  });

  test('plain TCP beyond loopback is fine with tls', async () => {
    const dir = await tlsFolder();
    const config = configOf(await loadObject({ server: { listen: ['tcp://0.0.0.0:50051'], tls: { certFile: 'server.pem', keyFile: 'server.key', clientCaFile: 'ca.pem' } }, mailboxes: { m: MAILBOX } }, { dir }));
    assert.deepEqual(config.server.tls, { certFile: join(dir, 'server.pem'), keyFile: join(dir, 'server.key'), clientCaFile: join(dir, 'ca.pem') });
  });

  test('socketMode', async () => {
    for (const [mode, expect] of [['0600', 0o600], ['660', 0o660], ['0770', 0o770]] as const) {
      assert.equal(configOf(await loadObject({ server: { socketMode: mode }, mailboxes: { m: MAILBOX } })).server.socketMode, expect);
    }
  });

  const plainTcp = (host: string): string =>
    `plain TCP on ${host} would expose tokens and client keys to the network; configure server.tls, or listen on a loopback address (127.0.0.1, ::1, localhost) or a unix socket`;

  runCases([
    { name: 'listen: 0.0.0.0 without tls', config: { server: { listen: ['unix:///run/b.sock', 'tcp://0.0.0.0:50051'] } }, expect: [['error', 'server.listen[1]', plainTcp('0.0.0.0')]] },
    { name: 'listen: a LAN address without tls', config: { server: { listen: 'tcp://10.0.0.5:50051' } }, expect: [['error', 'server.listen[0]', plainTcp('10.0.0.5')]] },
    { name: 'listen: :: without tls', config: { server: { listen: ['tcp://[::]:50051'] } }, expect: [['error', 'server.listen[0]', plainTcp('::')]] },
    { name: 'listen: relative unix path', config: { server: { listen: ['unix://run/b.sock'] } }, expect: [['error', 'server.listen[0]', 'a unix socket path must be absolute, e.g. unix:///run/token-broker/broker.sock']] },
    {
      name: 'listen: a unix path under /proc, /sys or /dev, however written',
      config: { server: { listen: ['unix:///proc/self/broker.sock', 'unix:///sys/b.sock', 'unix:///run/../dev/b.sock', 'unix:///dev', 'unix:///procedures/b.sock'] } },
      expect: [
        ['error', 'server.listen[0]', KERNEL_FOLDER('/proc')],
        ['error', 'server.listen[1]', KERNEL_FOLDER('/sys')],
        ['error', 'server.listen[2]', KERNEL_FOLDER('/dev')],
        ['error', 'server.listen[3]', KERNEL_FOLDER('/dev')],
      ],
    },
    {
      name: 'listen: port out of range',
      config: { server: { listen: ['tcp://127.0.0.1:70000'] } },
      expect: [['error', 'server.listen[0]', 'must be tcp://host:port with a port of 0-65535, e.g. tcp://127.0.0.1:50051 or tcp://[::1]:50051']],
    },
    { name: 'listen: another scheme', config: { server: { listen: ['http://127.0.0.1:1'] } }, expect: [['error', 'server.listen[0]', 'must be unix:///absolute/path or tcp://host:port']] },
    { name: 'listen: empty', config: { server: { listen: [] } }, expect: [['error', 'server.listen', 'must list at least one address']] },
    {
      name: 'socketMode: an unquoted number',
      config: { server: { socketMode: 660 } },
      expect: [['error', 'server.socketMode', 'must be an octal mode in quotes, such as "0660", not a number (YAML reads an unquoted 0660 as the number 660)']],
    },
    { name: 'socketMode: not octal', config: { server: { socketMode: '0990' } }, expect: [['error', 'server.socketMode', 'must be an octal mode such as "0660"']] },
  ]);
});

describe('config server.tls', () => {
  runCases([
    { name: 'keyFile missing', config: { server: { tls: { certFile: 'server.pem' } } }, expect: [['error', 'server.tls.keyFile', 'required; set the PEM private key of certFile']] },
    {
      name: 'certFile missing',
      config: { server: { tls: { keyFile: 'server.key' } } },
      expect: [['error', 'server.tls.certFile', 'required; set the PEM certificate (chain) the gRPC server presents']],
    },
    {
      name: 'unreadable files',
      config: { server: { tls: { certFile: 'nope.pem', keyFile: 'nope.key', clientCaFile: '/nonexistent/ca.pem' } } },
      expect: (dir) => [
        ['error', 'server.tls.certFile', UNREADABLE(join(dir, 'nope.pem'))],
        ['error', 'server.tls.keyFile', UNREADABLE(join(dir, 'nope.key'))],
        ['error', 'server.tls.clientCaFile', UNREADABLE('/nonexistent/ca.pem')],
      ],
    },
    {
      name: 'not a certificate, not a key',
      config: { server: { tls: { certFile: 'notes.txt', keyFile: 'notes.txt' } } },
      expect: (dir) => [
        ['error', 'server.tls.certFile', `${join(dir, 'notes.txt')} contains no PEM certificate; give a file with one or more -----BEGIN CERTIFICATE----- blocks`],
        ['error', 'server.tls.keyFile', `${join(dir, 'notes.txt')} holds no usable PEM private key (an encrypted key cannot be used here)`],
      ],
    },
    {
      name: 'a key of another certificate',
      config: { server: { tls: { certFile: 'server.pem', keyFile: 'other.key' } } },
      expect: (dir) => [['error', 'server.tls.keyFile', `the private key in ${join(dir, 'other.key')} does not belong to the certificate in ${join(dir, 'server.pem')}`]],
    },
  ]);
});

const LOOPBACK = ['tcp://127.0.0.1:50051'];
const TLS_WITH_CLIENT_CA = { certFile: 'server.pem', keyFile: 'server.key', clientCaFile: 'ca.pem' };
const MTLS_NEEDED = 'needs mTLS: set server.tls.clientCaFile to the CA that issues client certificates, or give this client a key, keyFile or keySha256';

describe('config server.limits', () => {
  test('read when given; absent keys keep the defaults', async () => {
    const config = configOf(await loadObject({ server: { limits: { maxRequestBytes: 4096, idleConnectionSeconds: '60' } }, mailboxes: { m: MAILBOX } }));
    assert.deepEqual(config.server.limits, { maxRequestBytes: 4096, idleConnectionSeconds: 60 });
    assert.equal('limits' in configOf(await loadObject({ mailboxes: { m: MAILBOX } })).server, false);
  });

  runCases([
    { name: 'limits: a request bound too small', config: { server: { limits: { maxRequestBytes: 100 } } }, expect: [['error', 'server.limits.maxRequestBytes', 'must be a whole number of 1024 or more']] },
    { name: 'limits: a request bound too big', config: { server: { limits: { maxRequestBytes: 5_000_000 } } }, expect: [['error', 'server.limits.maxRequestBytes', 'must be at most 4,194,304 bytes (4 MiB)']] },
    { name: 'limits: an unknown key', config: { server: { limits: { maxCalls: 3 } } }, expect: [['error', 'server.limits.maxCalls', 'unknown key; expected one of: maxRequestBytes, maxStreamsPerConnection, idleConnectionSeconds']] },
  ]);
});

describe('config server.clients', () => {
  test('clients are read with their defaults', async () => {
    const config = configOf(
      await loadObject({
        server: {
          clients: [
            { name: 'c1', key: 'k1', mailboxes: ['sales-*', 'm'] },
            { name: 'c2', keySha256: 'AB'.repeat(32), mailboxes: ['*'], admin: true },
          ],
        },
        mailboxes: { m: MAILBOX },
      }),
    );
    const [c1, c2] = config.server.clients ?? [];
    assert.equal(c1?.name, 'c1');
    assert.equal(c1.key?.reveal(), 'k1');
    assert.equal(c1.key.origin, 'server.clients[0].key');
    assert.deepEqual(c1.mailboxes, ['sales-*', 'm']);
    assert.equal(c1.admin, false);
    assert.deepEqual(c2, { name: 'c2', keySha256: 'ab'.repeat(32), mailboxes: ['*'], admin: true });
  });

  test('a bracket set matches as the server matches it; a pattern that matches no mailbox is a warning', async () => {
    const clients = (patterns: string[]) => ({ server: { clients: [{ name: 'c1', key: 'k1', mailboxes: patterns }] }, mailboxes: { 'sales-a': MAILBOX, 'sales-b': MAILBOX } });
    assert.deepEqual(problemsOf(await loadObject(clients(['sales-[ab]', 'sales-?']))), []);
    assert.deepEqual(
      problemsOf(await loadObject(clients(['sales-[cd]']))).map((problem) => [problem.severity, problem.path, problem.message]),
      [['warning', 'server.clients[0].mailboxes[0]', 'the pattern sales-[cd] matches no configured mailbox; check it (* any run of characters, ? one, [ab] one of a set)']],
    );
  });

  runCases([
    {
      name: 'clients: a [ that opens no set',
      config: { server: { clients: [{ name: 'c1', key: 'k1', mailboxes: ['sales-[ab'] }] } },
      expect: [['error', 'server.clients[0].mailboxes[0]', 'the [ at position 7 opens no set: close it with ], e.g. sales-[ab] for sales-a and sales-b']],
    },
  ]);

  test('client policy: protocols (each once), watch, maxWatches and callsPerSecond', async () => {
    const config = configOf(
      await loadObject({
        server: { clients: [{ name: 'c1', key: 'k1', mailboxes: ['*'], protocols: ['smtp', 'imap', 'smtp'], watch: false, maxWatches: 3, callsPerSecond: '50' }] },
        mailboxes: { m: MAILBOX },
      }),
    );
    const [c1] = config.server.clients ?? [];
    assert.deepEqual({ protocols: c1?.protocols, watch: c1?.watch, maxWatches: c1?.maxWatches, callsPerSecond: c1?.callsPerSecond }, { protocols: ['smtp', 'imap'], watch: false, maxWatches: 3, callsPerSecond: 50 });
  });

  runCases([
    {
      name: 'client policy: an unknown protocol, with a suggestion',
      config: { server: { clients: [{ name: 'c1', key: 'k1', mailboxes: ['*'], protocols: ['imap', 'smpt'] }] } },
      expect: [['error', 'server.clients[0].protocols[1]', 'must be one of: graph, imap, pop3, smtp (did you mean smtp?)']],
    },
    { name: 'client policy: no protocol at all', config: { server: { clients: [{ name: 'c1', key: 'k1', mailboxes: ['*'], protocols: [] }] } }, expect: [['error', 'server.clients[0].protocols', 'must name at least one protocol; to refuse every token, remove the client']] },
    { name: 'client policy: maxWatches 0', config: { server: { clients: [{ name: 'c1', key: 'k1', mailboxes: ['*'], maxWatches: 0 }] } }, expect: [['error', 'server.clients[0].maxWatches', 'must be a whole number of 1 or more']] },
    { name: 'client policy: callsPerSecond in words', config: { server: { clients: [{ name: 'c1', key: 'k1', mailboxes: ['*'], callsPerSecond: 'lots' }] } }, expect: [['error', 'server.clients[0].callsPerSecond', 'must be a whole number of 1 or more, not a string']] },
  ]);

  test('a client known by its mTLS certificate subject', async () => {
    const dir = await tlsFolder();
    const config = configOf(
      await loadObject(
        { server: { listen: ['tcp://127.0.0.1:50051'], tls: TLS_WITH_CLIENT_CA, clients: [{ name: 'c', certificateSubject: 'O = Acme, CN = connector-1', mailboxes: ['m'] }] }, mailboxes: { m: MAILBOX } },
        { dir },
      ),
    );
    assert.deepEqual(config.server.clients, [{ name: 'c', certificateSubject: 'CN=connector-1,O=Acme', mailboxes: ['m'], admin: false }]);
  });

  runCases([
    {
      name: 'duplicate names',
      config: { server: { clients: [{ name: 'c', key: 'a', mailboxes: ['m'] }, { name: 'c', key: 'b', mailboxes: ['m'] }] } },
      expect: [['error', 'server.clients[1].name', 'server.clients[0] has the same name; client names must be unique']],
    },
    {
      name: 'no key at all, no name, no mailboxes',
      config: { server: { clients: [{ admin: true }] } },
      expect: [
        ['error', 'server.clients[0].name', 'required; give each client a name (it appears in logs)'],
        ['error', 'server.clients[0].key', 'required; set one of key, keyFile, keySha256 or certificateSubject'],
        ['error', 'server.clients[0].mailboxes', 'required; list the mailbox names or glob patterns (e.g. "sales-*") this client may use'],
      ],
    },
    {
      name: 'key and keySha256',
      config: { server: { clients: [{ name: 'c', key: 'a', keySha256: 'a'.repeat(64), mailboxes: ['m'] }] } },
      expect: [['error', 'server.clients[0].keySha256', 'given together with key or keyFile; keep only one of them']],
    },
    {
      name: 'keySha256 malformed',
      config: { server: { clients: [{ name: 'c', keySha256: 'abc', mailboxes: ['m'] }] } },
      expect: [['error', 'server.clients[0].keySha256', 'must be 64 hexadecimal digits: the SHA-256 of the client key (printf %s "$KEY" | sha256sum)']],
    },
    {
      name: 'empty mailbox list',
      config: { server: { clients: [{ name: 'c', key: 'a', mailboxes: [] }] } },
      expect: [['error', 'server.clients[0].mailboxes', 'must list at least one mailbox name or glob pattern']],
    },
    {
      name: 'a bad pattern',
      config: { server: { clients: [{ name: 'c', key: 'a', mailboxes: ['m', 'sales box'] }] } },
      expect: [['error', 'server.clients[0].mailboxes[1]', 'must be a mailbox name or a glob pattern of letters, digits, ".", "_", "-", "*", "?" and [...]']],
    },
    {
      name: 'a literal name that names no mailbox is a warning, and so is a pattern that matches none',
      config: { server: { clients: [{ name: 'c', key: 'a', mailboxes: ['m', 'sales', 'sales-*'] }] } },
      expect: [
        ['warning', 'server.clients[0].mailboxes[1]', 'no mailbox is named sales; check the name'],
        ['warning', 'server.clients[0].mailboxes[2]', 'the pattern sales-* matches no configured mailbox; check it (* any run of characters, ? one, [ab] one of a set)'],
      ],
    },
    {
      name: 'certificateSubject without server.tls',
      config: { server: { listen: LOOPBACK, clients: [{ name: 'c', certificateSubject: 'CN=c', mailboxes: ['m'] }] } },
      expect: [['error', 'server.clients[0].certificateSubject', MTLS_NEEDED]],
    },
    {
      name: 'certificateSubject with server.tls but no clientCaFile',
      config: { server: { listen: LOOPBACK, tls: { certFile: 'server.pem', keyFile: 'server.key' }, clients: [{ name: 'c', certificateSubject: 'CN=c', mailboxes: ['m'] }] } },
      expect: [['error', 'server.clients[0].certificateSubject', MTLS_NEEDED]],
    },
    {
      name: 'certificateSubject and a key',
      config: { server: { listen: LOOPBACK, tls: TLS_WITH_CLIENT_CA, clients: [{ name: 'c', keyFile: 'server.key', certificateSubject: 'CN=c', mailboxes: ['m'] }] } },
      expect: [['error', 'server.clients[0].certificateSubject', 'given together with key, keyFile or keySha256; a client is known by one of them']],
    },
    {
      name: 'certificateSubject malformed',
      config: { server: { listen: LOOPBACK, tls: TLS_WITH_CLIENT_CA, clients: [{ name: 'c', certificateSubject: 'connector-1', mailboxes: ['m'] }] } },
      expect: [['error', 'server.clients[0].certificateSubject', 'must be a distinguished name such as "CN=connector-1" or "CN=connector-1, O=Acme"; "connector-1" is not TYPE=value']],
    },
    {
      name: 'the same certificateSubject twice, in another order',
      config: {
        server: {
          listen: LOOPBACK,
          tls: TLS_WITH_CLIENT_CA,
          clients: [
            { name: 'a', certificateSubject: 'CN=c,O=Acme', mailboxes: ['m'] },
            { name: 'b', certificateSubject: 'o=Acme, cn=c', mailboxes: ['m'] },
          ],
        },
      },
      expect: [['error', 'server.clients[1].certificateSubject', 'server.clients[0] has the same certificateSubject; one certificate can be only one client']],
    },
    {
      name: 'certificateSubject clients without a tcp listener',
      config: { server: { tls: TLS_WITH_CLIENT_CA, clients: [{ name: 'c', certificateSubject: 'CN=c', mailboxes: ['m'] }] } },
      expect: [['warning', 'server.listen', 'no tcp:// address: clients known by certificateSubject can only connect over TCP with TLS']],
    },
    { name: 'not a list', config: { server: { clients: { name: 'c' } } }, expect: [['error', 'server.clients', 'must be a list of clients (- name: ...), not a mapping']] },
    { name: 'admin not a flag', config: { server: { clients: [{ name: 'c', key: 'a', mailboxes: ['m'], admin: 'yes' }] } }, expect: [['error', 'server.clients[0].admin', 'must be true or false, not a string']] },
  ]);
});

describe('config store, metrics, refresh', () => {
  test('store urls', async () => {
    const dir = await tempDir();
    const cases: [string, string][] = [
      ['memory:', 'memory:'],
      ['memory://', 'memory:'],
      ['sqlite:///var/lib/x.sqlite', 'sqlite:///var/lib/x.sqlite'],
      ['sqlite://data/tokens.sqlite', `sqlite://${join(dir, 'data/tokens.sqlite')}`],
      ['redis://redis.internal:6379/0', 'redis://redis.internal:6379/0'],
      ['rediss://:pw@redis.internal:6380/1', 'rediss://:pw@redis.internal:6380/1'],
    ];
    for (const [url, expect] of cases) {
      const config = configOf(await loadObject({ store: { url, encryptionKeyFile: 'store.key' }, mailboxes: { m: MAILBOX } }, { dir }));
      assert.deepEqual(config.store, { url: expect, encryptionKeyFile: join(dir, 'store.key') });
    }
  });

  test('metrics and refresh', async () => {
    const config = configOf(await loadObject({ metrics: { listen: '[::1]:9464' }, refresh: { leadTimeSeconds: 120, maxConcurrentPerServer: '4', sweepIntervalSeconds: 59, idleAfterHours: 2, keepAliveDays: 80 }, mailboxes: { m: MAILBOX } }));
    assert.deepEqual(config.metrics, { listen: { kind: 'tcp', host: '::1', port: 9464, url: '[::1]:9464' }, perMailbox: true });
    assert.deepEqual(config.refresh, { leadTimeSeconds: 120, maxConcurrentPerServer: 4, sweepIntervalSeconds: 59, idleAfterHours: 2, keepAliveDays: 80 });
  });

  test('metrics on a unix socket or tcp:// as server.listen spells them, per-mailbox series turned off', async () => {
    const unix = configOf(await loadObject({ metrics: { listen: 'unix:///run/token-broker/metrics.sock', perMailbox: false }, mailboxes: { m: MAILBOX } }));
    assert.deepEqual(unix.metrics, { listen: { kind: 'unix', path: '/run/token-broker/metrics.sock', url: 'unix:///run/token-broker/metrics.sock' }, perMailbox: false });
    const tcp = configOf(await loadObject({ metrics: { listen: 'tcp://127.0.0.1:9464', perMailbox: 'true' }, mailboxes: { m: MAILBOX } }));
    assert.deepEqual(tcp.metrics, { listen: { kind: 'tcp', host: '127.0.0.1', port: 9464, url: 'tcp://127.0.0.1:9464' }, perMailbox: true });
  });

  test('a lead time shorter than two sweep intervals is a warning that says what to set', async () => {
    const result = await loadObject({ refresh: { leadTimeSeconds: 15, sweepIntervalSeconds: 10 }, mailboxes: { m: MAILBOX } });
    assert.equal(result.ok, true);
    assert.deepEqual(
      problemsOf(result).map((problem) => [problem.severity, problem.path, problem.message]),
      [['warning', 'refresh.leadTimeSeconds', '15 s is less than two sweep intervals (refresh.sweepIntervalSeconds 10 s): tokens may be refreshed late, or only once a connector asks; set at least 20']],
    );
  });

  const METRICS_LISTEN_RULE = 'must be host:port (e.g. 127.0.0.1:9464 or [::1]:9464) or unix:///absolute/path (e.g. unix:///run/token-broker/metrics.sock)';
  const STORE_RULE = 'must be sqlite:///path/to/tokens.sqlite, redis://host:6379/0, rediss://host:6380/0 or memory:';
  runCases([
    { name: 'store: unknown scheme', config: { store: { url: 'postgres://db/tokens' } }, expect: [['error', 'store.url', STORE_RULE]] },
    { name: 'store: sqlite without a path', config: { store: { url: 'sqlite://' } }, expect: [['error', 'store.url', STORE_RULE]] },
    { name: 'store: redis without a host', config: { store: { url: 'redis://' } }, expect: [['error', 'store.url', STORE_RULE]] },
    { name: 'metrics: listen missing', config: { metrics: {} }, expect: [['error', 'metrics.listen', 'required; set host:port, e.g. 127.0.0.1:9464, or unix:///run/token-broker/metrics.sock']] },
    { name: 'metrics: a URL instead of host:port', config: { metrics: { listen: 'http://127.0.0.1:9464' } }, expect: [['error', 'metrics.listen', METRICS_LISTEN_RULE]] },
    { name: 'metrics: a relative unix socket path', config: { metrics: { listen: 'unix://metrics.sock' } }, expect: [['error', 'metrics.listen', 'a unix socket path must be absolute, e.g. unix:///run/token-broker/broker.sock']] },
    { name: 'metrics: perMailbox not a flag', config: { metrics: { listen: '127.0.0.1:9464', perMailbox: 'no' } }, expect: [['error', 'metrics.perMailbox', 'must be true or false, not a string']] },
    { name: 'refresh: a sweep interval over 59 is refused, not clamped', config: { refresh: { sweepIntervalSeconds: 120 } }, expect: [['error', 'refresh.sweepIntervalSeconds', 'must be a whole number from 1 to 59 (the sweep is a cron step of seconds)']] },
    { name: 'refresh: keepAliveDays over 80 is refused, not clamped', config: { refresh: { keepAliveDays: 365 } }, expect: [['error', 'refresh.keepAliveDays', 'must be a whole number from 1 to 80 (Microsoft ends refresh tokens unused for 90 days)']] },
    { name: 'refresh: negative lead time', config: { refresh: { leadTimeSeconds: -1 } }, expect: [['error', 'refresh.leadTimeSeconds', 'must be a whole number of 0 or more']] },
    { name: 'refresh: fractional lead time', config: { refresh: { leadTimeSeconds: 1.5 } }, expect: [['error', 'refresh.leadTimeSeconds', 'must be a whole number of 0 or more, not a number']] },
    { name: 'refresh: zero concurrency', config: { refresh: { maxConcurrentPerServer: 0 } }, expect: [['error', 'refresh.maxConcurrentPerServer', 'must be a whole number of 1 or more']] },
    { name: 'refresh: words', config: { refresh: { maxConcurrentPerServer: 'many' } }, expect: [['error', 'refresh.maxConcurrentPerServer', 'must be a whole number of 1 or more, not a string']] },
  ]);
});

describe('config audit', () => {
  test('audit.file counts from the config folder; audit.stdout: true; no section means no audit log', async () => {
    const dir = await tempDir();
    const withFile = configOf(await loadObject({ audit: { file: 'logs/audit.jsonl' }, mailboxes: { m: MAILBOX } }, { dir }));
    assert.deepEqual(withFile.audit, { file: join(dir, 'logs', 'audit.jsonl') });
    assert.deepEqual(configOf(await loadObject({ audit: { stdout: true }, mailboxes: { m: MAILBOX } })).audit, { stdout: true });
    assert.equal('audit' in configOf(await loadObject({ mailboxes: { m: MAILBOX } })), false);
    assert.equal('audit' in configOf(await loadObject({ audit: { stdout: false }, mailboxes: { m: MAILBOX } })), false);
  });

  runCases([
    { name: 'audit: both file and stdout', config: { audit: { file: '/var/log/audit.jsonl', stdout: true } }, expect: [['error', 'audit.stdout', 'give either audit.file or audit.stdout: true, not both; the audit log has one destination']] },
    { name: 'audit: neither', config: { audit: {} }, expect: [['error', 'audit.file', 'required in an audit section; set file: /var/log/token-broker/audit.jsonl, or stdout: true']] },
    { name: 'audit: an unknown key', config: { audit: { file: 'a.jsonl', rotate: true } }, expect: [['error', 'audit.rotate', "unknown key; expected one of: file, stdout"]] },
  ]);
});

const FORMS = 'must be host:port, http://host:port, https://host:port, socks5://host:port or socks5h://host:port';

describe('config proxies', () => {
  test('a proxy with credentials', async () => {
    const config = configOf(
      await loadObject({ proxies: { corp: { url: 'https://proxy.corp.example:3129/', username: 'svc', password: 'pw' } }, mailboxes: { m: { ...MAILBOX, proxy: 'corp' } } }),
    );
    const proxy = config.proxies.get('corp');
    assert.equal(proxy?.url, 'https://proxy.corp.example:3129');
    assert.equal(proxy.username, 'svc');
    assert.equal(proxy.password?.origin, 'proxies.corp.password');
    assert.equal(config.mailboxes.get('m')?.proxy, proxy);
  });

  runCases([
    { name: 'url missing', config: { proxies: { corp: { username: 'svc' } } }, expect: [['error', 'proxies.corp.url', 'required; set http://host:port, https://host:port or socks5://host:port']] },
    { name: 'no port', config: { proxies: { corp: { url: 'http://proxy.corp.example' } } }, expect: [['error', 'proxies.corp.url', 'must include the port, e.g. http://proxy.corp.example:3128']] },
    {
      name: 'credentials in the url (never echoed)',
      config: { proxies: { corp: { url: 'http://svc:hunter2@proxy.corp.example:3128' } } },
      expect: [['error', 'proxies.corp.url', 'must not contain a user name or password; set username and password (or passwordFile) instead']],
    },
    { name: 'a path', config: { proxies: { corp: { url: 'http://proxy.corp.example:3128/proxy' } } }, expect: [['error', 'proxies.corp.url', 'must be just scheme://host:port, without a path']] },
    { name: 'socks4', config: { proxies: { corp: { url: 'socks4://proxy.corp.example:1080' } } }, expect: [['error', 'proxies.corp.url', FORMS]] },
    {
      name: 'password without username',
      config: { proxies: { corp: { url: 'http://proxy.corp.example:3128', password: 'pw' } } },
      expect: [['error', 'proxies.corp.password', 'a proxy password needs a username; set proxies.corp.username']],
    },
    {
      name: 'a bad name',
      config: { proxies: { 'corp proxy': { url: 'http://proxy.corp.example:3128' } } },
      expect: [['error', 'proxies.corp proxy', 'invalid proxy name; use 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit']],
    },
    {
      name: 'a mailbox naming a broken proxy gets no second error',
      config: { proxies: { corp: { url: 'ftp://x:1' } }, mailboxes: { m: { ...MAILBOX, proxy: 'corp' } } },
      expect: [['error', 'proxies.corp.url', FORMS]],
    },
  ]);
});

describe('config authorizationServers', () => {
  test('microsoft may be overridden: a national cloud, extra CA, other scopes', async () => {
    const dir = await tlsFolder();
    const config = configOf(
      await loadObject(
        {
          authorizationServers: { microsoft: { authorityHost: 'https://login.microsoftonline.us/', caFile: 'ca.pem', scopes: { imap: 'https://outlook.office365.us/IMAP.AccessAsUser.All offline_access' } } },
          mailboxes: { m: { ...MAILBOX, grantType: 'device-code', clientSecret: undefined } },
        },
        { dir },
      ),
    );
    const microsoft = config.authorizationServers.get('microsoft');
    assert.equal(microsoft?.authorityHost, 'https://login.microsoftonline.us');
    assert.equal(microsoft.caFile, join(dir, 'ca.pem'));
    assert.equal(microsoft.caCertificates.length, 1);
    assert.match(microsoft.caCertificates[0] ?? '', /^-----BEGIN CERTIFICATE-----/);
    assert.deepEqual(microsoft.scopes.imap, ['https://outlook.office365.us/IMAP.AccessAsUser.All', 'offline_access']);
    // The other protocols follow the cloud of login.microsoftonline.us (config-clouds.test.ts).
    assert.equal(microsoft.cloud, 'usgov');
    assert.deepEqual(microsoft.scopes.smtp, ['https://outlook.office365.us/SMTP.Send', 'offline_access']);
    assert.equal(config.mailboxes.get('m')?.authorizationServer, microsoft);
    assert.deepEqual(config.mailboxes.get('m')?.scopes, ['https://outlook.office365.us/IMAP.AccessAsUser.All', 'offline_access']);
  });

  test('a generic server, and a second google-type one that starts from Google defaults', async () => {
    const config = configOf(
      await loadObject({
        authorizationServers: {
          acme: { type: 'generic', issuer: 'https://idp.acme.example', tokenEndpoint: 'http://127.0.0.1:8443/token', scopes: { imap: ['mail.read'] } },
          'google-ws': { type: 'google' },
        },
        mailboxes: { m: MAILBOX },
      }),
    );
    assert.deepEqual(config.authorizationServers.get('acme'), {
      name: 'acme',
      type: 'generic',
      issuer: 'https://idp.acme.example',
      tokenEndpoint: 'http://127.0.0.1:8443/token',
      scopes: { imap: ['mail.read'] },
      caCertificates: [],
    });
    assert.deepEqual(config.authorizationServers.get('google-ws'), { ...builtinAuthorizationServers().get('google'), name: 'google-ws' });
  });

  const HTTPS_RULE = 'must be an https URL (plain http only for a test server on 127.0.0.1, ::1 or localhost)';
  runCases([
    { name: 'type required for a new name', config: { authorizationServers: { acme: { issuer: 'https://idp.acme.example' } } }, expect: [['error', 'authorizationServers.acme.type', 'required; set one of: microsoft, google, generic']] },
    { name: 'type unknown', config: { authorizationServers: { acme: { type: 'oidc', issuer: 'https://idp.acme.example' } } }, expect: [['error', 'authorizationServers.acme.type', 'must be one of: microsoft, google, generic']] },
    {
      name: 'a built-in keeps its type',
      config: { authorizationServers: { google: { type: 'generic', issuer: 'https://accounts.google.com' } } },
      expect: [['error', 'authorizationServers.google.type', 'the built-in google server is of type google; give a server of type generic a name of its own']],
    },
    { name: 'generic needs issuer or tokenEndpoint', config: { authorizationServers: { acme: { type: 'generic' } } }, expect: [['error', 'authorizationServers.acme', 'a generic server needs issuer (for discovery) or tokenEndpoint; set one of them']] },
    { name: 'plain http beyond loopback', config: { authorizationServers: { acme: { type: 'generic', tokenEndpoint: 'http://idp.acme.example/token' } } }, expect: [['error', 'authorizationServers.acme.tokenEndpoint', HTTPS_RULE]] },
    { name: 'not a URL', config: { authorizationServers: { acme: { type: 'generic', issuer: 'idp.acme.example' } } }, expect: [['error', 'authorizationServers.acme.issuer', HTTPS_RULE]] },
    {
      name: 'authorityHost must be https',
      config: { authorizationServers: { microsoft: { authorityHost: 'http://127.0.0.1:8443' } } },
      expect: [['error', 'authorizationServers.microsoft.authorityHost', 'must be an https origin without a path, e.g. https://login.microsoftonline.com or https://login.microsoftonline.us']],
    },
    {
      name: 'authorityHost has no path',
      config: { authorizationServers: { microsoft: { authorityHost: 'https://login.microsoftonline.com/contoso' } } },
      expect: [['error', 'authorizationServers.microsoft.authorityHost', 'must be an https origin without a path, e.g. https://login.microsoftonline.com or https://login.microsoftonline.us']],
    },
    { name: 'authorityHost only for microsoft', config: { authorizationServers: { google: { authorityHost: 'https://login.microsoftonline.com' } } }, expect: [['error', 'authorizationServers.google.authorityHost', 'applies only to type microsoft; remove it']] },
    {
      name: 'endpoints do not apply to microsoft',
      config: { authorizationServers: { microsoft: { tokenEndpoint: 'https://login.microsoftonline.com/x/oauth2/v2.0/token' } } },
      expect: [['error', 'authorizationServers.microsoft.tokenEndpoint', "does not apply to type microsoft (endpoints come from authorityHost and each mailbox's tenantId); remove it"]],
    },
    { name: 'graph scopes on google', config: { authorizationServers: { google: { scopes: { graph: ['x'] } } } }, expect: [['error', 'authorizationServers.google.scopes.graph', 'Microsoft Graph is not available on a google-type server; remove it']] },
    { name: 'an empty scope list', config: { authorizationServers: { google: { scopes: { imap: [] } } } }, expect: [['error', 'authorizationServers.google.scopes.imap', 'must list at least one scope']] },
    { name: 'caFile missing', config: { authorizationServers: { google: { caFile: 'nope.pem' } } }, expect: (dir) => [['error', 'authorizationServers.google.caFile', UNREADABLE(join(dir, 'nope.pem'))]] },
    {
      name: 'caFile without a certificate',
      config: { authorizationServers: { google: { caFile: 'notes.txt' } } },
      expect: (dir) => [['error', 'authorizationServers.google.caFile', `${join(dir, 'notes.txt')} contains no PEM certificate; give a file with one or more -----BEGIN CERTIFICATE----- blocks`]],
    },
    {
      name: 'a bad server name',
      config: { authorizationServers: { 'acme/idp': { type: 'generic', issuer: 'https://idp.acme.example' } } },
      expect: [['error', 'authorizationServers.acme/idp', 'invalid server name; use 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit']],
    },
    {
      name: 'a mailbox on a server without a type gets no second error',
      config: { authorizationServers: { acme: { issuer: 'https://idp.acme.example' } }, mailboxes: { m: { ...MAILBOX, authorizationServer: 'acme' } } },
      expect: [['error', 'authorizationServers.acme.type', 'required; set one of: microsoft, google, generic']],
    },
  ]);
});

describe('config mailbox names', () => {
  runCases([
    {
      name: 'a name with a slash',
      config: { mailboxes: { 'sales/eu': MAILBOX } },
      expect: [['error', 'mailboxes.sales/eu', 'invalid mailbox name; use 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit (names appear in logs, URLs and metric labels)']],
    },
    {
      name: 'a name of 129 characters',
      config: { mailboxes: { ['a'.repeat(129)]: MAILBOX } },
      expect: [['error', `mailboxes.${'a'.repeat(129)}`, 'invalid mailbox name; use 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit (names appear in logs, URLs and metric labels)']],
    },
    { name: 'dots, dashes and underscores are fine', config: { mailboxes: { 'sales.eu_2-imap': MAILBOX } }, expect: [] },
  ]);
});

test('problems carry positions for section rules too', async () => {
  const result = await loadObject({ server: { listen: ['tcp://0.0.0.0:1'] }, mailboxes: { m: MAILBOX } });
  assert.deepEqual(
    problemsOf(result).map((p) => [p.line, p.column]),
    [[3, 7]],
  );
});
