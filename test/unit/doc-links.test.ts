// Every relative link in README.md and docs/*.md points to a file that
// exists, and a link to a heading (`page.md#heading`, `#heading`) to a
// heading that exists, as GitHub numbers them: the README was cut into
// pages (issue 15, point 6), and a moved section must not leave a dead link.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * Pages other parts of issue 15 write in their own branches: links to them
 * are allowed while they do not exist here. The lead empties this list at
 * merge, once every page is in.
 */
const PAGES_WRITTEN_IN_OTHER_BRANCHES: readonly string[] = [];

interface Link {
  readonly page: string;
  readonly line: number;
  readonly target: string;
}

function pages(): string[] {
  const docs = readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`);
  return ['README.md', ...docs];
}

/** The text outside fenced code blocks, line by line (a `[x](y)` in a code sample is no link). */
function proseLines(markdown: string): { text: string; line: number }[] {
  const lines: { text: string; line: number }[] = [];
  let fenced = false;
  markdown.split('\n').forEach((text, index) => {
    if (/^\s*(```|~~~)/.test(text)) {
      fenced = !fenced;
      return;
    }
    // Inline code spans hold no links either.
    if (!fenced) lines.push({ text: text.replace(/`[^`]*`/g, ''), line: index + 1 });
  });
  return lines;
}

function links(page: string): Link[] {
  const found: Link[] = [];
  for (const { text, line } of proseLines(readFileSync(join(ROOT, page), 'utf8'))) {
    for (const match of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = match[1] ?? '';
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:: not ours to check
      found.push({ page, line, target });
    }
  }
  return found;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as dashes; repeats get -1, -2, ... */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const heading = fenced ? undefined : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const base = heading
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

describe('links in README.md and docs/', () => {
  const all = pages().flatMap(links);

  test('the pages have links to check', () => {
    assert.ok(all.length > 20, `only ${all.length} relative links found: is the link pattern still right?`);
  });

  test('every relative link points to a file that exists', () => {
    const dead = all.filter(({ page, target }) => {
      const path = target.split('#', 1)[0] ?? '';
      if (path === '') return false;
      const file = relative(ROOT, resolve(ROOT, dirname(page), decodeURIComponent(path)));
      return !existsSync(join(ROOT, file)) && !PAGES_WRITTEN_IN_OTHER_BRANCHES.includes(file);
    });
    assert.deepEqual(
      dead.map(({ page, line, target }) => `${page}:${line}: ${target}`),
      [],
    );
  });

  test('every link to a heading names a heading of its page', () => {
    const dead = all.filter(({ page, target }) => {
      const [path = '', fragment] = target.split('#', 2);
      if (fragment === undefined || fragment === '') return false;
      const file = path === '' ? join(ROOT, page) : resolve(ROOT, dirname(page), decodeURIComponent(path));
      if (!file.endsWith('.md') || !existsSync(file)) return false; // a missing page is the test above's finding
      return !anchors(readFileSync(file, 'utf8')).has(decodeURIComponent(fragment).toLowerCase());
    });
    assert.deepEqual(
      dead.map(({ page, line, target }) => `${page}:${line}: ${target}`),
      [],
    );
  });

  test('the allowance for pages of other branches lists only pages still missing', () => {
    // Once a page is in, its entry would hide a later dead link to it: the lead removes it at merge.
    const present = PAGES_WRITTEN_IN_OTHER_BRANCHES.filter((page) => existsSync(join(ROOT, page)));
    assert.deepEqual(present, [], 'these pages exist now: remove them from PAGES_WRITTEN_IN_OTHER_BRANCHES');
  });
});
