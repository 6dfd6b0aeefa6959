// Reads one YAML mapping field by field: unknown keys are reported with a
// did-you-mean, each value is interpolated and checked on its own (a zod
// schema with our messages), and the outcome of each field is kept apart so
// later checks can tell "not given" from "given but wrong".
import type { z } from 'zod';
import type { LoadContext } from './context.js';
import { interpolate } from './interpolate.js';
import { joinPath } from './problems.js';
import type { Position } from './problems.js';
import { didYouMean } from './suggest.js';
import type { SourceEntry, SourceMap, SourceNode } from './yaml-source.js';

/** One field after reading: absent from the file, present but wrong (already reported), or good. */
export type Field<T> =
  | { readonly state: 'absent'; readonly path: string }
  | { readonly state: 'invalid'; readonly path: string; readonly at: Position; readonly valueAt: Position }
  | { readonly state: 'ok'; readonly path: string; readonly at: Position; readonly valueAt: Position; readonly value: T };

export type PresentField<T> = Exclude<Field<T>, { state: 'absent' }>;

export function isPresent<T>(field: Field<T>): field is PresentField<T> {
  return field.state !== 'absent';
}

export function valueOf<T>(field: Field<T>): T | undefined {
  return field.state === 'ok' ? field.value : undefined;
}

/** Describes what YAML produced, for "must be X, not Y" messages. */
export function kindOf(input: unknown): string {
  if (input === null || input === undefined) return 'empty';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a mapping';
  if (typeof input === 'boolean') return 'true/false';
  if (typeof input === 'number') return 'a number';
  return 'a string';
}

export class MappingReader {
  constructor(
    readonly ctx: LoadContext,
    readonly node: SourceMap,
    /** Dotted path of this mapping. */
    readonly path: string,
    /** Position of this mapping's own key: where "missing key" problems point. */
    readonly at: Position,
    known?: readonly string[],
  ) {
    if (known !== undefined) this.#reportUnknownKeys(known);
  }

  /** Opens the mapping under `key`; `null` (key with no value) counts as an empty mapping when `nullIsEmpty`. */
  static open(ctx: LoadContext, node: SourceNode, path: string, at: Position, known?: readonly string[], nullIsEmpty = false): MappingReader | undefined {
    if (node.kind === 'map') return new MappingReader(ctx, node, path, at, known);
    if (nullIsEmpty && node.kind === 'scalar' && node.value === null) return new MappingReader(ctx, { kind: 'map', at: node.at, entries: new Map() }, path, at, known);
    ctx.sink.error(path, `must be a mapping (key: value lines), not ${kindOfNode(node)}`, node.at);
    return undefined;
  }

  entries(): SourceEntry[] {
    return [...this.node.entries.values()];
  }

  entry(key: string): SourceEntry | undefined {
    return this.node.entries.get(key);
  }

  has(key: string): boolean {
    return this.node.entries.has(key);
  }

  childPath(key: string): string {
    return joinPath(this.path, key);
  }

  /** A required key that is not there: reported at this mapping's key. */
  missing(key: string, message: string): void {
    this.ctx.sink.error(this.childPath(key), message, this.at);
  }

  /** Reads a scalar or list value through `schema`. */
  field<T>(key: string, schema: z.ZodType<T>): Field<T> {
    const path = this.childPath(key);
    const entry = this.entry(key);
    if (entry === undefined) return { state: 'absent', path };
    const invalid = { state: 'invalid', path, at: entry.keyAt, valueAt: entry.value.at } as const;
    if (entry.value.kind === 'scalar' && entry.value.value === null) {
      this.ctx.sink.error(path, 'has no value; give one or remove the key', entry.keyAt);
      return invalid;
    }
    const input = this.#plain(entry.value, path);
    if (!input.ok) return invalid;
    const result = schema.safeParse(input.value);
    if (result.success) return { state: 'ok', path, at: entry.keyAt, valueAt: entry.value.at, value: result.data };
    const seen = new Set<string>();
    for (const issue of result.error.issues) {
      const issuePath = path + issue.path.map((segment) => (typeof segment === 'number' ? `[${segment}]` : `.${String(segment)}`)).join('');
      if (seen.has(issuePath)) continue;
      seen.add(issuePath);
      this.ctx.sink.error(issuePath, issue.message, nodeAt(entry.value, issue.path)?.at ?? entry.value.at);
    }
    return invalid;
  }

  /** The mapping under `key`, with its own known keys (undefined: any key, as under `mailboxes`). */
  mapping(key: string, known: readonly string[] | undefined, nullIsEmpty = false): Field<MappingReader> {
    const path = this.childPath(key);
    const entry = this.entry(key);
    if (entry === undefined) return { state: 'absent', path };
    if (!nullIsEmpty && entry.value.kind === 'scalar' && entry.value.value === null) {
      this.ctx.sink.error(path, 'has no value; give one or remove the key', entry.keyAt);
      return { state: 'invalid', path, at: entry.keyAt, valueAt: entry.value.at };
    }
    const reader = MappingReader.open(this.ctx, entry.value, path, entry.keyAt, known, nullIsEmpty);
    if (reader === undefined) return { state: 'invalid', path, at: entry.keyAt, valueAt: entry.value.at };
    return { state: 'ok', path, at: entry.keyAt, valueAt: entry.value.at, value: reader };
  }

  #reportUnknownKeys(known: readonly string[]): void {
    for (const entry of this.node.entries.values()) {
      if (known.includes(entry.key)) continue;
      this.ctx.sink.error(this.childPath(entry.key), `unknown key${didYouMean(entry.key, known)}; expected one of: ${known.join(', ')}`, entry.keyAt);
    }
  }

  /** Plain JS value for zod, with `${...}` replaced in every string; interpolation problems are reported here. */
  #plain(node: SourceNode, path: string): { ok: boolean; value: unknown } {
    if (node.kind === 'scalar') {
      if (typeof node.value !== 'string') return { ok: true, value: node.value };
      const result = interpolate(node.value, this.ctx.env);
      if (result.ok) return { ok: true, value: result.value };
      for (const message of result.messages) this.ctx.sink.error(path, message, node.at);
      return { ok: false, value: undefined };
    }
    if (node.kind === 'seq') {
      const items = node.items.map((item, index) => this.#plain(item, `${path}[${index}]`));
      return { ok: items.every((item) => item.ok), value: items.map((item) => item.value) };
    }
    const entries = [...node.entries.values()].map((entry) => [entry.key, this.#plain(entry.value, joinPath(path, entry.key))] as const);
    return { ok: entries.every(([, item]) => item.ok), value: Object.fromEntries(entries.map(([key, item]) => [key, item.value])) };
  }
}

export function kindOfNode(node: SourceNode): string {
  if (node.kind === 'map') return 'a mapping';
  if (node.kind === 'seq') return 'a list';
  return kindOf(node.value);
}

function nodeAt(node: SourceNode, path: readonly PropertyKey[]): SourceNode | undefined {
  let current: SourceNode | undefined = node;
  for (const segment of path) {
    if (current === undefined) return undefined;
    if (current.kind === 'seq' && typeof segment === 'number') current = current.items[segment];
    else if (current.kind === 'map' && typeof segment === 'string') current = current.entries.get(segment)?.value;
    else return current;
  }
  return current;
}
