// The glob patterns of server.clients[*].mailboxes: `*` any run of
// characters, `?` one character, `[...]` one of a set (`a-z` ranges, `!` for
// "none of"), everything else literal. Matched by the classic two-pointer
// wildcard walk with one backtrack point (the last `*`), so a match costs at
// most (pattern length + 1) × (name length + 1) steps whatever the input. A
// regex does not do: `^sales-.*-.*-imap$` backtracks quadratically or worse,
// and a name of 60,000 dashes blocked the event loop for seconds.
// Written here rather than taken from a glob library: mailbox names are flat
// identifiers, not paths (no `/` or dotfile rules), and the libraries compile
// to regexes, which is the problem. One implementation for the config's
// validation (globProblem, the warning for a pattern that matches nothing)
// and the server's matching, so the two cannot disagree about a pattern.

/** One position of a compiled pattern. */
type Token = { readonly kind: 'star' } | { readonly kind: 'one'; accepts(char: string): boolean };

export interface GlobPattern {
  readonly source: string;
  matches(name: string): boolean;
}

const STAR: Token = { kind: 'star' };
const ANY_ONE: Token = { kind: 'one', accepts: () => true };

export function compileGlob(pattern: string): GlobPattern {
  const tokens = tokenize(pattern);
  return { source: pattern, matches: (name) => walk(tokens, name).matched };
}

/** What is wrong with `pattern` as a glob, or undefined: a `[` that opens no set would only ever match a literal `[`, which no mailbox name has. */
export function globProblem(pattern: string): string | undefined {
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] !== '[') continue;
    const set = readSet(pattern, i);
    if (set === undefined) return `the [ at position ${i + 1} opens no set: close it with ], e.g. sales-[ab] for sales-a and sales-b`;
    i = set.end;
  }
  return undefined;
}

/** For tests: how many steps matching `name` takes, to show it grows linearly with the name. */
export function countMatchSteps(pattern: string, name: string): number {
  return walk(tokenize(pattern), name).steps;
}

/**
 * Characters are UTF-16 code units: configured names are ASCII (the config
 * allows letters, digits, ".", "_" and "-"), so only names that match nothing
 * configured could tell the difference.
 */
function walk(tokens: readonly Token[], name: string): { matched: boolean; steps: number } {
  let steps = 0;
  let t = 0;
  let n = 0;
  // Where the last `*` is, and where in the name it began: on a mismatch, that `*` swallows one more character.
  let starAt = -1;
  let starFrom = 0;
  while (n < name.length) {
    steps++;
    const token = tokens[t];
    if (token?.kind === 'star') {
      starAt = t++;
      starFrom = n;
    } else if (token !== undefined && token.accepts(name[n] as string)) {
      t++;
      n++;
    } else if (starAt >= 0) {
      // Everything before the last star matched already and need not be tried again: this is what keeps it linear per star.
      t = starAt + 1;
      n = ++starFrom;
    } else {
      return { matched: false, steps };
    }
  }
  while (tokens[t]?.kind === 'star') t++;
  return { matched: t === tokens.length, steps };
}

function tokenize(pattern: string): Token[] {
  const tokens: Token[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] as string;
    if (char === '*') {
      // `**` is `*`: consecutive stars would only add backtrack points.
      if (tokens.at(-1) !== STAR) tokens.push(STAR);
    } else if (char === '?') {
      tokens.push(ANY_ONE);
    } else if (char === '[') {
      const set = readSet(pattern, i);
      if (set === undefined) {
        tokens.push(literal(char));
      } else {
        tokens.push(set.token);
        i = set.end;
      }
    } else {
      tokens.push(literal(char));
    }
  }
  return tokens;
}

function literal(char: string): Token {
  return { kind: 'one', accepts: (candidate) => candidate === char };
}

/**
 * `[...]` starting at `open`: its token and the index of its `]`, or
 * undefined when no `]` closes it (then `[` is a literal, as in shells).
 * A `]` right after `[` or `[!` belongs to the set.
 */
function readSet(pattern: string, open: number): { token: Token; end: number } | undefined {
  let i = open + 1;
  const negated = pattern[i] === '!';
  if (negated) i++;
  const first = i;
  const ranges: [string, string][] = [];
  for (; i < pattern.length; i++) {
    const char = pattern[i] as string;
    if (char === ']' && i > first) {
      const accepts = (candidate: string): boolean => ranges.some(([low, high]) => candidate >= low && candidate <= high) !== negated;
      return { token: { kind: 'one', accepts }, end: i };
    }
    const high = pattern[i + 2];
    if (pattern[i + 1] === '-' && high !== undefined && high !== ']') {
      ranges.push([char, high]);
      i += 2;
    } else {
      ranges.push([char, char]);
    }
  }
  return undefined;
}
