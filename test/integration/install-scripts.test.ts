// npm 11 prints "N packages have install scripts not yet covered by
// allowScripts" on every `npm ci` whose dependencies run install scripts that
// nobody reviewed, and a later npm blocks those scripts. package.json's
// allowScripts records the review (docs/packaging.md says why each entry is
// what it is). `npm ci --dry-run` on a copy of the manifest, the lockfile and
// .npmrc runs the same policy check as CI's real `npm ci` (including the
// strict-allow-scripts preflight), offline and in about a second, without
// touching the repo's node_modules.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UNCOVERED_INSTALL_SCRIPTS, runNpm } from '../support/npm.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

describe('install scripts of the dependencies', () => {
  let directory: string;

  before(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'tb-install-scripts-'));
    for (const file of ['package.json', 'package-lock.json', '.npmrc']) {
      if (existsSync(path.join(REPO, file))) await copyFile(path.join(REPO, file), path.join(directory, file));
    }
  });

  after(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  test('npm ci finds no install script that package.json neither allows nor denies', async () => {
    const result = await runNpm(['ci', '--dry-run', '--loglevel=warn', '--no-audit', '--no-fund'], { cwd: directory, timeoutMs: 120_000 });
    const output = `${result.stdout}\n${result.stderr}`;
    assert.equal(result.code, 0, `npm ci --dry-run failed:\n${output}`);
    assert.doesNotMatch(output, UNCOVERED_INSTALL_SCRIPTS, `npm ci would warn; review the scripts and record them with npm install-scripts approve|deny:\n${output}`);
    assert.match(result.stdout, /added \d+ packages/, `npm ci --dry-run did not plan an install:\n${output}`);
  });
});
