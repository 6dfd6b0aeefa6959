// Who else may read a secret: a secret file readable by its group or by
// everyone, or a config file everyone may read that holds a secret itself,
// is reported with the file, the key and the chmod to run: a warning, or an
// error under `--strict` (serve, validate).
import { dirname, isAbsolute, resolve } from 'node:path';
import type { LoadContext } from './context.js';
import type { Position } from './problems.js';

/** Group or others may read: a secret file is for the broker's user alone. */
const GROUP_OR_OTHERS_READ = 0o044;
/** Everyone may read: a config file is often shared with the broker's group, so only this counts for it. */
const OTHERS_READ = 0o004;

/**
 * Whether `file` is a systemd credential: one of the files systemd puts in
 * $CREDENTIALS_DIRECTORY for LoadCredential= and LoadCredentialEncrypted=.
 * systemd 252 makes them 0400 in a 0500 folder owned by root and grants the
 * service's user read access by an ACL entry, which stat() shows as group
 * bits (0440, 0550: the ACL mask, not the group root); on a file system
 * without ACLs it makes the user the owner instead. Only root and the
 * service's user can read them either way, so their group bits are no one
 * else's access.
 */
export function isSystemdCredential(file: string, env: NodeJS.ProcessEnv): boolean {
  const folder = env.CREDENTIALS_DIRECTORY;
  if (folder === undefined || !isAbsolute(folder)) return false;
  return dirname(resolve(file)) === resolve(folder);
}

/** `${NAME}` references: what is left when they are taken out of a value was written in the file. */
const ENV_REFERENCE = /\$\{[A-Za-z_][A-Za-z0-9_]*\}/g;

/** The key naming a file, and where its value is (none for a default, such as the store's key file). */
export interface KeyPlace {
  readonly path: string;
  readonly valueAt?: Position | undefined;
}

/** Remembers a secret written in the config file itself; `raw` is the value before `${...}` is replaced. */
export function noteInlineSecret(ctx: LoadContext, path: string, raw: string, at: Position): void {
  if (raw.replace(ENV_REFERENCE, '') !== '') ctx.inlineSecrets.push({ path, at });
}

/** A secret file (its `mode` as read) that others may read: reported on `key`, once per file. */
export function checkSecretFileMode(ctx: LoadContext, key: KeyPlace, file: string, mode: number): void {
  const othersRead = isSystemdCredential(file, ctx.env) ? OTHERS_READ : GROUP_OR_OTHERS_READ;
  if ((mode & othersRead) === 0 || ctx.filesReported.has(file)) return;
  ctx.filesReported.add(file);
  report(ctx, key.path, `${file} can be read by other users (mode ${octal(mode)})${ctx.strict ? ', which --strict refuses' : ''}; restrict it: chmod 600 ${file}`, key.valueAt);
}

/** The config file everyone may read, holding secrets itself: reported on the first such key. */
export function checkConfigFileMode(ctx: LoadContext, file: string, mode: number): void {
  if ((mode & OTHERS_READ) === 0) return;
  // Sections are read in an order of their own: name the secret that comes first in the file.
  const [first, ...others] = [...ctx.inlineSecrets].sort((a, b) => a.at.line - b.at.line || a.at.column - b.at.column);
  if (first === undefined) return;
  const more = others.length === 0 ? '' : ` (and ${others.length} more)`;
  report(
    ctx,
    first.path,
    `the config file ${file} holds this secret${more} itself and can be read by every user (mode ${octal(mode)})${ctx.strict ? ', which --strict refuses' : ''}; ` +
      `restrict it: chmod 600 ${file}, or move the secret out of it (into the key's *File variant, or \${NAME} from the environment)`,
    first.at,
  );
}

function report(ctx: LoadContext, path: string, message: string, at: Position | undefined): void {
  if (ctx.strict) ctx.sink.error(path, message, at);
  else ctx.sink.warning(path, message, at);
}

function octal(mode: number): string {
  return (mode & 0o777).toString(8).padStart(4, '0');
}
