// How deeply a YAML text nests, and how many values it writes, measured on
// the yaml package's CST (its parse before composing) without recursion.
// The package's composer recurses a few frames per level: 100,000 [ in a row
// overflow the stack, which the package turns into errors at whatever depth
// the stack ran out (so a different place in a worker, with its own stack).
// Measured first, a text nested deeper than any config is refused before
// the composer runs, with the same message and position on any thread.
import type { CST } from 'yaml';

export interface CstShape {
  /** Scalars, aliases and collections written in the text: the base of the alias expansion limit. */
  readonly values: number;
  /** Offset of the first collection (in file order) deeper than the limit, if any. */
  readonly tooDeepAt?: number;
}

/** Walks every document of `tokens`; stops at the first collection nested more than `maxNesting` collections deep. */
export function measureCst(tokens: readonly CST.Token[], maxNesting: number): CstShape {
  let values = 0;
  // An explicit stack, children pushed last-first: visited in file order, at any depth.
  const pending: { readonly token: CST.Token; readonly depth: number }[] = tokens.map((token) => ({ token, depth: 0 })).reverse();
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { token, depth } = next;
    switch (token.type) {
      case 'document':
        if (token.value !== undefined) pending.push({ token: token.value, depth });
        break;
      case 'block-map':
      case 'block-seq':
      case 'flow-collection': {
        values += 1;
        if (depth + 1 > maxNesting) return { values, tooDeepAt: token.offset };
        const children: CST.Token[] = [];
        for (const item of token.items) {
          if (item.key) children.push(item.key);
          if (item.value) children.push(item.value);
        }
        for (const child of children.reverse()) pending.push({ token: child, depth: depth + 1 });
        break;
      }
      case 'alias':
      case 'scalar':
      case 'single-quoted-scalar':
      case 'double-quoted-scalar':
      case 'block-scalar':
        values += 1;
        break;
      default:
        // Comments, directives, indicators and error tokens hold no values.
        break;
    }
  }
  return { values };
}
