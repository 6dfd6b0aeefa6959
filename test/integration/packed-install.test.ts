// The npm package as a user gets it: `npm pack`, then `npm install -g` of the
// tarball with the command docs/packaging.md gives, into a temporary prefix,
// from a folder outside the repo, as on a clean machine. Then the installed
// `token-broker` runs `--version`, `demo`, and `serve` (SQLite store, so
// sqlite3's native binding must have been built by its install script)
// against the sandbox authorization server, with `token` and `status` asked
// of it. docs/packaging.md explains every choice tested here.
//
// The install compiles sqlite3 from source where no prebuilt binary can be
// downloaded (only the npm registry is reachable): one to five minutes on two
// shared cores. node's test runner applies --test-timeout to a whole file, so
// this file runs alone after the others (`npm run test:packed`, in `npm test`)
// with a long timeout. It prints progress to stderr.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSandbox } from '../../src/sandbox/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { retryWhile } from '../support/assertions.js';
import { healthCheck, runCli } from '../support/daemon-process.js';
import { UNCOVERED_INSTALL_SCRIPTS, cleanNpmEnvironment, registryUnreachable, runNpm, runProgram } from '../support/npm.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const MANIFEST = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { name: string; version: string };
/** The sqlite3 compile alone took four minutes on two cores shared with other builds. */
const INSTALL_TIMEOUT_MS = 20 * 60_000;
const COMMAND_TIMEOUT_MS = 120_000;

const MAILBOX = 'packed-imap';
const TENANT_ID = randomUUID();
const CLIENT_ID = randomUUID();
const SECRET = `s3cret-${randomUUID()}`;

function progress(message: string): void {
  process.stderr.write(`packed-install: ${message}\n`);
}

/** The `--allow-scripts=...` of the `npm install -g` line in docs/packaging.md: the test installs as the docs say. */
function documentedAllowScripts(): string {
  const page = readFileSync(path.join(REPO, 'docs', 'packaging.md'), 'utf8');
  const line = page.split('\n').find((candidate) => candidate.startsWith('npm install -g '));
  assert.ok(line !== undefined, 'docs/packaging.md has no "npm install -g ..." line');
  const flag = /(?:^|\s)(--allow-scripts=\S+)/.exec(line)?.[1];
  assert.ok(flag !== undefined, `docs/packaging.md: "${line}" has no --allow-scripts=...`);
  return flag;
}

interface PackResult {
  readonly filename: string;
  readonly files: readonly { readonly path: string }[];
}

describe('the npm package', () => {
  let work: string;
  let tarball: string;
  let files: Set<string>;
  let extracted: string;

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'tb-packed-'));
    progress(`npm pack into ${work}`);
    // --ignore-scripts: no prepack build here. `npm test` built dist/ just
    // before, and this file may also run beside others (node --test on a
    // list), whose files a rebuild would rewrite under them.
    const packed = await runNpm(['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: REPO, timeoutMs: COMMAND_TIMEOUT_MS });
    assert.equal(packed.code, 0, `npm pack failed:\n${packed.stderr}`);
    const [result] = JSON.parse(packed.stdout) as PackResult[];
    assert.ok(result !== undefined, `npm pack --json printed no package:\n${packed.stdout}`);
    tarball = path.join(work, result.filename);
    files = new Set(result.files.map((file) => file.path));
    extracted = path.join(work, 'extracted');
    await mkdir(extracted);
    const untar = await runProgram('tar', ['-xzf', tarball, '-C', extracted], { cwd: work, timeoutMs: COMMAND_TIMEOUT_MS });
    assert.equal(untar.code, 0, untar.stderr);
  });

  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  test('holds the compiled code, proto, example config, schema and systemd files, and no tests or secrets', () => {
    const required = [
      'package.json',
      'dist/src/cli/main.js',
      'dist/src/index.d.ts',
      'dist/src/client/index.js',
      'proto/tokenbroker/v1/broker.proto',
      'config/broker.example.yaml',
      'schema/broker.schema.json',
      'systemd/token-broker.service',
      'systemd/token-broker.sysusers.conf',
      'systemd/token-broker.tmpfiles.conf',
    ];
    for (const file of required) {
      assert.ok(files.has(file), `${file} is missing from the package`);
    }
    const unwanted = [...files].filter(
      (file) =>
        /^(dist\/)?(test|bench|examples|coverage|\.ci|scripts)\//.test(file) ||
        /(^|\/)(\.npmrc|\.env[^/]*|[^/]*\.(pem|key|p12|pfx|sqlite|log))$/.test(file),
    );
    assert.deepEqual(unwanted, [], 'files that have no place in the package');
  });

  test("the example config's $schema comment names the schema file in the package", async () => {
    const example = await readFile(path.join(extracted, 'package', 'config', 'broker.example.yaml'), 'utf8');
    const reference = /^# yaml-language-server: \$schema=(\S+)$/m.exec(example)?.[1];
    assert.ok(reference !== undefined, 'config/broker.example.yaml has no "# yaml-language-server: $schema=..." line');
    assert.ok(files.has(path.posix.normalize(path.posix.join('config', reference))), `${reference} (from config/) is not in the package`);
  });

  test('every source map names only files that are in the package', async () => {
    const maps = [...files].filter((file) => file.endsWith('.map'));
    assert.ok(maps.length > 0, 'the package has no source maps: did the build change?');
    const missing: string[] = [];
    for (const map of maps) {
      const parsed = JSON.parse(await readFile(path.join(extracted, 'package', map), 'utf8')) as { sources: string[]; sourceRoot?: string };
      for (const source of parsed.sources) {
        const inPackage = path.posix.normalize(path.posix.join(path.posix.dirname(map), parsed.sourceRoot ?? '', source));
        if (!files.has(inPackage)) missing.push(`${map} -> ${inPackage}`);
      }
    }
    assert.deepEqual(missing.slice(0, 10), [], `${missing.length} source map sources are not in the package`);
  });

  test('token-broker --version prints the package version, not that of the npm script that runs it', async () => {
    // npm sets npm_package_version to the version of whichever project's
    // script is running: a connector's `"start": "token-broker serve"` too.
    const result = await runCli(['--version'], { npm_package_version: '0.0.0-another-project' });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), MANIFEST.version);
  });

  describe('installed globally from the tarball', async () => {
    const unreachable = await registryUnreachable(REPO);
    const skip = unreachable !== undefined && process.env.CI !== 'true' ? `no npm registry: ${unreachable}` : false;
    if (skip !== false) process.stderr.write(`\n*** SKIPPED packed-install: ${skip}; the packed install is not tested on this machine ***\n\n`);

    let prefix: string;
    let bin: string;
    let installOutput = '';
    let sandbox: Sandbox;

    before(
      async () => {
        if (skip !== false) return;
        prefix = path.join(work, 'prefix');
        bin = path.join(prefix, 'bin', 'token-broker');
        const allowScripts = documentedAllowScripts();
        const started = Date.now();
        progress(`npm install -g ${allowScripts} --prefix ${prefix} ${path.basename(tarball)} (builds sqlite3; may take minutes)`);
        const install = await runNpm(
          ['install', '-g', allowScripts, '--prefix', prefix, '--prefer-offline', '--loglevel=warn', '--no-audit', '--no-fund', tarball],
          { cwd: work, timeoutMs: INSTALL_TIMEOUT_MS },
        );
        progress(`npm install -g exited ${String(install.code)} after ${Math.round((Date.now() - started) / 1000)} s`);
        installOutput = `${install.stdout}\n${install.stderr}`;
        assert.equal(install.code, 0, `npm install -g failed:\n${installOutput}`);
        sandbox = await startSandbox();
        sandbox.registerApplication({ tenantId: TENANT_ID, clientId: CLIENT_ID, clientSecret: SECRET });
      },
      { timeout: INSTALL_TIMEOUT_MS + 60_000 },
    );

    after(async () => {
      await sandbox?.close();
    });

    test('prints no "not yet covered by allowScripts" warning', { skip }, () => {
      assert.doesNotMatch(installOutput, UNCOVERED_INSTALL_SCRIPTS, installOutput);
      assert.ok(existsSync(bin), `${bin} was not installed`);
    });

    test('token-broker --version', { skip }, async () => {
      const result = await runProgram(bin, ['--version'], { cwd: work, timeoutMs: COMMAND_TIMEOUT_MS, env: cleanNpmEnvironment({ npm_package_version: '0.0.0-another-project' }) });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.trim(), MANIFEST.version);
    });

    test('token-broker demo gets a token from the installed package', { skip }, async () => {
      progress('token-broker demo');
      const result = await runProgram(bin, ['demo'], { cwd: work, timeoutMs: COMMAND_TIMEOUT_MS });
      assert.equal(result.code, 0, `demo failed:\n${result.stdout}\n${result.stderr}`);
      assert.match(result.stdout, /access_token {2}eyJ/);
      assert.match(result.stdout, /the same token, from the broker's cache/);
    });

    describe('token-broker serve from the installed package', { skip }, () => {
      let directory: string;
      let address: string;
      let serve: InstalledServe;

      before(async () => {
        directory = path.join(work, 'serve');
        address = `unix://${path.join(directory, 'broker.sock')}`;
        const configFile = await writeServeFolder(directory, sandbox, brokerConfig(address, sandbox, 'sqlite://tokens.sqlite'));
        progress(`token-broker serve --config ${configFile}`);
        serve = startInstalledServe(bin, configFile);
        await waitUntilServing(serve, address);
      });

      after(async () => {
        await serve?.kill();
      });

      test('token prints a token the authorization server issued', async () => {
        const result = await runProgram(bin, ['token', MAILBOX, '--socket', address], { cwd: directory, timeoutMs: COMMAND_TIMEOUT_MS });
        assert.equal(result.code, 0, `token failed:\n${result.stderr}\nserve:\n${serve.output()}`);
        assert.notEqual(sandbox.verifyAccessToken(result.stdout.trim()), undefined, 'the printed token was not issued by the sandbox');
      });

      test('status shows the mailbox ready', async () => {
        const result = await runProgram(bin, ['status', '--json', '--socket', address], { cwd: directory, timeoutMs: COMMAND_TIMEOUT_MS });
        assert.equal(result.code, 0, result.stderr);
        const statuses = JSON.parse(result.stdout) as { mailbox: string; state: string }[];
        assert.deepEqual(
          statuses.map((status) => [status.mailbox, status.state]),
          [[MAILBOX, 'READY']],
        );
      });

      test('SIGTERM stops it with exit code 0', async () => {
        serve.child.kill('SIGTERM');
        assert.equal(await serve.exited, 0, serve.output());
      });
    });

    // What a user gets when sqlite3's install script did not run: installed
    // with --ignore-scripts, or by a later npm that skips scripts nobody
    // allowed. No native binding is built.
    describe('installed with --ignore-scripts (sqlite3 not built)', { skip }, () => {
      let noScriptsBin: string;

      before(
        async () => {
          const noScriptsPrefix = path.join(work, 'prefix-no-scripts');
          noScriptsBin = path.join(noScriptsPrefix, 'bin', 'token-broker');
          progress(`npm install -g --ignore-scripts --prefix ${noScriptsPrefix}`);
          const install = await runNpm(
            ['install', '-g', '--ignore-scripts', '--prefix', noScriptsPrefix, '--prefer-offline', '--loglevel=warn', '--no-audit', '--no-fund', tarball],
            { cwd: work, timeoutMs: INSTALL_TIMEOUT_MS },
          );
          assert.equal(install.code, 0, `npm install -g --ignore-scripts failed:\n${install.stdout}\n${install.stderr}`);
        },
        { timeout: INSTALL_TIMEOUT_MS + 60_000 },
      );

      test('serve with a memory store still serves tokens', async () => {
        const directory = path.join(work, 'no-scripts-memory');
        const address = `unix://${path.join(directory, 'broker.sock')}`;
        const configFile = await writeServeFolder(directory, sandbox, brokerConfig(address, sandbox, 'memory:'));
        const serve = startInstalledServe(noScriptsBin, configFile);
        try {
          await waitUntilServing(serve, address);
          const result = await runProgram(noScriptsBin, ['token', MAILBOX, '--socket', address], { cwd: directory, timeoutMs: COMMAND_TIMEOUT_MS });
          assert.equal(result.code, 0, `token failed:\n${result.stderr}\nserve:\n${serve.output()}`);
        } finally {
          await serve.kill();
        }
      });

      test('demo (a sqlite store) fails saying how to install sqlite3, not with a stack trace', async () => {
        const result = await runProgram(noScriptsBin, ['demo'], { cwd: work, timeoutMs: COMMAND_TIMEOUT_MS });
        const output = `${result.stdout}\n${result.stderr}`;
        assert.equal(result.code, 1, output);
        assert.doesNotMatch(output, /unexpected error|\n\s+at /, output);
        assert.match(result.stderr, /^token-broker: token store .* is unavailable: .*sqlite3.*--allow-scripts=sqlite3/m, output);
      });

      test('serve with a sqlite store stops with store_unavailable, saying how to install sqlite3', async () => {
        const directory = path.join(work, 'no-scripts-sqlite');
        const address = `unix://${path.join(directory, 'broker.sock')}`;
        const configFile = await writeServeFolder(directory, sandbox, brokerConfig(address, sandbox, 'sqlite://tokens.sqlite'));
        const result = await runProgram(noScriptsBin, ['serve', '--config', configFile], { cwd: directory, timeoutMs: COMMAND_TIMEOUT_MS });
        const output = `${result.stdout}\n${result.stderr}`;
        assert.equal(result.code, 1, output);
        assert.doesNotMatch(output, /unexpected error|\n\s+at /, output);
        assert.match(output, /store_unavailable/, output);
        assert.match(output, /sqlite3/, output);
        assert.match(output, /--allow-scripts=sqlite3/, output);
      });
    });
  });
});

/** A client-credentials mailbox against the sandbox, on `address`, with the given store. */
function brokerConfig(address: string, sandbox: Sandbox, storeUrl: string): string {
  return `server:
  listen: ["${address}"]
store:
  url: "${storeUrl}"
  encryptionKeyFile: store.key
authorizationServers:
  microsoft:
    authorityHost: ${sandbox.url}
    caFile: ca.pem
mailboxes:
  ${MAILBOX}:
    protocol: imap
    grantType: client-credentials
    tenantId: ${TENANT_ID}
    clientId: ${CLIENT_ID}
    clientSecretFile: secret
    username: packed@contoso.example
`;
}

/** Makes `directory` with the config, the sandbox's CA, the client secret and a store key; returns the config file. */
async function writeServeFolder(directory: string, sandbox: Sandbox, config: string): Promise<string> {
  await mkdir(directory, { recursive: true });
  await writeFile(path.join(directory, 'ca.pem'), sandbox.caCertificatePem);
  await writeFile(path.join(directory, 'secret'), `${SECRET}\n`, { mode: 0o600 });
  await writeFile(path.join(directory, 'store.key'), `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  const configFile = path.join(directory, 'broker.yaml');
  await writeFile(configFile, config);
  return configFile;
}

interface InstalledServe {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  output(): string;
  /** SIGKILL unless it has exited already. */
  kill(): Promise<void>;
}

/** `token-broker serve --config FILE` of an installed package, run from the config's folder. */
function startInstalledServe(bin: string, configFile: string): InstalledServe {
  const child = spawn(bin, ['serve', '--config', configFile], { cwd: path.dirname(configFile), env: cleanNpmEnvironment(), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    exited,
    output: () => output,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Until its health service answers SERVING; fails at once when it has exited. */
async function waitUntilServing(serve: InstalledServe, address: string): Promise<void> {
  const running = (): boolean => serve.child.exitCode === null && serve.child.signalCode === null;
  await retryWhile(
    async () => {
      assert.ok(running(), `serve exited (${String(serve.child.exitCode ?? serve.child.signalCode)}) before serving:\n${serve.output()}`);
      assert.match(await healthCheck(address), /^(SERVING|1)$/);
    },
    running,
    60_000,
  );
}
