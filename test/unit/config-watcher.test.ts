// The config file watch on its own: a plain file replaced by rename, a
// rewrite with the same content, and a file behind symbolic links swapped
// the way Kubernetes updates a ConfigMap. The debounce timer is the test's
// (ManualScheduler): it ends when the test says so, not after real time.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigFileWatcher } from '../../src/daemon/config-watcher.js';
import { ManualScheduler } from '../../src/time/index.js';
import { eventually } from '../support/assertions.js';
import { captureLogs } from '../support/log-capture.js';

const directories: string[] = [];
after(async () => {
  for (const directory of directories) await rm(directory, { recursive: true, force: true });
});

async function folder(): Promise<string> {
  const directory = await mkdtemp(path.join(tmpdir(), 'tb-watch-'));
  directories.push(directory);
  return directory;
}

/** Waits for the watch to have seen a change (its debounce timer set), then ends the debounce. */
async function endDebounce(scheduler: ManualScheduler): Promise<void> {
  await eventually(() => assert.ok(scheduler.pending.length > 0, 'the watch saw no change of the folder'));
  scheduler.fireTimers();
}

test('a file renamed over the config file is a change; a rewrite with the same content is not', async () => {
  const directory = await folder();
  const file = path.join(directory, 'broker.yaml');
  await writeFile(file, 'one');
  let changes = 0;
  const scheduler = new ManualScheduler();
  const captured = captureLogs();
  const watcher = await ConfigFileWatcher.start({ file, logger: captured.logger, scheduler, onChange: () => Promise.resolve(changes++) });
  try {
    await writeFile(file, 'one');
    await endDebounce(scheduler);
    await eventually(() => assert.match(captured.text(), /config file written without a change of content; not reloading/));
    assert.equal(changes, 0, 'same content');
    await writeFile(path.join(directory, 'broker.yaml.tmp'), 'two');
    await rename(path.join(directory, 'broker.yaml.tmp'), file);
    await endDebounce(scheduler);
    await eventually(() => assert.equal(changes, 1));
  } finally {
    await watcher.stop();
  }
});

test('a ConfigMap-style swap of the ..data link behind a symlinked config file is a change', async () => {
  const directory = await folder();
  // broker.yaml -> ..data/broker.yaml, ..data -> ..v1: the layout of a mounted ConfigMap.
  await mkdir(path.join(directory, '..v1'));
  await writeFile(path.join(directory, '..v1', 'broker.yaml'), 'one');
  await symlink('..v1', path.join(directory, '..data'));
  await symlink(path.join('..data', 'broker.yaml'), path.join(directory, 'broker.yaml'));
  let changes = 0;
  const scheduler = new ManualScheduler();
  const watcher = await ConfigFileWatcher.start({ file: path.join(directory, 'broker.yaml'), logger: captureLogs().logger, scheduler, onChange: () => Promise.resolve(changes++) });
  try {
    await mkdir(path.join(directory, '..v2'));
    await writeFile(path.join(directory, '..v2', 'broker.yaml'), 'two');
    await symlink('..v2', path.join(directory, '..data_tmp'));
    await rename(path.join(directory, '..data_tmp'), path.join(directory, '..data'));
    await endDebounce(scheduler);
    await eventually(() => assert.equal(changes, 1));
  } finally {
    await watcher.stop();
  }
});

test('the debounce: events of a burst restart one timer; a stopped watch sets none', async () => {
  const directory = await folder();
  const file = path.join(directory, 'broker.yaml');
  await writeFile(file, 'one');
  const scheduler = new ManualScheduler();
  const watcher = await ConfigFileWatcher.start({ file, logger: captureLogs().logger, scheduler, debounceMs: 250, onChange: () => Promise.resolve() });
  await writeFile(file, 'two');
  await eventually(() => assert.deepEqual(scheduler.pending, [250]));
  await writeFile(file, 'three');
  await writeFile(file, 'four');
  await eventually(() => assert.deepEqual(scheduler.pending, [250]));
  await watcher.stop();
  assert.deepEqual(scheduler.pending, [], 'stop ends the pending timer');
});
