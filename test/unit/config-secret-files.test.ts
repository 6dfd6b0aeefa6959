// Files the config names (every `*File` key, the CA bundles, the config file
// itself) are read through one reader: regular files only, so a FIFO cannot
// hang `validate` or a reload and an endless device cannot grow memory; a
// size cap; and a warning (an error under --strict) when others may read a
// secret. The FIFOs, sockets and devices here are real ones.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, constants, openSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/index.js';
import { makeCertificate } from '../support/certificates.js';
import { runCliInProcess } from '../support/cli-in-process.js';
import { CLIENT, configOf, loadObject, NOW, TENANT, tempDir, triples } from '../support/config-helpers.js';

const DAY = 24 * 60 * 60 * 1000;
const KIB = 1024;

const isFifo = (file: string): string => `${file} is a named pipe (FIFO), not a regular file; give the path of a regular file`;
const readableByOthers = (file: string, mode: string): string => `${file} can be read by other users (mode ${mode}); restrict it: chmod 600 ${file}`;
const refusedUnderStrict = (file: string, mode: string): string => `${file} can be read by other users (mode ${mode}), which --strict refuses; restrict it: chmod 600 ${file}`;

function ccMailbox(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { protocol: 'imap', grantType: 'client-credentials', tenantId: TENANT, clientId: CLIENT, clientSecret: 'x', username: 'u@contoso.example', ...extra };
}

function ccMailboxWithSecretFile(file: string): Record<string, unknown> {
  return ccMailbox({ clientSecret: undefined, clientSecretFile: file });
}

/** A file with exactly `mode`, whatever the umask. */
async function writeWithMode(file: string, content: string | Buffer, mode: number): Promise<string> {
  await writeFile(file, content);
  await chmod(file, mode);
  return file;
}

const fifos: string[] = [];

function makeFifo(file: string): string {
  execFileSync('mkfifo', ['-m', '600', file]);
  fifos.push(file);
  return file;
}

/**
 * A reader stuck opening a FIFO (the old, blocking way) holds a thread of
 * libuv's pool for good, and four of them stop every file operation of the
 * process: opening the FIFO for writing lets such a reader through to an
 * end of file, so one failing test cannot hang the next.
 */
afterEach(() => {
  for (const fifo of fifos.splice(0)) {
    try {
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // ENXIO: nobody is reading it; nothing to release.
    }
  }
});

describe('config files that are not regular files', () => {
  let dir = '';
  let socketServer: Server;
  let socketFile = '';

  before(async () => {
    dir = await tempDir('config-secret-files-');
    const certificate = makeCertificate(NOW - DAY, NOW + 365 * DAY, 'broker.example');
    await writeWithMode(join(dir, 'server.pem'), certificate.certificatePem, 0o644);
    await writeWithMode(join(dir, 'server.key'), certificate.keyPem, 0o600);
    await writeWithMode(join(dir, 'app.pem'), certificate.certificatePem + certificate.keyPem, 0o600);
    await mkdir(join(dir, 'a-folder'));
    socketFile = join(dir, 'a-socket');
    socketServer = createServer();
    await new Promise<void>((resolve) => socketServer.listen(socketFile, resolve));
  });

  after(() => socketServer?.close());

  test('a FIFO as clientSecretFile: the load returns, with a problem naming the key, the file and what it is', async () => {
    const fifo = makeFifo(join(dir, 'client-secret.fifo'));
    const result = await loadObject({ mailboxes: { m: ccMailboxWithSecretFile(fifo) } }, { dir });
    assert.deepEqual(triples(result), [['error', 'mailboxes.m.clientSecretFile', isFifo(fifo)]]);
  });

  const certificateMailbox = (certificate: Record<string, unknown>): Record<string, unknown> =>
    ccMailbox({ clientSecret: undefined, authenticationMode: 'certificate', certificate: { file: 'app.pem', thumbprint: '0'.repeat(40), ...certificate } });
  const fifoCases: { key: string; config: (fifo: string) => Record<string, unknown> }[] = [
    { key: 'mailboxes.m.passwordFile', config: (fifo) => ({ mailboxes: { m: { protocol: 'graph', grantType: 'ropc', tenantId: TENANT, clientId: CLIENT, username: 'u@contoso.example', passwordFile: fifo } } }) },
    { key: 'mailboxes.m.certificate.file', config: (fifo) => ({ mailboxes: { m: certificateMailbox({ file: fifo }) } }) },
    { key: 'mailboxes.m.certificate.passwordFile', config: (fifo) => ({ mailboxes: { m: certificateMailbox({ passwordFile: fifo }) } }) },
    { key: 'proxies.p.passwordFile', config: (fifo) => ({ proxies: { p: { url: 'http://proxy:3128', username: 'svc', passwordFile: fifo } }, mailboxes: { m: ccMailbox() } }) },
    { key: 'authorizationServers.microsoft.caFile', config: (fifo) => ({ authorizationServers: { microsoft: { caFile: fifo } }, mailboxes: { m: ccMailbox() } }) },
    { key: 'server.clients[0].keyFile', config: (fifo) => ({ server: { clients: [{ name: 'c', keyFile: fifo, mailboxes: ['m'] }] }, mailboxes: { m: ccMailbox() } }) },
    { key: 'server.tls.certFile', config: (fifo) => ({ server: { tls: { certFile: fifo, keyFile: 'server.key' } }, mailboxes: { m: ccMailbox() } }) },
    { key: 'server.tls.keyFile', config: (fifo) => ({ server: { tls: { certFile: 'server.pem', keyFile: fifo } }, mailboxes: { m: ccMailbox() } }) },
    { key: 'server.tls.clientCaFile', config: (fifo) => ({ server: { tls: { certFile: 'server.pem', keyFile: 'server.key', clientCaFile: fifo } }, mailboxes: { m: ccMailbox() } }) },
    { key: 'store.encryptionKeyFile', config: (fifo) => ({ store: { url: 'sqlite://tokens.sqlite', encryptionKeyFile: fifo }, mailboxes: { m: ccMailbox() } }) },
    { key: 'store.previousEncryptionKeyFiles[0]', config: (fifo) => ({ store: { url: 'memory:', previousEncryptionKeyFiles: [fifo] }, mailboxes: { m: ccMailbox() } }) },
  ];
  for (const c of fifoCases) {
    test(`a FIFO as ${c.key} is refused, and the load returns`, async () => {
      const fifo = makeFifo(join(dir, `${c.key.replace(/[^A-Za-z0-9]+/g, '-')}.fifo`));
      const result = await loadObject(c.config(fifo), { dir });
      assert.equal(result.ok, false);
      assert.deepEqual(
        triples(result).filter(([, path]) => path === c.key),
        [['error', c.key, isFifo(fifo)]],
      );
    });
  }

  const kinds: { name: string; file: () => string; what: string }[] = [
    { name: 'a directory', file: () => join(dir, 'a-folder'), what: 'a directory' },
    { name: 'an endless device, /dev/zero', file: () => '/dev/zero', what: 'a character device' },
    { name: 'an empty device, /dev/null', file: () => '/dev/null', what: 'a character device' },
    { name: 'a unix socket', file: () => socketFile, what: 'a socket' },
  ];
  for (const c of kinds) {
    test(`${c.name} as passwordFile is refused, saying what it is`, async () => {
      const file = c.file();
      const result = await loadObject({ proxies: { p: { url: 'http://proxy:3128', username: 'svc', passwordFile: file } }, mailboxes: { m: ccMailbox() } }, { dir });
      assert.deepEqual(triples(result), [['error', 'proxies.p.passwordFile', `${file} is ${c.what}, not a regular file; give the path of a regular file`]]);
    });
  }

  test('a FIFO as the config file itself is refused, and the load returns', async () => {
    const fifo = makeFifo(join(dir, 'broker.yaml.fifo'));
    const result = await loadConfig(fifo);
    assert.deepEqual(result, { ok: false, problems: [{ severity: 'error', path: '', message: `config file ${isFifo(fifo)}` }] });
  });
});

describe('config file size limits', () => {
  test('a secret file may hold 64 KiB, not one byte more', async () => {
    const dir = await tempDir('config-secret-size-');
    const fits = await writeWithMode(join(dir, 'fits'), 'a'.repeat(64 * KIB), 0o600);
    const tooBig = await writeWithMode(join(dir, 'too-big'), 'a'.repeat(64 * KIB + 1), 0o600);
    const config = configOf(await loadObject({ mailboxes: { m: ccMailboxWithSecretFile(fits) } }, { dir }));
    assert.equal(config.mailboxes.get('m')?.clientSecret?.reveal().length, 64 * KIB);
    const result = await loadObject({ mailboxes: { m: ccMailboxWithSecretFile(tooBig) } }, { dir });
    assert.deepEqual(triples(result), [['error', 'mailboxes.m.clientSecretFile', `${tooBig} is larger than 64 KiB, the limit for a secret file; check that it is the right file`]]);
  });

  test('a caFile may hold 1 MiB of certificates, not more', async () => {
    const dir = await tempDir('config-ca-size-');
    const pem = makeCertificate(NOW - DAY, NOW + 365 * DAY, 'ca').certificatePem;
    // Comments between PEM blocks are allowed in a bundle: they pad it to just over the limit.
    const tooBig = await writeWithMode(join(dir, 'ca.pem'), `${pem}${'#'.repeat(1024 * KIB)}\n`, 0o644);
    const result = await loadObject({ authorizationServers: { microsoft: { caFile: tooBig } }, mailboxes: { m: ccMailbox() } }, { dir });
    assert.deepEqual(triples(result), [['error', 'authorizationServers.microsoft.caFile', `${tooBig} is larger than 1 MiB, the limit for a certificate file; check that it is the right file`]]);
  });
});

describe('config secret files others may read', () => {
  let dir = '';
  before(async () => {
    dir = await tempDir('config-secret-mode-');
  });

  test('a secret file of mode 0644: a warning naming the key and the file, and what to run', async () => {
    const file = await writeWithMode(join(dir, 'secret-0644'), 'from-file\n', 0o644);
    const result = await loadObject({ mailboxes: { m: ccMailboxWithSecretFile(file) } }, { dir });
    assert.equal(result.ok, true);
    assert.deepEqual(triples(result), [['warning', 'mailboxes.m.clientSecretFile', readableByOthers(file, '0644')]]);
  });

  test('group-readable (0640) counts too; 0600 and 0400 do not', async () => {
    const group = await writeWithMode(join(dir, 'secret-0640'), 'from-file\n', 0o640);
    const owner = await writeWithMode(join(dir, 'secret-0600'), 'from-file\n', 0o600);
    const readOnly = await writeWithMode(join(dir, 'secret-0400'), 'from-file\n', 0o400);
    const result = await loadObject({ mailboxes: { a: ccMailboxWithSecretFile(group), b: ccMailboxWithSecretFile(owner), c: ccMailboxWithSecretFile(readOnly) } }, { dir });
    assert.deepEqual(triples(result), [['warning', 'mailboxes.a.clientSecretFile', readableByOthers(group, '0640')]]);
  });

  test('one warning per file, however many keys name it', async () => {
    const file = await writeWithMode(join(dir, 'shared-0644'), 'from-file\n', 0o644);
    const result = await loadObject({ mailboxes: { a: ccMailboxWithSecretFile(file), b: ccMailboxWithSecretFile(file) } }, { dir });
    assert.deepEqual(triples(result), [['warning', 'mailboxes.a.clientSecretFile', readableByOthers(file, '0644')]]);
  });

  test('every kind of secret file is checked: tls key, client key, certificate, store keys', async () => {
    const certificate = makeCertificate(NOW - DAY, NOW + 365 * DAY, 'broker.example');
    const serverPem = await writeWithMode(join(dir, 'server.pem'), certificate.certificatePem, 0o644);
    const serverKey = await writeWithMode(join(dir, 'server.key'), certificate.keyPem, 0o644);
    const clientKey = await writeWithMode(join(dir, 'client.key'), 'client-key\n', 0o604);
    const app = await writeWithMode(join(dir, 'app.pem'), certificate.certificatePem + certificate.keyPem, 0o644);
    const storeKey = await writeWithMode(join(dir, 'store.key'), `${randomBytes(32).toString('base64')}\n`, 0o644);
    const oldKey = await writeWithMode(join(dir, 'old.key'), `${randomBytes(32).toString('base64')}\n`, 0o644);
    const result = await loadObject(
      {
        server: { listen: ['tcp://127.0.0.1:50051'], tls: { certFile: serverPem, keyFile: serverKey }, clients: [{ name: 'c', keyFile: clientKey, mailboxes: ['m'] }] },
        store: { url: 'sqlite://tokens.sqlite', encryptionKeyFile: storeKey, previousEncryptionKeyFiles: [oldKey] },
        mailboxes: { m: ccMailbox({ clientSecret: undefined, authenticationMode: 'certificate', certificate: { file: app, thumbprint: certificate.sha1 } }) },
      },
      { dir },
    );
    assert.equal(result.ok, true);
    assert.deepEqual(
      triples(result).sort((a, b) => a[1].localeCompare(b[1])),
      [
        ['warning', 'mailboxes.m.certificate.file', readableByOthers(app, '0644')],
        ['warning', 'server.clients[0].keyFile', readableByOthers(clientKey, '0604')],
        ['warning', 'server.tls.keyFile', readableByOthers(serverKey, '0644')],
        ['warning', 'store.encryptionKeyFile', readableByOthers(storeKey, '0644')],
        ['warning', 'store.previousEncryptionKeyFiles[0]', readableByOthers(oldKey, '0644')],
      ],
      'the certificate the server presents is no secret',
    );
  });

  test('strict: the same finding is an error', async () => {
    const file = await writeWithMode(join(dir, 'strict-0644'), 'from-file\n', 0o644);
    const result = await loadConfigFile(dir, { mailboxes: { m: ccMailboxWithSecretFile(file) } }, 0o600, { strict: true });
    assert.deepEqual(result.ok ? result.warnings : result.problems.map(({ severity, path, message }) => ({ severity, path, message })), [
      { severity: 'error', path: 'mailboxes.m.clientSecretFile', message: refusedUnderStrict(file, '0644') },
    ]);
  });
});

/** Writes `config` as broker.yaml in `dir` with `mode` and loads it as serve and validate do. */
async function loadConfigFile(dir: string, config: Record<string, unknown>, mode: number, options: { strict?: boolean } = {}): ReturnType<typeof loadConfig> {
  const file = await writeWithMode(join(dir, 'broker.yaml'), stringify(config), mode);
  return loadConfig(file, { env: { SALES_SECRET: 'from-env' }, now: () => NOW, ...options });
}

describe('a config file others may read, holding secrets', () => {
  const inlineSecret = (file: string, mode: string): string =>
    `the config file ${file} holds this secret itself and can be read by every user (mode ${mode}); restrict it: chmod 600 ${file}, or move the secret out of it (into the key's *File variant, or \${NAME} from the environment)`;

  test('world-readable with a secret written in it: a warning naming the file and the key', async () => {
    const dir = await tempDir('config-mode-');
    const result = await loadConfigFile(dir, { mailboxes: { m: ccMailbox({ clientSecret: 'written-here' }) } }, 0o644);
    assert.deepEqual(triples(result), [['warning', 'mailboxes.m.clientSecret', inlineSecret(join(dir, 'broker.yaml'), '0644')]]);
  });

  test('world-readable, but every secret comes from the environment or a file: nothing to say', async () => {
    const dir = await tempDir('config-mode-');
    const secret = await writeWithMode(join(dir, 'secret'), 'from-file\n', 0o600);
    const result = await loadConfigFile(dir, { mailboxes: { a: ccMailbox({ clientSecret: '${SALES_SECRET}' }), b: ccMailboxWithSecretFile(secret) } }, 0o644);
    assert.deepEqual(triples(result), []);
  });

  test('a redis password in store.url is such a secret too; the warning names the first secret in the file and counts the others', async () => {
    const dir = await tempDir('config-mode-');
    const file = join(dir, 'broker.yaml');
    await writeWithMode(
      file,
      `store:\n  url: "redis://:written-here@127.0.0.1:6379/0"\nmailboxes:\n  m:\n${Object.entries(ccMailbox({ clientSecret: 'written-here-too' }))
        .map(([key, value]) => `    ${key}: ${String(value)}\n`)
        .join('')}`,
      0o644,
    );
    const result = await loadConfig(file, { env: {}, now: () => NOW });
    assert.deepEqual(triples(result), [
      ['warning', 'store.url', inlineSecret(file, '0644').replace('holds this secret itself', 'holds this secret (and 1 more) itself')],
    ]);
  });

  test('a redis password from the environment is not written in the file', async () => {
    const dir = await tempDir('config-mode-');
    const result = await loadConfigFile(dir, { store: { url: 'redis://:${SALES_SECRET}@127.0.0.1:6379/0' }, mailboxes: { m: ccMailbox({ clientSecret: '${SALES_SECRET}' }) } }, 0o644);
    assert.deepEqual(triples(result), []);
  });

  test('0640 with a secret written in it is fine: only world-readable counts for the config file', async () => {
    const dir = await tempDir('config-mode-');
    const result = await loadConfigFile(dir, { mailboxes: { m: ccMailbox({ clientSecret: 'written-here' }) } }, 0o640);
    assert.deepEqual(triples(result), []);
  });

  test('strict: an error, and the config does not load', async () => {
    const dir = await tempDir('config-mode-');
    const result = await loadConfigFile(dir, { mailboxes: { m: ccMailbox({ clientSecret: 'written-here' }) } }, 0o644, { strict: true });
    assert.equal(result.ok, false);
    assert.deepEqual(
      triples(result).map(([severity, path]) => [severity, path]),
      [['error', 'mailboxes.m.clientSecret']],
    );
  });
});

describe('token-broker validate and serve with such files', () => {
  test('validate with a FIFO as passwordFile returns, exit 78, naming the key and the FIFO', async () => {
    const dir = await tempDir('config-validate-fifo-');
    const fifo = makeFifo(join(dir, 'proxy-password'));
    const file = await writeWithMode(
      join(dir, 'broker.yaml'),
      stringify({ proxies: { p: { url: 'http://proxy:3128', username: 'svc', passwordFile: 'proxy-password' } }, mailboxes: { m: ccMailbox() } }),
      0o600,
    );
    const result = await runCliInProcess(['validate', '--config', file]);
    assert.equal(result.code, 78, result.stderr);
    assert.match(result.stderr, new RegExp(`error: proxies\\.p\\.passwordFile: ${escape(isFifo(fifo))}`));
  });

  test('validate warns about a secret file others may read; --strict makes it an error (exit 78); so does serve --strict', async () => {
    const dir = await tempDir('config-validate-strict-');
    const secret = await writeWithMode(join(dir, 'client-secret'), 'from-file\n', 0o644);
    const file = await writeWithMode(join(dir, 'broker.yaml'), stringify({ store: { url: 'memory:' }, mailboxes: { m: ccMailboxWithSecretFile('client-secret') } }), 0o600);

    const lenient = await runCliInProcess(['validate', '--config', file]);
    assert.equal(lenient.code, 0, lenient.stderr);
    assert.match(lenient.stderr, new RegExp(`warning: mailboxes\\.m\\.clientSecretFile: ${escape(readableByOthers(secret, '0644'))}`));

    const strict = await runCliInProcess(['validate', '--strict', '--config', file]);
    assert.equal(strict.code, 78, strict.stderr);
    assert.match(strict.stderr, new RegExp(`error: mailboxes\\.m\\.clientSecretFile: ${escape(refusedUnderStrict(secret, '0644'))}`));

    const serve = await runCliInProcess(['serve', '--strict', '--config', file]);
    assert.equal(serve.code, 78, serve.stderr);
    assert.match(serve.stderr, new RegExp(`error: mailboxes\\.m\\.clientSecretFile: ${escape(refusedUnderStrict(secret, '0644'))}`));
  });

  test('--strict is in the help of serve and validate', async () => {
    for (const command of ['serve', 'validate']) {
      const help = await runCliInProcess([command, '--help']);
      assert.match(help.stdout, /--strict\s+refuse\s+secret\s+files\s+\(and\s+a\s+config\s+file\s+holding\s+secrets\)\s+that\s+other\s+users\s+may\s+read/);
    }
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
