// The building blocks of the document schema: a key is the reader's own
// field schema with what it means attached, so the JSON Schema and the
// configuration reference describe exactly what the reader checks.
import { z } from 'zod';
import { filePath, SAFE_NAME, SAFE_NAME_RULE, secretText } from '../fields.js';

/** What the reference and an editor's hover say about a key. */
export interface KeyDoc {
  /** One or two sentences: what the key means, and what the loader checks that JSON Schema cannot say. */
  readonly description: string;
  /** The value the broker uses when the key is left out, as it would be written in YAML. */
  readonly default?: unknown;
  readonly examples?: readonly unknown[];
}

/**
 * The reader's field schema, documented. `.meta()` makes a copy, so the
 * reader's own schema is untouched. zod drops `default` and `examples` from
 * a schema that transforms when it describes the input (they would describe
 * the output); json-schema.ts puts them back from the same metadata.
 */
export function key<T extends z.ZodType>(field: T, doc: KeyDoc): T {
  return field.meta({ ...doc });
}

/**
 * A secret `name` and its `nameFile` (secrets.ts reads either, never both):
 * the inline form is marked `writeOnly`, JSON Schema's word for a value that
 * goes in and is never shown back.
 */
export function secretPair<const K extends string>(name: K, what: string): Record<K | `${K}File`, z.ZodOptional<z.ZodString>> {
  return {
    [name]: secretText
      .meta({
        description: `${what} A secret, never logged: rather than writing it in the file, give ${name}File (a systemd credential: \${CREDENTIALS_DIRECTORY}/NAME) or write \${NAME} to take it from the environment.`,
        writeOnly: true,
      })
      .optional(),
    [`${name}File`]: filePath
      .meta({
        description: `A file holding ${name} (read at load time, one trailing newline dropped; relative to the config file's folder; at most 64 KiB, and a warning when its group or others may read it). Give ${name} or ${name}File, not both.`,
      })
      .optional(),
  } as Record<K | `${K}File`, z.ZodOptional<z.ZodString>>;
}

/**
 * The name of an entry under mailboxes, proxies or authorizationServers:
 * SAFE_NAME, the reader's rule. `title` is what the reference calls it
 * (`mailboxes.<mailbox>.protocol`); `reserved` is a name the reader refuses.
 */
export function entryName(title: string, reserved?: { readonly name: string; readonly why: string }): z.ZodString {
  const name = z.string().regex(SAFE_NAME);
  if (reserved === undefined) return name.meta({ title, description: `${SAFE_NAME_RULE}.` });
  return name
    .refine((value) => value !== reserved.name, { error: reserved.why })
    .meta({ title, description: `${SAFE_NAME_RULE}; not "${reserved.name}" (${reserved.why}).`, not: { const: reserved.name } });
}

/** The JSON Schema of an entry name, for a mapping whose other keys zod describes (authorizationServers: built-in names beside any). */
export function nameRule(title: string): Record<string, unknown> {
  return { title, type: 'string', pattern: SAFE_NAME.source, description: `${SAFE_NAME_RULE}.` };
}

/** A mapping whose keys are names the operator chooses. */
export function namedEntries<T extends z.ZodType>(name: z.ZodString, entry: T): z.ZodRecord<z.ZodString, T> {
  return z.record(name, entry);
}

/**
 * The reader reads a section left empty (`server:` with nothing after it)
 * as an empty mapping; JSON Schema must allow null there too.
 */
export function emptyAllowed<T extends z.ZodType>(section: T): z.ZodNullable<T> {
  return section.nullable();
}

/**
 * Lists the reader also takes as one item (`scopes: "a b"`, `listen:
 * unix:///...`): their zod preprocess wraps the item in a list, which JSON
 * Schema cannot see, so json-schema.ts widens them to "the item or a list".
 */
export const ONE_OR_LIST = z.registry<Record<string, never>>();

export function oneOrList<T extends z.ZodType>(list: T): T {
  const marked = list.meta({});
  ONE_OR_LIST.add(marked, {});
  return marked;
}
