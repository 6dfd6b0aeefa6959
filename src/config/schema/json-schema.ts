// The JSON Schema of the YAML, for editors (yaml-language-server and the
// like), generated from the document schema with zod's toJSONSchema. zod
// describes each key's input; what it cannot see is added here, each for a
// reason the reader gives: `${NAME}` references (interpolated before any
// check), single items where the reader takes a list, the bounds a number
// gets after its digits are read, and the defaults and examples zod drops
// from schemas that transform.
import { z } from 'zod';
import { brokerDocument } from './document.js';
import { ONE_OR_LIST } from './keys.js';

/** Where the schema is shipped, relative to the package root (package.json "files"). */
export const SCHEMA_FILE = 'schema/broker.schema.json';
/** A name, not a place: the package has no web home; editors find the schema by path (docs/configuration.md). */
export const SCHEMA_ID = 'urn:mailbox-token-broker:schema:broker.schema.json';

export type JsonSchema = { [key: string]: unknown };

/** `${NAME}` somewhere in a string: what interpolate.ts replaces. */
export const ENVIRONMENT_REFERENCE = '\\$\\{[A-Za-z_][A-Za-z0-9_]*\\}';
const ENVIRONMENT_REFERENCE_DEF = 'environmentReference';
const ENVIRONMENT_REFERENCE_REF = `#/$defs/${ENVIRONMENT_REFERENCE_DEF}`;

/** Keywords that say what a value is about, kept on the outside when a value is widened. */
const ANNOTATIONS = ['title', 'description', 'default', 'examples', 'writeOnly', 'deprecated'];

export function brokerJsonSchema(): JsonSchema {
  const generated = z.toJSONSchema(brokerDocument, {
    target: 'draft-2020-12',
    io: 'input',
    // Refinements and transforms have no JSON Schema form: their input is described, the loader checks the rest.
    unrepresentable: 'any',
    override: ({ zodSchema, jsonSchema }) => restoreWhatZodDrops(zodSchema, jsonSchema as JsonSchema),
  }) as JsonSchema;
  const { $schema, ...rest } = generated;
  const body = oneOfAsAnyOf(allowEnvironmentReferences(dropSafeIntegerBounds(rest))) as JsonSchema;
  return {
    $schema,
    $id: SCHEMA_ID,
    ...body,
    $defs: {
      [ENVIRONMENT_REFERENCE_DEF]: {
        type: 'string',
        pattern: ENVIRONMENT_REFERENCE,
        description: "A ${NAME} reference, replaced from the broker's environment when the file is loaded; the value it brings is checked then (token-broker validate).",
      },
    },
  };
}

/** The file's text: two-space JSON and a final newline, as an editor would save it. */
export function brokerJsonSchemaText(): string {
  return `${JSON.stringify(brokerJsonSchema(), null, 2)}\n`;
}

function restoreWhatZodDrops(zodSchema: z.core.$ZodType, json: JsonSchema): void {
  const meta = z.globalRegistry.get(zodSchema);
  if (meta?.default !== undefined) json.default = meta.default;
  if (meta?.examples !== undefined) json.examples = meta.examples;
  const bounds = numberBounds(zodSchema);
  if (bounds !== undefined && Array.isArray(json.anyOf)) {
    json.anyOf = json.anyOf.map((branch: JsonSchema) => (branch.type === 'integer' || branch.type === 'number' ? { ...branch, ...bounds } : branch));
  }
  if (markedOneOrList(zodSchema) && json.type === 'array') {
    const list: JsonSchema = {};
    for (const [name, value] of Object.entries(json)) {
      if (ANNOTATIONS.includes(name)) continue;
      list[name] = value;
      delete json[name];
    }
    json.anyOf = [list.items, list];
  }
}

/** A `.meta()` copy (key() makes one) descends from the marked schema through `_zod.parent`, and zod rebuilds each copy's JSON. */
function markedOneOrList(schema: z.core.$ZodType | undefined): boolean {
  for (let current = schema; current !== undefined; current = current._zod.parent) if (ONE_OR_LIST.has(current)) return true;
  return false;
}

/**
 * fields.ts reads a number as a whole number or a string of digits (from
 * `${NAME}`) and only then bounds it (a pipe into z.number().min/max): the
 * input zod describes has no bounds. They are read back from the pipe.
 */
function numberBounds(schema: z.core.$ZodType): { minimum?: number; maximum?: number } | undefined {
  const def = schema._zod.def as { type: string; in?: z.core.$ZodType; out?: z.core.$ZodType };
  if (def.type !== 'pipe' || def.in === undefined || def.out === undefined) return undefined;
  // The pipe's output is a plain z.number() with its bounds: zod writes them as JSON Schema when asked for that schema alone.
  const out = def.out._zod.def.type === 'number' ? (z.toJSONSchema(def.out) as { minimum?: number; maximum?: number }) : {};
  const own = { ...(out.minimum === undefined ? {} : { minimum: out.minimum }), ...(out.maximum === undefined ? {} : { maximum: out.maximum }) };
  const inner = numberBounds(def.in) ?? {};
  const merged = { ...inner, ...own };
  return Object.keys(merged).length === 0 ? undefined : merged;
}

/**
 * zod writes a discriminated union (a mailbox per grant type) as oneOf:
 * exactly one variant must match. Once `grantType: ${GRANT}` is allowed it
 * matches every variant, and oneOf would refuse what the reader accepts; the
 * variants are otherwise disjoint, so anyOf says the same and keeps that case.
 */
function oneOfAsAnyOf(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(oneOfAsAnyOf);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(Object.entries(node).map(([name, value]) => [name === 'oneOf' ? 'anyOf' : name, oneOfAsAnyOf(value)]));
}

/** z.number().int() says ±Number.MAX_SAFE_INTEGER, which tells a reader nothing. */
function dropSafeIntegerBounds(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(dropSafeIntegerBounds);
  if (node === null || typeof node !== 'object') return node;
  const out: JsonSchema = {};
  for (const [name, value] of Object.entries(node)) {
    if ((name === 'minimum' && value === Number.MIN_SAFE_INTEGER) || (name === 'maximum' && value === Number.MAX_SAFE_INTEGER)) continue;
    out[name] = dropSafeIntegerBounds(value);
  }
  return out;
}

const SCALAR_TYPES = new Set(['string', 'integer', 'number', 'boolean']);

/** Whether the value may be a scalar the YAML could write as `${NAME}` instead (null is no such value: an empty key). */
function takesScalar(node: JsonSchema): boolean {
  for (const union of [node.anyOf, node.oneOf]) if (Array.isArray(union)) return (union as JsonSchema[]).some(takesScalar);
  return node.const !== undefined || node.enum !== undefined || (typeof node.type === 'string' && SCALAR_TYPES.has(node.type));
}

/** A string with no rule beyond being non-empty: `${NAME}` passes it as written. */
function takesAnyString(node: JsonSchema): boolean {
  if (Array.isArray(node.anyOf)) return (node.anyOf as JsonSchema[]).some(takesAnyString);
  return node.type === 'string' && node.pattern === undefined && node.enum === undefined && node.const === undefined && node.format === undefined && node.maxLength === undefined;
}

/**
 * The reader replaces `${NAME}` in every string before it checks a value,
 * so `tenantId: ${TENANT}`, `leadTimeSeconds: ${LEAD}` (digits) and `admin:
 * ${ADMIN}` ("true"/"false") are all fine as written. Every scalar place
 * that would refuse such a string gets it as one more alternative.
 */
function allowEnvironmentReferences(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(allowEnvironmentReferences);
  if (node === null || typeof node !== 'object') return node;
  const schema = node as JsonSchema;
  const out: JsonSchema = {};
  for (const [name, value] of Object.entries(schema)) {
    if (name === 'properties' && value !== null && typeof value === 'object') {
      out[name] = Object.fromEntries(Object.entries(value).map(([key, child]) => [key, widen(child as JsonSchema)]));
    } else if ((name === 'items' || name === 'additionalProperties') && value !== null && typeof value === 'object') {
      out[name] = widen(value as JsonSchema);
    } else if ((name === 'anyOf' || name === 'oneOf') && Array.isArray(value)) {
      out[name] = value.map(allowEnvironmentReferences);
    } else {
      out[name] = value;
    }
  }
  return out;
}

function widen(node: JsonSchema): JsonSchema {
  const inner = allowEnvironmentReferences(node) as JsonSchema;
  if (!takesScalar(inner) || takesAnyString(inner)) return inner;
  const reference = { $ref: ENVIRONMENT_REFERENCE_REF };
  if (Array.isArray(inner.anyOf)) return { ...inner, anyOf: [...(inner.anyOf as JsonSchema[]), reference] };
  const outside: JsonSchema = {};
  const value: JsonSchema = {};
  for (const [name, item] of Object.entries(inner)) (ANNOTATIONS.includes(name) ? outside : value)[name] = item;
  return { ...outside, anyOf: [value, reference] };
}
