// The config file watch on its own: a plain file replaced by rename, and a
// file behind symbolic links swapped the way Kubernetes updates a ConfigMap.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigFileWatcher } from '../../src/daemon/config-watcher.js';
import { silentLogger } from '../../src/logging/index.js';
import { eventually } from '../support/assertions.js';

const directories: string[] = [];
after(async () => {
  for (const directory of directories) await rm(directory, { recursive: true, force: true });
});

async function folder(): Promise<string> {
  const directory = await mkdtemp(path.join(tmpdir(), 'tb-watch-'));
  directories.push(directory);
  return directory;
}

test('a file renamed over the config file is a change; a rewrite with the same content is not', async () => {
  const directory = await folder();
  const file = path.join(directory, 'broker.yaml');
  await writeFile(file, 'one');
  let changes = 0;
  const watcher = await ConfigFileWatcher.start({ file, logger: silentLogger(), debounceMs: 50, onChange: () => Promise.resolve(changes++) });
  try {
    await writeFile(file, 'one');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(changes, 0, 'same content');
    await writeFile(path.join(directory, 'broker.yaml.tmp'), 'two');
    await rename(path.join(directory, 'broker.yaml.tmp'), file);
    await eventually(() => assert.equal(changes, 1), 5_000);
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
  const watcher = await ConfigFileWatcher.start({ file: path.join(directory, 'broker.yaml'), logger: silentLogger(), debounceMs: 50, onChange: () => Promise.resolve(changes++) });
  try {
    await mkdir(path.join(directory, '..v2'));
    await writeFile(path.join(directory, '..v2', 'broker.yaml'), 'two');
    await symlink('..v2', path.join(directory, '..data_tmp'));
    await rename(path.join(directory, '..data_tmp'), path.join(directory, '..data'));
    await eventually(() => assert.equal(changes, 1), 5_000);
  } finally {
    await watcher.stop();
  }
});
