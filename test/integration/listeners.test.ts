// Unix socket listeners: a missing directory, a socket a live broker serves,
// a stale socket file and a file that is no socket at all, each against the
// daemon started in-process in a mkdtemp folder.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RunningDaemon } from '../../src/daemon/index.js';
import { BrokerError } from '../../src/errors/index.js';
import { healthCheck } from '../support/daemon-process.js';
import { startIdleDaemon } from '../support/idle-daemon.js';

describe('unix socket listeners', () => {
  let directory: string;
  const running: RunningDaemon[] = [];

  before(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'tb-listen-'));
  });

  after(async () => {
    for (const daemon of running) await daemon.stop(0);
    await rm(directory, { recursive: true, force: true });
  });

  /** Starts the daemon in-process on `socketPath`; a mailbox that needs a person, so nothing is fetched. */
  async function start(socketPath: string): Promise<RunningDaemon> {
    const daemon = await startIdleDaemon(directory, `unix://${socketPath}`);
    running.push(daemon);
    return daemon;
  }

  async function refused(socketPath: string, message: RegExp, remediation: RegExp): Promise<void> {
    await assert.rejects(start(socketPath), (error: unknown) => {
      assert.ok(error instanceof BrokerError, String(error));
      assert.equal(error.code, 'config_invalid');
      assert.match(error.message, message);
      assert.match(error.remediation ?? '', remediation);
      return true;
    });
  }

  test('a missing directory says which one and what to do', async () => {
    const missing = path.join(directory, 'no-such-dir');
    await refused(
      path.join(missing, 'broker.sock'),
      new RegExp(`^cannot listen on unix://${missing}/broker\\.sock: the directory ${missing} does not exist\\.$`),
      /Create it \(systemd: RuntimeDirectory=token-broker\) or change server\.listen/,
    );
  });

  test('a socket a live broker serves is not taken over, and that broker keeps serving', async () => {
    const socketPath = path.join(directory, 'live.sock');
    await start(socketPath);
    await refused(socketPath, /another process \(probably a running token-broker\) is serving that socket/, /Stop the other instance/);
    assert.equal(await healthCheck(`unix://${socketPath}`), 'SERVING');
  });

  test('a stale socket file (nothing listening) is replaced', async () => {
    const socketPath = path.join(directory, 'stale.sock');
    // A process that binds the socket and dies without cleaning up, as a SIGKILLed broker does.
    const child = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(socketPath)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    await new Promise((resolve) => child.once('exit', resolve));
    assert.ok((await lstat(socketPath)).isSocket(), 'the dead process left its socket file behind');
    await start(socketPath);
    assert.equal(await healthCheck(`unix://${socketPath}`), 'SERVING');
  });

  test('a file that is not a socket is refused and left alone', async () => {
    const filePath = path.join(directory, 'notes.txt');
    await writeFile(filePath, 'precious\n');
    await refused(filePath, new RegExp(`${filePath} exists and is not a socket \\(a regular file\\)`), /Move or delete that file yourself/);
    assert.equal(await readFile(filePath, 'utf8'), 'precious\n');

    const folder = path.join(directory, 'a-folder');
    await mkdir(folder);
    await refused(folder, /exists and is not a socket \(a directory\)/, /another path/);
    assert.ok((await lstat(folder)).isDirectory());
  });
});
