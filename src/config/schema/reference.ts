// The configuration reference (docs/configuration.md), generated from the
// JSON Schema: every key with its type, whether it is required, its default
// and its description. Reading the JSON Schema rather than zod means the
// page says exactly what editors are told.
import { SCHEMA_FILE } from './json-schema.js';
import type { JsonSchema } from './json-schema.js';

/** One key of the file, as the reference lists it. */
export interface ReferenceEntry {
  /** Dotted, with `<mailbox>` for a name the operator chooses and `[]` for the items of a list: `server.clients[].name`. */
  readonly path: string;
  readonly type: string;
  /** `required`, `optional`, or which variants require it and which variants it applies to at all. */
  readonly required: string;
  readonly default?: unknown;
  readonly description: string;
  /** A secret written inline (`writeOnly`), or the file holding one (`xFile` beside it). */
  readonly secret?: 'inline' | 'file';
}

/** A top-level key: its own description and the keys under it. */
export interface ReferenceSection {
  readonly name: string;
  readonly description: string;
  readonly entries: readonly ReferenceEntry[];
}

const ENVIRONMENT_REF = '#/$defs/environmentReference';

export function referenceSections(schema: JsonSchema): ReferenceSection[] {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  return Object.entries(properties).map(([name, node]) => {
    const section = unwrapNullable(node).schema;
    const entries: ReferenceEntry[] = [];
    walkChildren(section, name, entries);
    return { name, description: textOf(node.description ?? section.description), entries };
  });
}

/** Every key's entry, in file order, without the top-level sections themselves. */
export function referenceEntries(schema: JsonSchema): ReferenceEntry[] {
  return referenceSections(schema).flatMap((section) => section.entries);
}

function unwrapNullable(node: JsonSchema): { schema: JsonSchema; nullable: boolean } {
  const branches = node.anyOf as JsonSchema[] | undefined;
  if (branches?.length === 2 && branches.some((branch) => branch.type === 'null')) {
    const inner = branches.find((branch) => branch.type !== 'null') ?? {};
    return { schema: { ...inner, ...annotations(node) }, nullable: true };
  }
  return { schema: node, nullable: false };
}

function annotations(node: JsonSchema): JsonSchema {
  return Object.fromEntries(Object.entries(node).filter(([name]) => ['description', 'default', 'examples', 'title', 'writeOnly'].includes(name)));
}

/** The keys under a mapping (its properties, its named entries, or the keys of its variants). */
function walkChildren(node: JsonSchema, path: string, entries: ReferenceEntry[]): void {
  const variants = variantsOf(node);
  if (variants !== undefined) {
    walkVariants(variants, path, entries);
    return;
  }
  const properties = (node.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((node.required ?? []) as string[]);
  const named = node.additionalProperties;
  // Beside named entries, fixed keys are built-in entries (authorizationServers.microsoft): their keys are those of the named entries.
  const builtIn = named !== undefined && typeof named === 'object';
  for (const [key, child] of Object.entries(properties)) walkKey(child, `${path}.${key}`, required.has(key) ? 'required' : 'optional', entries, !builtIn);
  if (named !== undefined && typeof named === 'object' && named !== null) {
    const title = textOf((node.propertyNames as JsonSchema | undefined)?.title, 'name');
    walkChildren(named as JsonSchema, `${path}.<${title}>`, entries);
  }
}

/** The variants of a mapping (a mailbox per grant type, a server per type): anyOf branches that are all mappings. */
function variantsOf(node: JsonSchema): JsonSchema[] | undefined {
  const branches = node.anyOf as JsonSchema[] | undefined;
  return branches !== undefined && branches.length > 1 && branches.every((branch) => branch.type === 'object') ? branches : undefined;
}

function walkKey(node: JsonSchema, path: string, required: string, entries: ReferenceEntry[], descend = true): void {
  const { schema, nullable } = unwrapNullable(node);
  const isMapping = schema.type === 'object' || variantsOf(schema) !== undefined;
  const isListOfMappings = schema.type === 'array' && (schema.items as JsonSchema | undefined)?.type === 'object';
  const secret = schema.writeOnly === true ? 'inline' : path.endsWith('File') && isSecretFile(path, entries) ? 'file' : undefined;
  entries.push({
    path,
    type: isMapping ? 'mapping' : isListOfMappings ? 'list of mappings' : typeOf(schema),
    required,
    ...(schema.default === undefined ? {} : { default: schema.default }),
    description: `${textOf(schema.description)}${nullable ? ' May be left empty.' : ''}`.trim(),
    ...(secret === undefined ? {} : { secret }),
  });
  if (isMapping && descend) walkChildren(schema, path, entries);
  if (isListOfMappings && descend) walkChildren(schema.items as JsonSchema, `${path}[]`, entries);
}

/** `xFile` right after an inline secret `x`. */
function isSecretFile(path: string, entries: readonly ReferenceEntry[]): boolean {
  const inline = path.slice(0, -'File'.length);
  return entries.some((entry) => entry.path === inline && entry.secret === 'inline');
}

/**
 * Variants (a mailbox per grant type, a server per type): each key once, in
 * the order first met, with the variants it applies to and those that
 * require it. A key must mean the same in every variant: a description that
 * differs is a mistake in the schema, and generation stops on it.
 */
function walkVariants(variants: readonly JsonSchema[], path: string, entries: ReferenceEntry[]): void {
  const names = variants.map((variant, index) => textOf(variant.title, `variant ${index + 1}`));
  const keys = new Map<string, { node: JsonSchema; in: string[]; requiredIn: string[]; types: Set<string> }>();
  variants.forEach((variant, index) => {
    const name = names[index] ?? '';
    const required = new Set((variant.required ?? []) as string[]);
    for (const [key, node] of Object.entries((variant.properties ?? {}) as Record<string, JsonSchema>)) {
      const seen = keys.get(key) ?? { node, in: [], requiredIn: [], types: new Set<string>() };
      if (seen.node.description !== node.description) {
        throw new Error(`${path}.${key} is described differently in ${seen.in[0] ?? ''} and ${name}; give it one description`);
      }
      seen.in.push(name);
      if (required.has(key)) seen.requiredIn.push(name);
      for (const value of constValues(node)) seen.types.add(value);
      keys.set(key, seen);
    }
  });
  // File order: a key first met in a later variant goes right after the key it follows there (certificate after clientSecretExpiresAt, not at the end).
  const order: string[] = [];
  for (const variant of variants) {
    let previous = -1;
    for (const key of Object.keys(variant.properties ?? {})) {
      const at = order.indexOf(key);
      if (at === -1) order.splice(previous + 1, 0, key);
      previous = order.indexOf(key);
    }
  }
  const discriminator = [...keys].find(([, key]) => key.types.size === variants.length && key.in.length === variants.length)?.[0];
  for (const key of order) {
    const seen = keys.get(key);
    if (seen === undefined) continue;
    const start = entries.length;
    walkKey(seen.node, `${path}.${key}`, variantRule(seen.in, seen.requiredIn, names), entries);
    const entry = entries[start];
    if (key === discriminator && entry !== undefined) entries[start] = { ...entry, type: `one of: ${names.map(code).join(', ')}` };
    else if (entry !== undefined) {
      // A key whose allowed values differ by variant (protocol): all of them; the description says which go together.
      const perVariant = variants.map((variant) => enumValues(((variant.properties ?? {}) as Record<string, JsonSchema>)[key] ?? {}) ?? []);
      const values = new Set(perVariant.flat());
      if (perVariant.some((each) => each.length > 0 && each.length !== values.size)) entries[start] = { ...entry, type: `one of: ${[...values].map(code).join(', ')}` };
    }
  }
}

function variantRule(present: readonly string[], requiredIn: readonly string[], all: readonly string[]): string {
  const list = (names: readonly string[]) => names.map(code).join(', ');
  const optionalIn = present.filter((name) => !requiredIn.includes(name));
  const scope = present.length === all.length ? '' : `; only for ${list(present)}`;
  if (requiredIn.length === present.length) return `required${scope}`;
  if (requiredIn.length === 0) return `optional${scope}`;
  return `required for ${list(requiredIn)}; optional for ${list(optionalIn)}`;
}

function constValues(node: JsonSchema): string[] {
  const branches = (node.anyOf as JsonSchema[] | undefined) ?? [node];
  return branches.flatMap((branch) => (typeof branch.const === 'string' ? [branch.const] : []));
}

function enumValues(node: JsonSchema): string[] | undefined {
  const branches = (node.anyOf as JsonSchema[] | undefined) ?? [node];
  const found = branches.find((branch) => Array.isArray(branch.enum));
  return found === undefined ? undefined : (found.enum as string[]);
}

/** The type as a reader of the page wants it: the `${NAME}` form and the string forms of numbers and booleans are said once, at the top. */
function typeOf(node: JsonSchema): string {
  const branches = ((node.anyOf as JsonSchema[] | undefined) ?? [node]).filter((branch) => branch.$ref !== ENVIRONMENT_REF);
  const hasInteger = branches.some((branch) => branch.type === 'integer');
  const hasBoolean = branches.some((branch) => branch.type === 'boolean');
  const shown = branches.filter((branch) => !(hasInteger && branch.type === 'string' && branch.pattern === '^\\d+$') && !(hasBoolean && Array.isArray(branch.enum)));
  return [...new Set(shown.map(branchType))].join(' or ');
}

function branchType(node: JsonSchema): string {
  if (typeof node.const === 'string') return code(node.const);
  if (Array.isArray(node.enum)) return `one of: ${(node.enum as string[]).map(code).join(', ')}`;
  if (node.type === 'integer') return `whole number${bounds(node)}`;
  if (node.type === 'boolean') return 'true or false';
  if (node.type === 'array') {
    const items = (node.items ?? {}) as JsonSchema;
    return `list of ${typeOf(items).replace(/^string$/, 'strings')}`;
  }
  if (node.type === 'object') return 'mapping';
  if (node.type === 'string') return 'string';
  return 'any';
}

function bounds(node: JsonSchema): string {
  const { minimum, maximum } = node as { minimum?: number; maximum?: number };
  if (minimum !== undefined && maximum !== undefined) return ` (${minimum.toLocaleString('en-US')} to ${maximum.toLocaleString('en-US')})`;
  if (minimum !== undefined) return ` (${minimum.toLocaleString('en-US')} or more)`;
  return '';
}

/** A keyword that holds text (description, title), or `fallback`. */
function textOf(value: unknown, fallback = ''): string {
  return typeof value === 'string' ? value : fallback;
}

function code(text: string): string {
  return `\`${text}\``;
}

/** Text for a table cell: no line breaks or bare `|`, and `<mailbox>` outside code spans kept from reading as an HTML tag. */
function cell(text: string): string {
  return prose(text).replaceAll('|', '\\|').replaceAll('\n', ' ');
}

function prose(text: string): string {
  return text
    .split('`')
    .map((part, index) => (index % 2 === 0 ? part.replaceAll('<', '&lt;').replaceAll('>', '&gt;') : part))
    .join('`');
}

function defaultText(value: unknown): string {
  if (value === undefined) return '';
  if (Array.isArray(value)) return code(`[${value.map((item) => String(item)).join(', ')}]`);
  return code(typeof value === 'string' ? (/^[0-9]/.test(value) ? `"${value}"` : value) : JSON.stringify(value));
}

/** The command that rewrites the generated files; drift tests name it. */
export const REGENERATE_COMMAND = 'npm run generate:config-docs';

const INSTALLED_SCHEMA = '/usr/local/lib/node_modules/mailbox-token-broker/schema/broker.schema.json';

export function configurationReference(schema: JsonSchema): string {
  const lines = [
    '# Configuration reference',
    '',
    `> Generated by \`${REGENERATE_COMMAND}\` from the document schema in \`src/config/schema/\`, which is made of the config reader's own field schemas; do not edit it by hand. \`test/unit/config-schema-drift.test.ts\` fails when this page differs from what the code generates.`,
    '',
    "token-broker reads one YAML file: `--config FILE`, else `$TOKEN_BROKER_CONFIG`, else `/etc/token-broker/broker.yaml`. `token-broker validate --config FILE` prints every problem at once, each with its line and column (exit 0 valid, 78 invalid); the running daemon reloads the file on change, SIGHUP or `token-broker reload`. This page lists every key the file may hold.",
    '',
    '- Unknown keys are errors. Every section and key is optional unless the table says *required*.',
    "- Any string may use `${NAME}`, replaced from the broker's environment when the file is loaded (`$${` writes a literal `${`). A number or a boolean may be written that way too: the reader takes a string of digits for a number and `\"true\"`/`\"false\"` for a boolean, after the replacement.",
    '- Every secret `x` (marked **secret**) may instead be given as `xFile`: a file read at load time, one trailing newline dropped, at most 64 KiB, and a warning (an error with `--strict`) when its group or other users may read it. Never both.',
    "- Relative paths count from the config file's folder.",
    "- Some rules join several keys (a mailbox's grant type and its authorization server's type, a proxy and its username, `audit.file` or `audit.stdout`): the descriptions say them, `token-broker validate` checks them.",
    '',
    '## Editor support',
    '',
    `The package ships a JSON Schema of this file, \`${SCHEMA_FILE}\`, generated from the same schema as this page. It declares draft 2020-12 but uses only keywords draft-07 also has, so editors that validate with draft-07 (yaml-language-server today) read all of it. Editors that use yaml-language-server (the YAML extension of VS Code, Neovim and Helix with yamlls) complete keys, show these descriptions and flag mistakes as you type once the file names its schema in a comment at the top:`,
    '',
    '```yaml',
    `# yaml-language-server: $schema=${INSTALLED_SCHEMA}`,
    '```',
    '',
    `That is where \`npm install -g\` puts the package with npm's default prefix, /usr/local; \`npm root -g\` prints the folder on another system. Other editors (JetBrains IDEs) map the schema file to the config in their JSON Schema settings instead. \`config/broker.example.yaml\` names \`../schema/broker.schema.json\`, a path relative to itself that works in the repository and in the installed package; a copy in /etc/token-broker/ points at the installed file as above. A \`\${NAME}\` is accepted wherever a value is expected (the schema's \`environmentReference\`): the value it brings is checked by \`token-broker validate\`, not by the editor. Nor can the schema check what needs the files or other keys (which server a mailbox names, a certificate's thumbprint): \`validate\` does.`,
    '',
  ];
  for (const section of referenceSections(schema)) {
    lines.push(`## \`${section.name}\``, '', prose(section.description), '');
    lines.push('| Key | Type | Required | Default | Description |', '|---|---|---|---|---|');
    for (const entry of section.entries) {
      const type = entry.secret === 'inline' ? `${entry.type}, **secret**` : entry.secret === 'file' ? 'file path (**secret** file)' : entry.type;
      lines.push(`| \`${entry.path}\` | ${cell(type)} | ${cell(entry.required)} | ${cell(defaultText(entry.default))} | ${cell(entry.description)} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
