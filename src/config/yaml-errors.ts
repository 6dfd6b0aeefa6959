// What a YAML syntax error or warning says, in our words. The yaml package's
// own message may quote the text it stumbled on: an inline password after a
// line indented too little ("Unexpected double-quoted-scalar token in YAML
// stream: "pw-..."), a value starting with | or ! (block scalar header, tag),
// the lines of a block scalar, a directive; with prettyErrors it adds an
// excerpt of the line. So the message shown is chosen from the error's code,
// the position comes from the error's offset, and the package's message is
// only matched against a few of its fixed texts to pick a more precise
// description; nothing of it, and nothing of the file, is ever shown.
import type { ErrorCode, YAMLError } from 'yaml';

/** What each code means for someone editing a config file, and what to do. */
const BY_CODE: Readonly<Record<ErrorCode, string>> = {
  ALIAS_PROPS: 'an alias (*) cannot carry an anchor (&) or a tag (!); remove them',
  BAD_ALIAS: 'an anchor (&) or alias (*) name is empty or ends in a colon; give it a plain name',
  BAD_COLLECTION_TYPE: 'a tag (!) does not fit the kind of value it marks; remove the tag',
  BAD_DIRECTIVE: 'a % directive line is not valid; remove it (a config needs no directives)',
  BAD_DQ_ESCAPE: 'a double-quoted value holds a backslash escape that YAML does not know; write \\\\ for a backslash, or use single quotes',
  BAD_INDENT: 'the indentation is off: the items of one mapping or list must start at the same column; align this line with the lines it belongs with',
  BAD_PROP_ORDER: 'an anchor (&) or tag (!) comes before a - or ? indicator; put it after the indicator',
  BAD_SCALAR_START: 'a value cannot start with this character unquoted (one of @ ` | > and the like); put the value in quotes',
  BLOCK_AS_IMPLICIT_KEY: 'a list or mapping stands where a key should be; check the indentation and the colons here',
  BLOCK_IN_FLOW: 'a list or mapping by indentation cannot sit inside [ ] or { }; check for a missing comma or closing bracket, or quote the value',
  DUPLICATE_KEY: 'a key is given twice in one mapping; keep one of them',
  IMPOSSIBLE: 'the YAML parser cannot read this part; check this line against the lines around it',
  KEY_OVER_1024_CHARS: 'a key is longer than 1024 characters; shorten it, or add the colon that is missing after a short key',
  MISSING_CHAR: 'a character is missing here: a closing quote, ] or }, a comma between items, or a space after a colon; add it',
  MULTILINE_IMPLICIT_KEY: 'a key must fit on one line; a colon, a closing quote or the indentation is probably wrong here or on the line above',
  MULTIPLE_ANCHORS: 'a value has more than one anchor (&); keep one',
  MULTIPLE_DOCS: 'the file holds more than one YAML document (a --- or ... line after content); keep one',
  MULTIPLE_TAGS: 'a value has more than one tag (!); keep one',
  NON_STRING_KEY: 'a key must be text; put it in quotes',
  RESOURCE_EXHAUSTION: 'the YAML is nested too deeply to read; flatten it',
  TAB_AS_INDENT: 'a tab is used for indentation, and YAML allows only spaces; replace the tab with spaces',
  TAG_RESOLVE_FAILED: 'a tag (!) that the broker does not know; the value is read as if it had none: remove the tag, or quote a value that starts with !',
  UNEXPECTED_TOKEN: 'this does not fit the structure around it (often a line indented too little, or text after a closing quote, ] or }); check the indentation and the quoting',
};

/** Finer descriptions, told apart by the package's fixed message texts (which are matched, never shown). */
const BY_MESSAGE: readonly { readonly code: ErrorCode; readonly pattern: RegExp; readonly text: string }[] = [
  { code: 'MISSING_CHAR', pattern: /^Missing closing "quote/, text: 'a double-quoted value is not closed; add the closing "' },
  { code: 'MISSING_CHAR', pattern: /^Missing closing 'quote/, text: "a single-quoted value is not closed; add the closing '" },
  { code: 'MISSING_CHAR', pattern: /^Missing , /, text: 'two items inside [ ] or { } are not separated; add a comma between them' },
  { code: 'MISSING_CHAR', pattern: /^Missing space after :/, text: 'a colon inside [ ] or { } needs a space after it; add one' },
  { code: 'MISSING_CHAR', pattern: /^Implicit map keys need to be followed by map values/, text: 'a key has no colon after it; add the colon and a value, or fix the indentation' },
  { code: 'MISSING_CHAR', pattern: /separated from .* by white space/, text: 'a comment (#), anchor (&) or tag (!) must be separated from what is next to it by a space; add one' },
  { code: 'MISSING_CHAR', pattern: /^Missing directives-end/, text: 'a % directive line must be followed by a --- line; remove the directive (a config needs none)' },
  { code: 'MISSING_CHAR', pattern: /end with a [\]}]/, text: 'a [ ] or { } is not closed; close it with ] or }' },
  { code: 'BAD_INDENT', pattern: /end with a [\]}]/, text: 'a [ ] or { } is not closed, or a line inside it is not indented more than its key; close it with ] or }, or indent the line' },
  { code: 'BAD_INDENT', pattern: /^Block scalar/, text: 'the lines of a multi-line (| or >) value must be indented more than its key, all by the same amount; indent them' },
  { code: 'UNEXPECTED_TOKEN', pattern: /at node end$/, text: 'there is more after a complete value (after a closing quote, ] or }); remove it, or quote the whole value' },
  { code: 'UNEXPECTED_TOKEN', pattern: /^Block scalar header/, text: 'a value that starts with | or > is read as a multi-line value whose first line must hold nothing else; put the value in quotes' },
  { code: 'UNEXPECTED_TOKEN', pattern: /in YAML (stream|document)/, text: 'this is outside the structure above it (often a line indented less than the first key); indent it like the lines it belongs with' },
];

/** The description of a yaml error or warning: no text of the file, no text of the package's message. */
export function describeYamlError(error: Pick<YAMLError, 'code' | 'message'>): string {
  const refined = BY_MESSAGE.find((entry) => entry.code === error.code && entry.pattern.test(error.message));
  if (refined !== undefined) return refined.text;
  // A code a later yaml version adds is not in the table; the code itself says more than nothing, and quotes nothing.
  return (BY_CODE as Partial<Record<string, string>>)[error.code] ?? `the YAML is not valid here (${String(error.code)}); check this line against the lines around it`;
}
