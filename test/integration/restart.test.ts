// Tokens survive the daemon: after a restart (SIGKILL included) they are
// served from the encrypted store with no request to the authorization
// server; the store holds nothing readable; a rotated refresh token is kept;
// changed credentials are never served old tokens. SQLite and Redis.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient } from '@redis/client';
import { TokenBrokerClient } from '../../src/client/index.js';
import { startSandbox } from '../../src/sandbox/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { signInRedirect } from '../support/browser.js';
import { clientCredentialsMailbox, desktopAuthorizationCodeMailbox, sandboxBrokerConfig } from '../support/broker-environment.js';
import { startDaemonProcess } from '../support/daemon-process.js';
import type { DaemonProcess } from '../support/daemon-process.js';
import { redisServerBinary, startRedis } from '../support/redis.js';
import type { RedisServer } from '../support/redis.js';

const TENANT = randomUUID();
const APP = randomUUID();
const OTHER_APP = randomUUID();
const PUBLIC_APP = randomUUID();
const SECRET = `app-secret-${randomUUID()}`;
const ALICE = 'alice@contoso.example';
const REDIRECT = 'https://broker.contoso.example/callback';

interface Harness {
  readonly directory: string;
  readonly address: string;
  readonly configFile: string;
  daemon?: DaemonProcess;
  client?: TokenBrokerClient;
}

function forms(secret: string): string[] {
  return [secret, Buffer.from(secret).toString('base64'), Buffer.from(secret).toString('base64url'), Buffer.from(secret).toString('hex')];
}

async function writeConfig(harness: Harness, sandbox: Sandbox, storeUrl: string, clientId: string): Promise<void> {
  await writeFile(
    harness.configFile,
    sandboxBrokerConfig(
      harness.address,
      sandbox.url,
      storeUrl,
      `${clientCredentialsMailbox('app-imap', TENANT, clientId, SECRET)}${desktopAuthorizationCodeMailbox('user-imap', TENANT, PUBLIC_APP, REDIRECT, ALICE)}`,
    ),
  );
}

async function start(harness: Harness): Promise<TokenBrokerClient> {
  harness.daemon = await startDaemonProcess(harness.configFile, harness.address);
  harness.client = new TokenBrokerClient({ address: harness.address });
  return harness.client;
}

async function kill(harness: Harness): Promise<void> {
  harness.client?.close();
  const child = harness.daemon?.child;
  if (child === undefined || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

async function newHarness(prefix: string, sandbox: Sandbox): Promise<Harness> {
  const directory = await mkdtemp(path.join(tmpdir(), prefix));
  await writeFile(path.join(directory, 'ca.pem'), sandbox.caCertificatePem);
  await writeFile(path.join(directory, 'store.key'), `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  return { directory, address: `unix://${path.join(directory, 'broker.sock')}`, configFile: path.join(directory, 'broker.yaml') };
}

describe('tokens survive restarts', () => {
  let sandbox: Sandbox;
  const issuedRefreshTokens: string[] = [];

  before(async () => {
    sandbox = await startSandbox();
    sandbox.registerApplication({ tenantId: TENANT, clientId: APP, clientSecret: SECRET });
    sandbox.registerApplication({ tenantId: TENANT, clientId: OTHER_APP, clientSecret: SECRET });
    sandbox.registerApplication({ tenantId: TENANT, clientId: PUBLIC_APP, publicClient: true, redirectUris: [REDIRECT] });
    sandbox.registerUser({ tenantId: TENANT, username: ALICE, password: `pw-${randomUUID()}` });
    sandbox.hooks.beforeTokenResponse = (info) => {
      if (info.refreshToken !== undefined) issuedRefreshTokens.push(info.refreshToken);
    };
  });

  after(async () => {
    await sandbox?.close();
  });

  describe('on SQLite', () => {
    let harness: Harness;

    before(async () => {
      harness = await newHarness('tb-restart-sqlite-', sandbox);
      await writeConfig(harness, sandbox, 'sqlite://tokens.sqlite', APP);
    });

    after(async () => {
      await kill(harness);
      await rm(harness.directory, { recursive: true, force: true });
    });

    let appToken: string;
    let userToken: string;

    test('first run: tokens acquired, the user mailbox authorized', async () => {
      const client = await start(harness);
      appToken = (await client.getToken('app-imap')).accessToken;
      const started = await client.startAuthorization('user-imap');
      const landed = await signInRedirect(started.authorizationUrl, sandbox.caCertificatePem);
      await client.completeAuthorization('user-imap', { redirectUrl: landed });
      userToken = (await client.getToken('user-imap')).accessToken;
      assert.ok(sandbox.verifyAccessToken(appToken));
      assert.ok(sandbox.verifyAccessToken(userToken));
    });

    test('after SIGKILL and a restart, both tokens are served with no request to the server', async () => {
      await kill(harness);
      sandbox.stats.reset();
      const client = await start(harness);
      assert.equal((await client.getToken('app-imap')).accessToken, appToken);
      assert.equal((await client.getToken('user-imap')).accessToken, userToken);
      assert.equal(sandbox.stats.total, 0, 'no token request');
      assert.equal((await client.getMailboxStatus('user-imap')).state, 'READY');
    });

    test('the raw SQLite file holds no token, refresh token or secret, in any encoding', async () => {
      const files = (await readdir(harness.directory)).filter((name) => name.startsWith('tokens.sqlite'));
      assert.ok(files.length > 0);
      const raw = Buffer.concat(await Promise.all(files.map((name) => readFile(path.join(harness.directory, name))))).toString('latin1');
      assert.ok(issuedRefreshTokens.length > 0, 'the sandbox issued a refresh token');
      for (const secret of [appToken, userToken, SECRET, ...issuedRefreshTokens]) {
        for (const form of forms(secret)) assert.ok(!raw.includes(form), 'a secret is readable in the SQLite file');
      }
    });

    test('a rotated refresh token is durable before the broker answers: SIGKILL on the answer, restart, refresh again', async () => {
      const client = harness.client ?? (await start(harness));
      const child = harness.daemon?.child;
      assert.ok(child);
      sandbox.stats.reset();
      const rotated = issuedRefreshTokens.length;
      // More validity than the cached token has forces a refresh (and its rotation); the
      // daemon is killed the moment its answer arrives, so nothing after the answer runs.
      const exited = new Promise((resolve) => child.once('exit', resolve));
      await client.getToken('user-imap', { minValiditySeconds: 7_000 }).then(
        () => child.kill('SIGKILL'),
        () => child.kill('SIGKILL'),
      );
      await exited;
      assert.equal(sandbox.stats.forGrantType('refresh_token'), 1);
      assert.equal(issuedRefreshTokens.length, rotated + 1, 'the sandbox issued a rotated refresh token (the old one is dead)');
      client.close();

      const again = await start(harness);
      const served = (await again.getToken('user-imap')).accessToken;
      assert.notEqual(served, userToken, 'the refreshed token was stored before the answer');
      await assert.rejects(again.getToken('user-imap', { minValiditySeconds: 7_000 }));
      assert.equal(sandbox.stats.forGrantType('refresh_token'), 2, 'the newest refresh token works after the restart');
      assert.equal((await again.getMailboxStatus('user-imap')).state, 'READY', 'no authorization needed');
    });

    test('a changed clientId is never served the old token', async () => {
      await kill(harness);
      await writeConfig(harness, sandbox, 'sqlite://tokens.sqlite', OTHER_APP);
      const client = await start(harness);
      const token = await client.getToken('app-imap');
      assert.notEqual(token.accessToken, appToken);
      assert.equal(sandbox.verifyAccessToken(token.accessToken)?.appid, OTHER_APP);
    });
  });

  describe('on Redis', { skip: redisServerBinary.skip }, () => {
    let harness: Harness;
    let redis: RedisServer;

    before(async () => {
      redis = await startRedis();
      harness = await newHarness('tb-restart-redis-', sandbox);
      await writeConfig(harness, sandbox, redis.url, APP);
    });

    after(async () => {
      await kill(harness);
      await redis?.stop();
      await rm(harness.directory, { recursive: true, force: true });
    });

    test('after SIGKILL and a restart the token is served from Redis, which holds nothing readable', async () => {
      const client = await start(harness);
      const token = (await client.getToken('app-imap')).accessToken;
      await kill(harness);
      sandbox.stats.reset();
      const again = await start(harness);
      assert.equal((await again.getToken('app-imap')).accessToken, token);
      assert.equal(sandbox.stats.total, 0);

      const raw = createClient({ url: redis.url });
      await raw.connect();
      try {
        const keys = await raw.keys('*');
        // A client-credentials token is kept once for its application's line, not per mailbox.
        assert.ok(keys.some((key) => /^token-broker:line:app:[0-9a-f]{32}$/.test(key)), `keys: ${keys.join(', ')}`);
        assert.ok(!keys.some((key) => key.includes('mailbox:app-imap')), `keys: ${keys.join(', ')}`);
        const values = (await Promise.all(keys.map((key) => raw.get(key)))).join('\n');
        for (const form of forms(token)) assert.ok(!values.includes(form), 'the token is readable in Redis');
        for (const form of forms(SECRET)) assert.ok(!values.includes(form));
      } finally {
        await raw.quit();
      }
    });

    test('an authorization started on one instance is completed on another (pending state in Redis)', async () => {
      const other = await newHarness('tb-restart-redis-b-', sandbox);
      await writeFile(path.join(other.directory, 'store.key'), await readFile(path.join(harness.directory, 'store.key')), { mode: 0o600 });
      await writeConfig(other, sandbox, redis.url, APP);
      try {
        const first = harness.client ?? (await start(harness));
        const second = await start(other);
        const started = await first.startAuthorization('user-imap');
        const landed = await signInRedirect(started.authorizationUrl, sandbox.caCertificatePem);
        assert.equal((await second.completeAuthorization('user-imap', { redirectUrl: landed })).state, 'READY');
        const token = await second.getToken('user-imap');
        assert.ok(sandbox.verifyAccessToken(token.accessToken));

        const raw = createClient({ url: redis.url });
        await raw.connect();
        try {
          const values = (await Promise.all((await raw.keys('*')).map((key) => raw.get(key)))).join('\n');
          for (const secret of [token.accessToken, ...issuedRefreshTokens]) {
            for (const form of forms(secret)) assert.ok(!values.includes(form), 'a token is readable in Redis');
          }
        } finally {
          await raw.quit();
        }
      } finally {
        await kill(other);
        await rm(other.directory, { recursive: true, force: true });
      }
    });
  });
});
