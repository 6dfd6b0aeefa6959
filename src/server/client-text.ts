// How client input (a mailbox name, a decoder's complaint about the bytes
// sent) appears in a status message or a log line: a short excerpt with
// control characters escaped. A client must not make the broker echo 64 KB
// back, nor write terminal escapes or fake lines into an operator's log.

/** How many characters of client input a message shows. */
export const CLIENT_TEXT_EXCERPT = 64;

// Control (Cc) and format (Cf: bidi overrides, zero-width) characters, lone
// surrogates (Cs), line and paragraph separators, and the backslash, so an
// escape in the output always stands for an escaped character.
const UNSAFE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\\]/gu;
// The same but for line breaks and tabs, which a message of the broker's own may hold.
const UNSAFE_IN_MESSAGE = /(?![\n\t])[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu;
const SHORT_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\\': '\\\\' };

/** `value` as a message may show it: at most `max` characters of it, escaped, and its length when cut. */
export function clientText(value: string, max = CLIENT_TEXT_EXCERPT): string {
  return excerpt(value, max, UNSAFE);
}

/**
 * A whole status message, which may quote client input the engine put in it
 * (the issuer a pasted redirect URL names): at most `max` characters, control
 * characters escaped, line breaks kept.
 */
export function boundedMessage(value: string, max: number): string {
  return excerpt(value, max, UNSAFE_IN_MESSAGE);
}

function excerpt(value: string, max: number, unsafe: RegExp): string {
  const cut = value.length > max;
  // Only the excerpt is escaped: a 64 KB name costs no more than a short one.
  const shown = (cut ? value.slice(0, max) : value).replace(unsafe, escape);
  return cut ? `${shown}… (${value.length.toLocaleString('en-US')} characters)` : shown;
}

function escape(char: string): string {
  return SHORT_ESCAPES[char] ?? `\\u${(char.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`;
}
