// Scrubs secrets out of text that came from outside the broker: an
// authorization server or proxy that echoes the request back (in its
// error_description, error_uri or body), and library messages quoting such
// answers. Two rules: every secret the broker knows for the mailbox, in each
// encoding a request carries it (as is, URL- and form-encoded, base64 inside
// any longer base64 text such as a Basic header, JSON-escaped), and anything
// shaped like a secret parameter (`client_secret=...`) or a JWT, whose value
// the broker may never have seen (msal-node signs its own assertions).

const REDACTED = '[redacted]';

/**
 * A known value shorter than this is not searched for: it would match inside
 * ordinary words, and the gaps it left would spell it out anyway. The
 * parameter rule still catches it in an echoed request.
 */
const MIN_SECRET_LENGTH = 4;

/** base64 fragments shorter than this would match inside unrelated base64 text (token ids, trace ids). */
const MIN_BASE64_FRAGMENT_LENGTH = 8;

/** Request parameters whose value is a credential, whoever sent it. */
export const SECRET_PARAMETERS = [
  'client_secret',
  'password',
  'refresh_token',
  'client_assertion',
  'code',
  'code_verifier',
  'access_token',
  'assertion',
  'device_code',
] as const;

const NAMES = SECRET_PARAMETERS.join('|');
/**
 * Not preceded by a name character (`error_code=` is no secret parameter),
 * unless that is the end of a percent escape (`%26code%3D...`, an encoded form body).
 */
const NAME_START = '(?:(?<![A-Za-z0-9_])|(?<=%[0-9A-Fa-f]{2}))';
/** `name=value` in a form body or query: the value ends at `&`, space, quote or angle bracket. */
const FORM_PARAMETER = new RegExp(`${NAME_START}(${NAMES})=[^&\\s"'<>]+`, 'gi');
/** The same form body URL-encoded once more (quoted in an error_uri): `name%3Dvalue`, ending at `%26` too. */
const ENCODED_FORM_PARAMETER = new RegExp(`${NAME_START}(${NAMES})%3D(?:(?!%26)[^&\\s"'<>])+`, 'gi');
/** `"name": "value"` in a JSON body. */
const JSON_PARAMETER = new RegExp(`"(${NAMES})"(\\s*:\\s*)"(?:[^"\\\\]|\\\\.)*"`, 'gi');
/** A JWT (header and payload are JSON objects, so both start `eyJ`): an assertion, an access or ID token. */
const JWT = /\beyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;

export class SecretScrubber {
  readonly #known: RegExp | undefined;

  /** `secrets`: every secret known for the mailbox; undefined and empty ones are skipped. */
  constructor(secrets: Iterable<string | undefined>) {
    const forms = new Set<string>();
    for (const secret of secrets) {
      if (secret === undefined || secret.length < MIN_SECRET_LENGTH) continue;
      for (const form of encodings(secret)) forms.add(form);
    }
    // Longest first, so a secret that contains another is removed whole.
    const alternatives = [...forms].sort((a, b) => b.length - a.length).map(escapeRegExp);
    this.#known = alternatives.length === 0 ? undefined : new RegExp(alternatives.join('|'), 'g');
  }

  scrub(text: string): string {
    const withoutKnown = this.#known === undefined ? text : text.replace(this.#known, REDACTED);
    return withoutKnown
      .replace(FORM_PARAMETER, (_match, name: string) => `${name}=${REDACTED}`)
      .replace(ENCODED_FORM_PARAMETER, (match: string, name: string) => `${name}${match.slice(name.length, name.length + 3)}${REDACTED}`)
      .replace(JSON_PARAMETER, (_match, name: string, colon: string) => `"${name}"${colon}"${REDACTED}"`)
      .replace(JWT, REDACTED);
  }
}

/** Every form in which a request may carry `secret`, and so a server may echo it. */
function encodings(secret: string): string[] {
  const urlEncoded = encodeURIComponent(secret);
  // application/x-www-form-urlencoded (a token request's body, a Basic header's parts) differs: space as +, `~!'()*` escaped;
  // openid-client (oauth4webapi) escapes every character but letters and digits in a Basic header.
  const formEncoded = new URLSearchParams({ s: secret }).toString().slice(2);
  const strictlyEncoded = urlEncoded.replace(/[-_.!~*'()]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`).replaceAll('%20', '+');
  const plain = [secret, urlEncoded, formEncoded, strictlyEncoded];
  const percentLowerCase = (text: string): string => text.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase());
  return [
    ...plain,
    ...plain.map(percentLowerCase),
    JSON.stringify(secret).slice(1, -1),
    ...plain.flatMap((form) => base64Fragments(Buffer.from(form))),
  ];
}

/**
 * The base64 (and base64url) text that encodes `bytes` wherever they sit in
 * a longer value, e.g. `client_id:secret` in a Basic header. base64 writes 3
 * bytes as 4 characters, so the characters depend on where the bytes start:
 * for each of the 3 possible offsets, encode behind that many filler bytes and
 * keep only the characters made of the secret's bits alone.
 */
function base64Fragments(bytes: Buffer): string[] {
  const fragments: string[] = [];
  for (let offset = 0; offset < 3; offset++) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64').replace(/=+$/, '');
    const start = Math.ceil((offset * 8) / 6);
    const end = Math.floor(((offset + bytes.length) * 8) / 6);
    const fragment = encoded.slice(start, end);
    if (fragment.length < MIN_BASE64_FRAGMENT_LENGTH) continue;
    fragments.push(fragment, fragment.replaceAll('+', '-').replaceAll('/', '_'));
  }
  return fragments;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
