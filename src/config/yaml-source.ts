// Turns YAML text into a small tree that remembers where every key and value
// sits (1-based line:column), so each problem can point into the file.
// Duplicate keys, aliases and `<<` merge keys are settled here, once.
import { isAlias, isMap, isNode, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Document, Node as YamlNode, Pair, YAMLError } from 'yaml';
import type { Position, ProblemSink } from './problems.js';
import { describeYamlError } from './yaml-errors.js';

export interface SourceScalar {
  readonly kind: 'scalar';
  readonly at: Position;
  readonly value: string | number | boolean | null;
}

export interface SourceEntry {
  readonly key: string;
  readonly keyAt: Position;
  readonly value: SourceNode;
}

export interface SourceMap {
  readonly kind: 'map';
  readonly at: Position;
  /** In file order; a duplicate key keeps its first occurrence (the second is reported). */
  readonly entries: ReadonlyMap<string, SourceEntry>;
}

export interface SourceSeq {
  readonly kind: 'seq';
  readonly at: Position;
  readonly items: readonly SourceNode[];
}

export type SourceNode = SourceScalar | SourceMap | SourceSeq;

/** More nodes than any sane config has: stops alias bombs ("billion laughs"). */
const NODE_BUDGET = 100_000;

/** Syntax errors (and warnings) listed one by one; a file with more is broken throughout, and the list would only bury the first. */
const MAX_LISTED = 20;

/**
 * Parses `text`; on a YAML syntax error, or an empty file, reports it and
 * returns undefined, because validating a half-parsed file would only add
 * confusing follow-up errors.
 */
export function parseYamlSource(text: string, sink: ProblemSink): SourceNode | undefined {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: false, merge: true });
  const position = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  report(doc.errors, (at, message) => sink.error('', `YAML syntax error: ${message}`, at), position);
  report(doc.warnings, (at, message) => sink.warning('', `YAML: ${message}`, at), position);
  if (doc.errors.length > 0) return undefined;
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    sink.error('', 'the file is empty; a config needs at least a mailboxes section');
    return undefined;
  }
  const walker = new Walker(doc, text, position, sink);
  return walker.node(doc.contents, '');
}

/** Each error in our words at its position (describeYamlError: never the file's text); past MAX_LISTED, one line with the count. */
function report(errors: readonly YAMLError[], add: (at: Position, message: string) => void, position: (offset: number) => Position): void {
  errors.slice(0, MAX_LISTED).forEach((error) => add(position(error.pos[0]), describeYamlError(error)));
  const unlisted = errors[MAX_LISTED];
  if (unlisted !== undefined) add(position(unlisted.pos[0]), `and ${errors.length - MAX_LISTED} more from here on, not listed; fix the ones above first`);
}

class Walker {
  #budget = NODE_BUDGET;

  constructor(
    private readonly doc: Document,
    private readonly text: string,
    private readonly position: (offset: number) => Position,
    private readonly sink: ProblemSink,
  ) {}

  node(node: YamlNode | null | undefined, path: string, fallback?: Position): SourceNode {
    this.#budget -= 1;
    if (node === null || node === undefined) return { kind: 'scalar', at: fallback ?? { line: 1, column: 1 }, value: null };
    const at = node.range ? this.position(node.range[0]) : (fallback ?? { line: 1, column: 1 });
    if (this.#budget < 0) {
      if (this.#budget === -1) this.sink.error(path, 'too many nodes (aliases expanding without end?); simplify the file', at);
      return { kind: 'scalar', at, value: null };
    }
    if (isAlias(node)) {
      const target = node.resolve(this.doc);
      return target === undefined ? { kind: 'scalar', at, value: null } : this.node(target, path, at);
    }
    if (isSeq(node)) {
      return { kind: 'seq', at, items: node.items.map((item, index) => this.node(asNode(item), `${path}[${index}]`, at)) };
    }
    if (isMap(node)) return this.map(node.items, path, at);
    if (isScalar(node)) {
      const value = node.value;
      if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return { kind: 'scalar', at, value };
      // Other values (e.g. !!binary) are not config values; keep their text.
      return { kind: 'scalar', at, value: node.source ?? this.text.slice(node.range?.[0] ?? 0, node.range?.[1] ?? 0) };
    }
    return { kind: 'scalar', at, value: null };
  }

  map(pairs: readonly Pair<unknown, unknown>[], path: string, at: Position): SourceMap {
    const entries = new Map<string, SourceEntry>();
    const merged: SourceMap[] = [];
    for (const pair of pairs) {
      const key = asNode(pair.key);
      const value = asNode(pair.value);
      const keyAt = key?.range ? this.position(key.range[0]) : at;
      if (isScalar(key) && typeof key.value === 'symbol') {
        // `<<: *defaults` (or a list of aliases): explicit keys win over merged ones.
        const sources = isSeq(value) ? value.items : [value];
        for (const source of sources) {
          const resolved = this.node(asNode(source), path, keyAt);
          if (resolved.kind === 'map') merged.push(resolved);
          else this.sink.error(path, 'a << merge key needs an alias of a mapping (<<: *name); fix or remove it', keyAt);
        }
        continue;
      }
      const name = this.keyText(key);
      const entryPath = path === '' ? (name ?? '') : `${path}.${name ?? ''}`;
      if (name === undefined) {
        this.sink.error(path, 'keys must be plain strings; quote this key or remove it', keyAt);
        continue;
      }
      const first = entries.get(name);
      if (first !== undefined) {
        this.sink.error(entryPath, `duplicate key; it is already set at line ${first.keyAt.line}; keep one of them`, keyAt);
        continue;
      }
      entries.set(name, { key: name, keyAt, value: this.node(value, entryPath, keyAt) });
    }
    for (const source of merged) {
      for (const [name, entry] of source.entries) if (!entries.has(name)) entries.set(name, entry);
    }
    return { kind: 'map', at, entries };
  }

  /** The key as written: `0660:` stays "0660", not the number 660. */
  keyText(key: YamlNode | null): string | undefined {
    if (!isScalar(key)) return undefined;
    if (typeof key.value === 'string') return key.value;
    if (typeof key.value === 'number' || typeof key.value === 'boolean') {
      return key.range ? this.text.slice(key.range[0], key.range[1]) : String(key.value);
    }
    return undefined;
  }
}

function asNode(value: unknown): YamlNode | null {
  return isNode(value) ? value : null;
}
