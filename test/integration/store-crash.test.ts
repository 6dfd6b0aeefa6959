// The crash guarantee with batched writes and SQLite in WAL mode
// (synchronous=NORMAL): a rotated refresh token is committed before the token
// is handed out, so a daemon SIGKILLed the moment the answer arrives restarts
// with the newest refresh token, and the mailbox needs no new authorization.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TokenBrokerClient } from '../../src/client/index.js';
import { startSandbox } from '../../src/sandbox/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { signInRedirect } from '../support/browser.js';
import { desktopAuthorizationCodeMailbox, sandboxBrokerConfig } from '../support/broker-environment.js';
import { startDaemonProcess } from '../support/daemon-process.js';
import type { DaemonProcess } from '../support/daemon-process.js';

const TENANT = randomUUID();
const PUBLIC_APP = randomUUID();
const ALICE = 'alice@contoso.example';
const REDIRECT = 'https://broker.contoso.example/callback';
const ROUNDS = 3;

describe('store crash guarantee: SIGKILL right after a rotation loses no refresh token (SQLite, WAL)', () => {
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

  before(async () => {
    sandbox = await startSandbox();
    sandbox.registerApplication({ tenantId: TENANT, clientId: PUBLIC_APP, publicClient: true, redirectUris: [REDIRECT] });
    sandbox.registerUser({ tenantId: TENANT, username: ALICE, password: `pw-${randomUUID()}` });
    sandbox.hooks.beforeTokenResponse = (info) => {
      if (info.refreshToken !== undefined) issuedRefreshTokens.push(info.refreshToken);
    };
    directory = await mkdtemp(path.join(tmpdir(), 'tb-store-crash-'));
    await writeFile(path.join(directory, 'ca.pem'), sandbox.caCertificatePem);
    await writeFile(path.join(directory, 'store.key'), `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    address = `unix://${path.join(directory, 'broker.sock')}`;
    configFile = path.join(directory, 'broker.yaml');
    await writeFile(
      configFile,
      sandboxBrokerConfig(
        address,
        sandbox.url,
        'sqlite://tokens.sqlite',
        desktopAuthorizationCodeMailbox('user-imap', TENANT, PUBLIC_APP, REDIRECT, ALICE),
      ),
    );
  });

  after(async () => {
    client?.close();
    const child = daemon?.child;
    if (child !== undefined && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    await sandbox?.close();
    await rm(directory, { recursive: true, force: true });
  });

  test(`${ROUNDS} rounds of ReportRejected, SIGKILL on its answer, restart: the newest refresh token redeems each time`, async () => {
    const first = await start();
    const started = await first.startAuthorization('user-imap');
    await first.completeAuthorization('user-imap', { redirectUrl: await signInRedirect(started.authorizationUrl, sandbox.caCertificatePem) });
    let served = (await first.getToken('user-imap')).accessToken;
    assert.equal(issuedRefreshTokens.length, 1, 'the authorization issued the first refresh token');

    for (let round = 1; round <= ROUNDS; round++) {
      const current = client ?? (await start());
      const child = daemon?.child;
      assert.ok(child);
      sandbox.stats.reset();
      const exited = new Promise((resolve) => child.once('exit', resolve));
      // The mail server "rejected" the token: the broker refreshes (the sandbox rotates the refresh token, the
      // redeemed one dies) and answers; the daemon is killed the moment the answer arrives, before anything after it runs.
      const answer = await current.reportRejected('user-imap', served, 'test: AUTHENTICATE failed').finally(() => child.kill('SIGKILL'));
      await exited;
      current.close();
      client = undefined;
      assert.equal(sandbox.stats.forGrantType('refresh_token'), 1, `round ${round}: one refresh`);
      assert.equal(issuedRefreshTokens.length, round + 1, `round ${round}: the refresh rotated the refresh token`);
      assert.notEqual(answer.accessToken, served, `round ${round}: a new access token was handed out`);

      sandbox.stats.reset();
      const restarted = await start();
      // The token handed out was committed before the answer: served again with no request to the server.
      assert.equal((await restarted.getToken('user-imap')).accessToken, answer.accessToken, `round ${round}: the answered token survived the kill`);
      assert.equal(sandbox.stats.total, 0, `round ${round}: no token request after the restart`);
      assert.equal((await restarted.getMailboxStatus('user-imap')).state, 'READY', `round ${round}: no authorization needed`);
      served = answer.accessToken;
    }

    // The refresh token redeemed by the next refresh must be the newest: every older one is dead, so a stale
    // store would get invalid_grant and the mailbox would need authorizing again.
    const last = client ?? (await start());
    sandbox.stats.reset();
    const refreshed = await last.reportRejected('user-imap', served, 'test: AUTHENTICATE failed');
    assert.notEqual(refreshed.accessToken, served);
    assert.equal(sandbox.stats.forGrantType('refresh_token'), 1);
    assert.equal(issuedRefreshTokens.length, ROUNDS + 2, 'the stored (newest) refresh token was accepted and rotated again');
    assert.equal((await last.getMailboxStatus('user-imap')).state, 'READY');
  });
});
