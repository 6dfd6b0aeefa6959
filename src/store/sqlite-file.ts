// The SQLite file holds encrypted records, but its name, size and timing
// still tell something: only the broker's user may open it. SQLite gives its
// journal the database file's mode, so setting the file's is enough.
import { chmod, mkdir, open, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';

/** Creates the parent folder (0700) and the file (0600) when missing; narrows a wider mode on an existing file. */
export async function prepareSqliteFile(path: string, logger: Logger): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 }).catch((error: unknown) => {
    // mkdir -p answers EEXIST when the folder's path is taken by a file; say that instead.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new Error(`${dirname(path)} is not a folder`, { cause: error });
    throw error;
  });
  // 'a' creates without truncating; the mode applies only when it creates.
  const handle = await open(path, 'a', 0o600);
  await handle.close();
  const mode = (await stat(path)).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    await chmod(path, mode & 0o700);
    logger.warn({ file: path, mode: mode.toString(8) }, `token store file ${path} was readable by other users (mode 0${mode.toString(8)}); narrowed it to 0${(mode & 0o700).toString(8)}`);
  }
}
