// Turns YAML text into a small tree that remembers where every key and value
// sits (1-based line:column), so each problem can point into the file.
// Duplicate keys, aliases and `<<` merge keys are settled here, once. A file
// written to hurt (an alias inside its own anchor, an alias bomb, nesting
// 100,000 levels deep) ends in a problem like any other mistake: never in a
// thrown error, a stall or a tree too big to read.
import { Composer, isAlias, isMap, isNode, isScalar, isSeq, LineCounter, Parser, YAMLParseError } from 'yaml';
import type { Alias, CST, Document, Node as YamlNode, Pair, YAMLError } from 'yaml';
import type { Position, ProblemSink } from './problems.js';
import { describeYamlError } from './yaml-errors.js';
import { measureCst } from './yaml-nesting.js';

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

/**
 * Deeper than any config nests (server.clients[0].mailboxes is 5 levels),
 * and shallow enough that the recursion of the yaml package's composer, of
 * the Walker below and of the readers (reader.ts) stays far from the end of
 * the stack on any thread.
 */
export const MAX_NESTING = 64;

/**
 * Aliases may add at most this many times the values written in the file
 * (and at least ALIAS_EXPANSION_FLOOR): a defaults block merged into every
 * mailbox adds a few times the file, an alias bomb ("billion laughs", 9
 * levels of 9 aliases: 387 million values) far more. The yaml package's own
 * guard (maxAliasCount, 100 per anchor by default, in toJS) counts the uses of
 * each anchor, which would refuse one defaults block merged into 101
 * mailboxes; the size of the expansion is what costs memory, so that is what
 * is bounded.
 */
export const ALIAS_EXPANSION_FACTOR = 10;
export const ALIAS_EXPANSION_FLOOR = 10_000;

/** Syntax errors (and warnings) listed one by one; a file with more is broken throughout, and the list would only bury the first. */
const MAX_LISTED = 20;

const TOO_DEEP = `YAML nested more than ${MAX_NESTING} levels deep; a config needs only a few levels: look for an unclosed [ or { or runaway indentation`;

/**
 * Parses `text`; on a YAML syntax error, an empty file, or a file too deep or
 * expanding too far, reports it and returns undefined, because validating a
 * half-parsed file would only add confusing follow-up errors.
 */
export function parseYamlSource(text: string, sink: ProblemSink): SourceNode | undefined {
  const lineCounter = new LineCounter();
  const position = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  // What parseDocument does, in its two steps: the parse (CST) is measured before the composer, which recurses per level, runs.
  const tokens = [...new Parser(lineCounter.addNewLine).parse(text)];
  const shape = measureCst(tokens, MAX_NESTING);
  if (shape.tooDeepAt !== undefined) {
    sink.error('', TOO_DEEP, position(shape.tooDeepAt));
    return undefined;
  }
  const doc = composeOneDocument(tokens, text.length);
  if (doc === undefined) {
    sink.error('', 'the file is empty; a config needs at least a mailboxes section');
    return undefined;
  }
  report(doc.errors, (at, message) => sink.error('', `YAML syntax error: ${message}`, at), position);
  report(doc.warnings, (at, message) => sink.warning('', `YAML: ${message}`, at), position);
  if (doc.errors.length > 0) return undefined;
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    sink.error('', 'the file is empty; a config needs at least a mailboxes section');
    return undefined;
  }
  const expansionLimit = Math.max(ALIAS_EXPANSION_FACTOR * shape.values, ALIAS_EXPANSION_FLOOR);
  const walker = new Walker(text, position, sink, expansionLimit, shape.values);
  const root = walker.convert(doc.contents, '', 0, { line: 1, column: 1 });
  return walker.failed ? undefined : root.node;
}

/** The first document, as parseDocument gives it: a second one is an error. */
function composeOneDocument(tokens: readonly CST.Token[], length: number): Document.Parsed | undefined {
  const composer = new Composer({ uniqueKeys: false, merge: true });
  let first: Document.Parsed | undefined;
  // With forceDoc, compose() yields a document also for an empty text.
  for (const doc of composer.compose(tokens, true, length)) {
    if (first !== undefined) {
      first.errors.push(new YAMLParseError([doc.range[0], doc.range[1]], 'MULTIPLE_DOCS', 'Source contains multiple documents'));
      break;
    }
    first = doc;
  }
  return first;
}

/** Each error in our words at its position (describeYamlError: never the file's text); past MAX_LISTED, one line with the count. */
function report(errors: readonly YAMLError[], add: (at: Position, message: string) => void, position: (offset: number) => Position): void {
  errors.slice(0, MAX_LISTED).forEach((error) => add(position(error.pos[0]), describeYamlError(error)));
  const unlisted = errors[MAX_LISTED];
  if (unlisted !== undefined) add(position(unlisted.pos[0]), `and ${errors.length - MAX_LISTED} more from here on, not listed; fix the ones above first`);
}

/** A converted node with what its expansion costs: every value once aliases are expanded, and how many collections deep it reaches. */
interface Converted {
  readonly node: SourceNode;
  /** Values (scalars and collections) in the node with every alias inside it expanded. */
  readonly size: number;
  /** Collections from this node down to its deepest value, aliases expanded: 0 for a scalar. */
  readonly height: number;
}

/**
 * Converts the yaml Document into SourceNodes, in file order. An alias is
 * resolved through a table of the anchors met so far (the last one of its
 * name before it, as YAML says), and its anchor's node is converted once and
 * shared: yaml's Alias.resolve searches the whole document for each alias,
 * which made 16,000 aliases take 85 s, and converting the anchor's node again
 * at each alias would expand an alias bomb. Sharing makes the tree a DAG that
 * readers expand (reader.ts turns values into plain objects), so the expanded
 * size and depth are counted here and bounded before anyone expands it.
 */
class Walker {
  /** The last node met with each anchor name. */
  readonly #anchors = new Map<string, YamlNode>();
  /** Each anchored node, converted once. */
  readonly #converted = new Map<YamlNode, Converted>();
  /** Anchored nodes being converted: an alias to one of them sits inside its own anchor. */
  readonly #open = new Set<YamlNode>();
  /** Values the aliases added so far. */
  #expanded = 0;
  /** A problem was reported: the tree is not handed on. */
  #failed = false;
  /** The file is too deep or expands too far: the rest is not converted (it would only repeat the problem). */
  #stopped = false;

  constructor(
    private readonly text: string,
    private readonly position: (offset: number) => Position,
    private readonly sink: ProblemSink,
    private readonly expansionLimit: number,
    private readonly writtenValues: number,
  ) {}

  get failed(): boolean {
    return this.#failed;
  }

  /** `level`: the collections around `node`. */
  convert(node: YamlNode | null | undefined, path: string, level: number, fallback: Position): Converted {
    if (node === null || node === undefined || this.#stopped) return leaf({ kind: 'scalar', at: fallback, value: null });
    const at = node.range ? this.position(node.range[0]) : fallback;
    if (isAlias(node)) return this.#alias(node, path, level, at);
    const anchor = isScalar(node) || isMap(node) || isSeq(node) ? node.anchor : undefined;
    if (anchor === undefined) return this.#value(node, path, level, at);
    this.#anchors.set(anchor, node);
    this.#open.add(node);
    const converted = this.#value(node, path, level, at);
    this.#open.delete(node);
    this.#converted.set(node, converted);
    return converted;
  }

  #alias(alias: Alias, path: string, level: number, at: Position): Converted {
    const empty = leaf({ kind: 'scalar', at, value: null });
    const target = this.#anchors.get(alias.source);
    // The alias's name is not quoted: a password that starts with * is read as an alias.
    if (target === undefined) return this.#fail(empty, path, 'this alias (*) names no anchor (&) defined above it; define the anchor first, or put the value in quotes if it is text that starts with *', at);
    if (this.#open.has(target)) return this.#fail(empty, path, 'this alias (*) is inside the value its anchor (&) marks, so it would expand without end; point it at another anchor, or write the value out', at);
    const converted = this.#converted.get(target) ?? this.convert(target, path, level, at);
    if (level + converted.height > MAX_NESTING) {
      this.#stopped = true;
      return this.#fail(empty, path, `aliases (*) nest values here more than ${MAX_NESTING} levels deep; a config needs only a few levels: write the values out`, at);
    }
    this.#expanded += converted.size;
    if (this.#expanded > this.expansionLimit) {
      this.#stopped = true;
      return this.#fail(
        empty,
        path,
        `aliases (*) expand this file to more than ${this.expansionLimit} values (the limit: ${ALIAS_EXPANSION_FACTOR} times the ${this.writtenValues} values written in it, and never less than ${ALIAS_EXPANSION_FLOOR}); aliases are for a few shared settings: write the values out instead`,
        at,
      );
    }
    return converted;
  }

  #value(node: YamlNode, path: string, level: number, at: Position): Converted {
    if ((isSeq(node) || isMap(node)) && level + 1 > MAX_NESTING) {
      // The CST was measured before; a flow pair ([a: b]) composes one level more than it parses.
      this.#stopped = true;
      return this.#fail(leaf({ kind: 'scalar', at, value: null }), path, TOO_DEEP, at);
    }
    if (isSeq(node)) {
      const items = node.items.map((item, index) => this.convert(asNode(item), `${path}[${index}]`, level + 1, at));
      return collection({ kind: 'seq', at, items: items.map((item) => item.node) }, items);
    }
    if (isMap(node)) return this.#map(node.items, path, level, at);
    if (isScalar(node)) {
      const value = node.value;
      if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return leaf({ kind: 'scalar', at, value });
      // Other values (e.g. !!binary) are not config values; keep their text.
      return leaf({ kind: 'scalar', at, value: node.source ?? this.text.slice(node.range?.[0] ?? 0, node.range?.[1] ?? 0) });
    }
    return leaf({ kind: 'scalar', at, value: null });
  }

  #map(pairs: readonly Pair<unknown, unknown>[], path: string, level: number, at: Position): Converted {
    const entries = new Map<string, SourceEntry>();
    const parts: Converted[] = [];
    const merged: SourceMap[] = [];
    for (const pair of pairs) {
      const key = asNode(pair.key);
      const value = asNode(pair.value);
      const keyAt = key?.range ? this.position(key.range[0]) : at;
      if (isScalar(key) && typeof key.value === 'symbol') {
        // `<<: *defaults` (or a list of aliases): explicit keys win over merged ones.
        const sources = isSeq(value) ? value.items : [value];
        for (const source of sources) {
          const errors = this.sink.errorCount;
          // At this map's level: the merged entries become this map's own, and a chain of merges stays one level deep.
          const resolved = this.convert(asNode(source), path, level, keyAt);
          if (resolved.node.kind === 'map') {
            merged.push(resolved.node);
            parts.push({ node: resolved.node, size: resolved.size - 1, height: resolved.height - 1 });
          } else if (this.sink.errorCount === errors && !this.#stopped) {
            // (An alias that failed has said why; after a stop nothing more is converted.)
            this.sink.error(path, 'a << merge key needs an alias of a mapping (<<: *name); fix or remove it', keyAt);
          }
        }
        continue;
      }
      // An anchor on a key is met in file order like any other (an alias may name it later).
      if (isScalar(key) && key.anchor !== undefined) this.convert(key, path, level + 1, keyAt);
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
      const converted = this.convert(value, entryPath, level + 1, keyAt);
      parts.push(converted);
      entries.set(name, { key: name, keyAt, value: converted.node });
    }
    for (const source of merged) {
      for (const [name, entry] of source.entries) if (!entries.has(name)) entries.set(name, entry);
    }
    return collection({ kind: 'map', at, entries }, parts);
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

  #fail(result: Converted, path: string, message: string, at: Position): Converted {
    this.#failed = true;
    this.sink.error(path, message, at);
    return result;
  }
}

function leaf(node: SourceScalar): Converted {
  return { node, size: 1, height: 0 };
}

function collection(node: SourceMap | SourceSeq, parts: readonly Converted[]): Converted {
  let size = 1;
  let height = 0;
  for (const part of parts) {
    size += part.size;
    height = Math.max(height, part.height);
  }
  return { node, size, height: height + 1 };
}

function asNode(value: unknown): YamlNode | null {
  return isNode(value) ? value : null;
}
