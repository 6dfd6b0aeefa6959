// The version `token-broker --version` prints: the one in the package's own
// package.json, found from this file as src/proto/load.ts finds proto/
// (dist/src/cli -> the package root, in the repo and in an installed package
// alike). Not $npm_package_version: npm sets that to the version of whichever
// project's script is running, e.g. a connector's `"start": "token-broker serve"`.
import { readFileSync } from 'node:fs';

const PACKAGE_JSON = new URL('../../../package.json', import.meta.url);

export function packageVersion(): string {
  try {
    const manifest = JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { version?: unknown };
    if (typeof manifest.version === 'string') return manifest.version;
  } catch {
    // Falls through: --version must not stop every other command from running.
  }
  return 'unknown (no readable package.json beside dist/)';
}
