// The `token-broker` command line: exit codes, help, validate, and the client
// commands against a running daemon. What a command says runs in-process
// (runCliInProcess); the real binary is run where the process is the point:
// an exit code through main.js, the demo, a token printed on stdout.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSandbox } from '../../src/sandbox/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { runCliInProcess } from '../support/cli-in-process.js';
import { runCli, startDaemonProcess } from '../support/daemon-process.js';
import type { DaemonProcess } from '../support/daemon-process.js';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/config/', import.meta.url));

describe('token-broker command line', () => {
  test('validate on a valid file exits 0', async () => {
    const result = await runCliInProcess(['validate', '--config', path.join(FIXTURES, 'valid-client-credentials.yaml')]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /valid/);
  });

  test('validate lists every mistake with its path and line, and exits 78', async () => {
    const file = path.join(FIXTURES, 'many-mistakes.yaml');
    const result = await runCli(['validate', '--config', file]);
    assert.equal(result.code, 78);
    const errorLines = result.stderr.split('\n').filter((line) => line.includes(': error: '));
    assert.ok(errorLines.length >= 8, `expected at least 8 errors, got:\n${result.stderr}`);
    for (const line of errorLines) {
      assert.match(line, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: error: [a-zA-Z]`), line);
    }
  });

  test('validate reads $TOKEN_BROKER_CONFIG when --config is not given', async () => {
    const result = await runCliInProcess(['validate'], { TOKEN_BROKER_CONFIG: path.join(FIXTURES, 'many-mistakes.yaml') });
    assert.equal(result.code, 78);
  });

  test('validate on a missing file says so and exits 78', async () => {
    const result = await runCliInProcess(['validate', '--config', '/nonexistent/broker.yaml']);
    assert.equal(result.code, 78);
    assert.match(result.stderr, /\/nonexistent\/broker\.yaml/);
  });

  test('serve with an invalid config exits 78 without listening', async () => {
    const result = await runCliInProcess(['serve', '--config', path.join(FIXTURES, 'many-mistakes.yaml')]);
    assert.equal(result.code, 78);
    assert.match(result.stderr, /error:/);
  });

  test('serve with a store key file that is not a key exits 78, naming the file', async () => {
    const directory = await mkdtemp(path.join(tmpdir(), 'tb-cli-key-'));
    try {
      await writeFile(path.join(directory, 'store.key'), 'not a key\n', { mode: 0o600 });
      await writeFile(
        path.join(directory, 'broker.yaml'),
        `server: { listen: ["unix://${path.join(directory, 'broker.sock')}"] }\nstore: { url: "sqlite://tokens.sqlite", encryptionKeyFile: store.key }\nmailboxes: {}\n`,
      );
      const result = await runCliInProcess(['serve', '--config', path.join(directory, 'broker.yaml')]);
      assert.equal(result.code, 78, result.stderr);
      assert.match(result.stderr, /store\.key/);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  test('usage errors exit 2', async () => {
    assert.equal((await runCli(['no-such-command'])).code, 2);
    assert.equal((await runCliInProcess(['token'])).code, 2);
    assert.equal((await runCliInProcess(['serve', '--log-level', 'loud', '--config', path.join(FIXTURES, 'valid-client-credentials.yaml')])).code, 2);
  });

  test('--help of every command is accurate and exits 0', async () => {
    const top = await runCliInProcess(['--help']);
    assert.equal(top.code, 0);
    for (const command of ['serve', 'validate', 'authorize', 'token', 'status', 'reload', 'demo']) assert.match(top.stdout, new RegExp(`\\b${command}\\b`));
    assert.match(top.stdout, /reload \[options\]\s+make the running daemon re-read its config\s+file; print what changed or what is wrong/);
    const expectations: Record<string, RegExp[]> = {
      serve: [/--config <file>/, /--log-level <level>/, /TOKEN_BROKER_CONFIG/, /TOKEN_BROKER_LOG_LEVEL/, /SIGHUP/, /--no-watch-config/],
      validate: [/--config <file>/, /78/],
      token: [/<mailbox>/, /--xoauth2/, /--socket <address>/, /--key-file <file>/, /TOKEN_BROKER_ADDRESS/],
      status: [/--json/, /--socket <address>/],
      authorize: [/<mailbox>/, /--socket <address>/, /--redirect-url <url>/, /pasted/],
      reload: [
        /Usage: token-broker reload \[options\]/,
        /re-read its config file \(as SIGHUP and systemctl\s+reload\s+do\)/,
        /exit 0 when applied, 1 when not: the problems are listed and the daemon keeps\s+its\s+running\s+config/,
        /Needs an admin client key \(admin: true\) when server\.clients is set/,
        /--socket <address>/,
        /--key-file <file>/,
        /TOKEN_BROKER_ADDRESS/,
      ],
      demo: [/authorization server/],
    };
    for (const [command, patterns] of Object.entries(expectations)) {
      const help = await runCliInProcess([command, '--help']);
      assert.equal(help.code, 0, command);
      for (const pattern of patterns) assert.match(help.stdout, pattern, `${command} --help should match ${String(pattern)}`);
    }
  });

  test('client commands say how to reach the daemon when it is not running', async () => {
    const result = await runCliInProcess(['status', '--socket', 'unix:///nonexistent/broker.sock']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /cannot reach the token-broker daemon at unix:\/\/\/nonexistent\/broker\.sock/);
    assert.match(result.stderr, /--socket or \$TOKEN_BROKER_ADDRESS/);
  });

  describe('against a running daemon', () => {
    const tenantId = randomUUID();
    const clientId = randomUUID();
    const secret = randomUUID();
    let directory: string;
    let sandbox: Sandbox;
    let daemon: DaemonProcess;
    let address: string;

    before(async () => {
      directory = await mkdtemp(path.join(tmpdir(), 'tb-cli-'));
      sandbox = await startSandbox();
      sandbox.registerApplication({ tenantId, clientId, clientSecret: secret });
      await writeFile(path.join(directory, 'ca.pem'), sandbox.caCertificatePem);
      address = `unix://${path.join(directory, 'broker.sock')}`;
      const configFile = path.join(directory, 'broker.yaml');
      await writeFile(
        configFile,
        `server: { listen: ["${address}"] }
store: { url: "memory:" }
authorizationServers:
  microsoft: { authorityHost: "${sandbox.url}", caFile: ca.pem }
mailboxes:
  support-pop:
    protocol: pop3
    grantType: client-credentials
    tenantId: ${tenantId}
    clientId: ${clientId}
    clientSecret: ${secret}
    username: support@contoso.example
`,
      );
      daemon = await startDaemonProcess(configFile, address);
    });

    after(async () => {
      await daemon?.stop();
      await sandbox?.close();
      await rm(directory, { recursive: true, force: true });
    });

    test('token prints the bare access token; --xoauth2 the SASL string', async () => {
      const plain = await runCli(['token', 'support-pop', '--socket', address]);
      assert.equal(plain.code, 0, plain.stderr);
      const accessToken = plain.stdout.trim();
      assert.ok(sandbox.verifyAccessToken(accessToken), 'printed token verifies against the sandbox');
      const sasl = await runCliInProcess(['token', 'support-pop', '--xoauth2'], { TOKEN_BROKER_ADDRESS: address });
      assert.equal(sasl.code, 0, sasl.stderr);
      assert.equal(Buffer.from(sasl.stdout.trim(), 'base64').toString(), `user=support@contoso.example\x01auth=Bearer ${accessToken}\x01\x01`);
    });

    test('token for an unknown mailbox exits 1 with the reason', async () => {
      const result = await runCliInProcess(['token', 'nope', '--socket', address]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /no mailbox named "nope"/);
    });

    test('status shows a table, --json the same as data', async () => {
      const table = await runCliInProcess(['status', '--socket', address]);
      assert.equal(table.code, 0, table.stderr);
      const lines = table.stdout.trim().split('\n');
      assert.match(lines[0] ?? '', /^MAILBOX\s+STATE\s+TOKEN EXPIRES\s+REFRESH TOKEN USED\s+FORECAST\s+LAST ERROR$/);
      assert.match(lines[1] ?? '', /^support-pop\s+ready\s+\d{4}-\d\d-\d\dT/);
      const json = await runCliInProcess(['status', '--json', '--socket', address]);
      const parsed = JSON.parse(json.stdout) as { mailbox: string; state: string }[];
      assert.deepEqual(parsed.map((entry) => [entry.mailbox, entry.state]), [['support-pop', 'READY']]);
    });

    test('authorize on a client-credentials mailbox acquires a token at once and shows what it is for', async () => {
      // The start-up warm-up's request is over once a token is served: count from there.
      assert.equal((await runCliInProcess(['token', 'support-pop', '--socket', address])).code, 0);
      const before = sandbox.stats.total;
      const result = await runCliInProcess(['authorize', 'support-pop', '--socket', address]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(sandbox.stats.total, before + 1, 'authorize made no token request: it must prove the credentials now');
      assert.match(result.stdout, /^Mailbox support-pop \(CLIENT_CREDENTIALS\): a token was acquired; its credentials work\.$/m);
      assert.match(result.stdout, /^ {2}audience: {5}https:\/\/outlook\.office365\.com$/m);
      // The sandbox's application tokens carry no roles: the scope granted stands in (Entra's carry POP.AccessAsApp).
      assert.match(result.stdout, /^ {2}for: {10}[0-9a-f-]{36}$/m);
      assert.match(result.stdout, /^ {2}permissions: {2}https:\/\/outlook\.office365\.com\/\.default$/m);
      assert.match(result.stdout, /^ {2}expires: {6}\d{4}-\d\d-\d\dT/m);
      assert.doesNotMatch(result.stdout, /eyJ[\w-]{20,}\./, 'no token in the output');
    });

    test('authorize on a client-credentials mailbox whose secret is refused exits 1 with the remediation', async () => {
      sandbox.failNext({ status: 401, error: 'invalid_client', aadsts: 7000215, description: 'Invalid client secret provided.' });
      const result = await runCliInProcess(['authorize', 'support-pop', '--socket', address]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /AADSTS7000215/);
      assert.match(result.stderr, /client secret/i);
    });
  });

  test('demo runs end to end, exits 0 and never prints a whole token', async () => {
    const result = await runCli(['demo'], {}, 120_000);
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /access_token\s+\S{8}…\S{4} \(\d+ characters\)/);
    assert.match(result.stdout, /the same token, from the broker's cache; the authorization server saw 1 token request in all/);
    assert.match(result.stdout, /To go live:/);
    assert.doesNotMatch(result.stdout, /eyJ[\w-]{20,}\.[\w-]{20,}\.[\w-]{20,}/, 'no complete JWT in the output');
  });
});
