// SIGTERM while the daemon is still starting: it is not killed mid-start (a
// half-opened store, a socket file left behind) but remembered; once start-up
// is done the daemon stops gracefully and exits 0. The start is held up by a
// paused redis-server, which the test lets go after sending the signal.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSandbox } from '../../src/sandbox/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { eventually } from '../support/assertions.js';
import { clientCredentialsMailbox, sandboxBrokerConfig } from '../support/broker-environment.js';
import { CLI_PATH } from '../support/daemon-process.js';
import { redisServerBinary, startRedis } from '../support/redis.js';
import type { RedisServer } from '../support/redis.js';

describe('signals during start-up', { skip: redisServerBinary.skip }, () => {
  let redis: RedisServer;
  let sandbox: Sandbox;
  let directory: string;

  before(async () => {
    redis = await startRedis();
    sandbox = await startSandbox();
    directory = await mkdtemp(path.join(tmpdir(), 'tb-startup-'));
  });

  after(async () => {
    redis?.resume();
    await redis?.stop();
    await sandbox?.close();
    if (directory !== undefined) await rm(directory, { recursive: true, force: true });
  });

  test('a SIGTERM while the store is still opening stops the daemon once it is up: exit 0, no socket left', async () => {
    const tenant = randomUUID();
    const app = randomUUID();
    sandbox.registerApplication({ tenantId: tenant, clientId: app, clientSecret: 'app-secret' });
    const socket = path.join(directory, 'broker.sock');
    const configFile = path.join(directory, 'broker.yaml');
    await writeFile(path.join(directory, 'ca.pem'), sandbox.caCertificatePem);
    await writeFile(path.join(directory, 'store.key'), `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    await writeFile(configFile, sandboxBrokerConfig(`unix://${socket}`, sandbox.url, redis.url, clientCredentialsMailbox('sales', tenant, app, 'app-secret')));

    redis.pause();
    const child = spawn(process.execPath, [CLI_PATH, 'serve', '--config', configFile, '--no-watch-config'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    // The daemon logs that it opens the store; it then waits on the paused redis.
    await eventually(() => assert.match(stderr, /opening token store redis:/));
    child.kill('SIGTERM');
    await eventually(() => assert.match(stderr, /SIGTERM during start-up: stopping as soon as start-up is done/));
    redis.resume();
    const { code, signal } = await exited;
    assert.equal(signal, null, `killed by ${String(signal)}:\n${stderr}`);
    assert.equal(code, 0, stderr);
    assert.match(stderr, /token-broker started/);
    assert.match(stderr, /token-broker stopped/);
    await assert.rejects(access(socket), 'the socket file is removed');
  });
});
