// The "system package or skip" rule for integration tests that start a real
// program (squid, redis-server, dovecot): skip loudly on a developer machine
// that lacks it, but fail in CI, where a missing package is a broken install step.
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** Where Debian puts daemons; often missing from a non-root user's PATH. */
const SBIN_DIRECTORIES = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

export const INSTALL_HINT = 'run scripts/install-test-deps.sh';

export interface SystemBinary {
  readonly name: string;
  /** For `describe(..., { skip })`: the reason when the tests must skip, else false. */
  readonly skip: string | false;
  /** The executable's absolute path; throws the "not installed" error when it is missing (the CI case). */
  path(): string;
}

/** Absolute path of an executable found on PATH or in the sbin folders, else undefined. */
export function findSystemBinary(name: string): string | undefined {
  const directories = [...(process.env.PATH ?? '').split(path.delimiter), ...SBIN_DIRECTORIES].filter((directory) => directory !== '');
  for (const directory of directories) {
    const candidate = path.join(directory, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; try the next folder
    }
  }
  return undefined;
}

/**
 * Looks a binary up once, at module load. Missing outside CI: `skip` holds the
 * reason and a warning goes to stderr so a skipped suite is never silent.
 * Missing with CI=true: `skip` is false and `path()` throws, so the suite fails.
 */
export function requireSystemBinary(name: string, hint = INSTALL_HINT): SystemBinary {
  const found = findSystemBinary(name);
  const reason = `${name} is not installed: ${hint}`;
  if (found !== undefined) return { name, skip: false, path: () => found };
  if (process.env.CI === 'true') {
    return {
      name,
      skip: false,
      path: () => {
        throw new Error(`${reason} (CI=true: a missing system package is a failure, not a skip; .ci/run must install it)`);
      },
    };
  }
  console.warn(`\n*** SKIPPING tests that need ${name}: ${reason} ***\n`);
  return {
    name,
    skip: reason,
    path: () => {
      throw new Error(reason);
    },
  };
}
