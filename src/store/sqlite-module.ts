// @keyv/sqlite loads sqlite3, whose native binding only sqlite3's own install
// script builds. Loaded when a sqlite store opens (as redis-backend.ts is for
// redis), so that a package installed without that script (npm install
// --ignore-scripts, or an npm that skips scripts nobody allowed) still runs a
// memory or redis store, and a sqlite store fails as "store unavailable" with
// what to do, instead of every command dying on an uncaught "Could not locate
// the bindings file".
import { createRequire } from 'node:module';
import type KeyvSqlite from '@keyv/sqlite';
import { BackendFailure } from './backend-failure.js';

export async function loadKeyvSqlite(): Promise<typeof KeyvSqlite> {
  try {
    // sqlite3 is required first, synchronously, as @keyv/sqlite itself
    // resolves it: on Node 20 an import() whose CommonJS dependency throws
    // rejects *and* leaves an uncaught exception that ends the process. Once
    // sqlite3 is in the require cache, @keyv/sqlite's import reuses it.
    const requireFromKeyvSqlite = createRequire(createRequire(import.meta.url).resolve('@keyv/sqlite'));
    requireFromKeyvSqlite('sqlite3');
  } catch (error) {
    const detail = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
    throw new BackendFailure(
      `the sqlite3 module cannot load its native binding (${detail.trim()}); sqlite3's install script did not run or built for another Node.js: ` +
        'reinstall with npm install -g --allow-scripts=sqlite3,protobufjs (docs/packaging.md), or run npm rebuild sqlite3 in a checkout, or use a redis store',
      error,
    );
  }
  return (await import('@keyv/sqlite')).default;
}
