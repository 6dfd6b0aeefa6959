// A SQLite store that refuses writes, against the real daemon binary and the
// Entra-shaped sandbox (which rotates refresh tokens and refuses a replayed
// one with AADSTS70008). The store is made to fail by lowering the daemon's
// file-size limit (RLIMIT_FSIZE, with prlimit): SQLite's next append to its
// WAL file is refused by the kernel (EFBIG), so every commit fails with
// SQLITE_IOERR, as a full disk fails it with SQLITE_FULL (the write batcher
// treats both alike: tried again, then the callers fail with
// store_unavailable). Raising the limit again is the disk freed.
// The rotated refresh token must not be handed out while unstored, must be
// written once the store works, and must survive a SIGKILL and a restart.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { TokenBrokerClient } from '../../src/client/index.js';
import { startSandbox } from '../../src/sandbox/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { eventually } from '../support/assertions.js';
import { signInRedirect } from '../support/browser.js';
import { desktopAuthorizationCodeMailbox, sandboxBrokerConfig } from '../support/broker-environment.js';
import { startDaemonProcess } from '../support/daemon-process.js';
import type { DaemonProcess } from '../support/daemon-process.js';
import { requireSystemBinary } from '../support/system-binary.js';

const prlimit = requireSystemBinary('prlimit', 'install util-linux');
const run = promisify(execFile);

const TENANT = randomUUID();
const PUBLIC_APP = randomUUID();
const ALICE = 'alice@contoso.example';
const REDIRECT = 'https://broker.contoso.example/callback';
const MAILBOX = 'user-imap';

/** Sets the soft file-size limit of `pid` (the hard limit stays, so it can be raised again). */
async function limitFileSize(pid: number | undefined, limit: number | 'unlimited'): Promise<void> {
  assert.ok(pid !== undefined, 'the daemon has a pid');
  await run(prlimit.path(), ['--pid', String(pid), `--fsize=${limit}:`]);
}

/** How many writes of the line's record the daemon has logged as refused. */
function refusedWrites(daemon: DaemonProcess): number {
  return daemon.stderr().split('\n').filter((line) => line.includes('"code":"store_unavailable"') && line.includes(MAILBOX)).length;
}

describe('a store that refuses writes: no token handed out unstored, no refresh token lost (SQLite, real daemon)', { skip: prlimit.skip }, () => {
  let sandbox: Sandbox;
  let directory: string;
  let address: string;
  let configFile: string;
  let daemon: DaemonProcess | undefined;
  let client: TokenBrokerClient | undefined;
  const issuedRefreshTokens: string[] = [];

  const start = async (): Promise<TokenBrokerClient> => {
    daemon = await startDaemonProcess(configFile, address);
    client = new TokenBrokerClient({ address });
    return client;
  };

  const kill = async (): Promise<void> => {
    client?.close();
    client = undefined;
    const child = daemon?.child;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  };

  before(async () => {
    sandbox = await startSandbox();
    sandbox.registerApplication({ tenantId: TENANT, clientId: PUBLIC_APP, publicClient: true, redirectUris: [REDIRECT] });
    sandbox.registerUser({ tenantId: TENANT, username: ALICE, password: `pw-${randomUUID()}` });
    sandbox.hooks.beforeTokenResponse = (info) => {
      if (info.refreshToken !== undefined) issuedRefreshTokens.push(info.refreshToken);
    };
    directory = await mkdtemp(path.join(tmpdir(), 'tb-store-full-'));
    await writeFile(path.join(directory, 'ca.pem'), sandbox.caCertificatePem);
    await writeFile(path.join(directory, 'store.key'), `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    address = `unix://${path.join(directory, 'broker.sock')}`;
    configFile = path.join(directory, 'broker.yaml');
    const config = sandboxBrokerConfig(address, sandbox.url, 'sqlite://tokens.sqlite', desktopAuthorizationCodeMailbox(MAILBOX, TENANT, PUBLIC_APP, REDIRECT, ALICE));
    // A sweep every second: the record is written again soon after the store works again.
    await writeFile(configFile, `${config}refresh:\n  sweepIntervalSeconds: 1\n`);
  });

  after(async () => {
    await kill();
    await sandbox?.close();
    await rm(directory, { recursive: true, force: true });
  });

  test('rotation while the store refuses: refused to the caller, FAILING, no new rotation; stored once it works; SIGKILL and restart need no authorization', async () => {
    const first = await start();
    const started = await first.startAuthorization(MAILBOX);
    await first.completeAuthorization(MAILBOX, { redirectUrl: await signInRedirect(started.authorizationUrl, sandbox.caCertificatePem) });
    const before = (await first.getToken(MAILBOX)).accessToken;
    assert.equal(issuedRefreshTokens.length, 1);

    await limitFileSize(daemon?.child.pid, 1);
    sandbox.stats.reset();
    // The mail server "rejected" the token: the broker refreshes, the sandbox rotates the refresh token (the old one is dead).
    const refused = await first.reportRejected(MAILBOX, before, 'test: AUTHENTICATE failed').then(
      (token) => assert.fail(`a token was handed out although its refresh token is not stored: ${token.accessToken.slice(0, 8)}...`),
      (error: ServiceError) => error,
    );
    assert.equal(refused.code, GrpcStatus.UNAVAILABLE, refused.details);
    assert.deepEqual(refused.metadata.get('token-broker-error-code'), ['store_unavailable']);
    assert.match(refused.details, new RegExp(`mailbox ${MAILBOX}`));
    assert.match(refused.details, /token store sqlite:\/\/\S*tokens\.sqlite/);
    assert.equal(sandbox.stats.forGrantType('refresh_token'), 1);
    assert.equal(issuedRefreshTokens.length, 2, 'the refresh rotated the refresh token');
    const failing = await first.getMailboxStatus(MAILBOX);
    assert.equal(failing.state, 'FAILING');
    assert.equal(failing.lastErrorCode, 'store_unavailable');

    // The broker keeps writing the record (the sweep, with backoff), and asks the server for nothing more.
    const refusedSoFar = refusedWrites(daemon as DaemonProcess);
    await eventually(() => assert.ok(refusedWrites(daemon as DaemonProcess) > refusedSoFar, 'the record was written again'));
    assert.notEqual((await first.getToken(MAILBOX)).accessToken, undefined, 'the old, still valid token is served meanwhile');
    assert.equal(sandbox.stats.forGrantType('refresh_token'), 1, 'no new rotation on top of the unsaved one');

    // The disk has room again: the pending record is written, the mailbox is READY and hands out the rotated token.
    await limitFileSize(daemon?.child.pid, 'unlimited');
    await eventually(async () => assert.equal((await first.getMailboxStatus(MAILBOX)).state, 'READY'));
    const rotated = (await first.getToken(MAILBOX)).accessToken;
    assert.notEqual(rotated, before, 'the token that came with the rotated refresh token');
    assert.equal(sandbox.stats.forGrantType('refresh_token'), 1, 'stored, not requested again');

    // Killed and restarted: served from the store with no request, and the stored refresh token is the live one.
    await kill();
    sandbox.stats.reset();
    const restarted = await start();
    assert.equal((await restarted.getToken(MAILBOX)).accessToken, rotated);
    assert.equal(sandbox.stats.total, 0, 'no token request after the restart');
    const refreshed = await restarted.reportRejected(MAILBOX, rotated, 'test: AUTHENTICATE failed');
    assert.notEqual(refreshed.accessToken, rotated);
    assert.equal(sandbox.stats.forGrantType('refresh_token'), 1);
    assert.equal(issuedRefreshTokens.length, 3, 'the stored refresh token was accepted (a replay gets AADSTS70008) and rotated again');
    assert.equal((await restarted.getMailboxStatus(MAILBOX)).state, 'READY', 'no authorization needed');
    assert.doesNotMatch(daemon?.stderr() ?? '', /AADSTS70008/);
  });
});
