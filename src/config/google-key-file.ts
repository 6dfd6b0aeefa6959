// A Google service-account JSON key, as the Google Cloud console downloads it
// (`type: service_account`, `client_email`, `private_key`, `private_key_id`,
// `token_uri`, and fields the broker does not need). Checks each field and
// says what is wrong; never quotes the file, which holds a private key: a
// JSON syntax error is told by its kind and line:column only.
import { createPrivateKey } from 'node:crypto';

export interface ParsedServiceAccountKey {
  readonly clientEmail: string;
  readonly privateKeyId: string;
  /** Normalized to PKCS#8 PEM. */
  readonly privateKeyPem: string;
  readonly tokenUri: string;
}

/** The key, or every reason it cannot be used (each a whole message, starting with what is wrong). */
export type ServiceAccountKeyReading = { readonly ok: true; readonly key: ParsedServiceAccountKey } | { readonly ok: false; readonly problems: readonly string[] };

export const GOOGLE_TOKEN_URI = 'https://oauth2.googleapis.com/token';

/**
 * Token URIs Google has written into keys over the years; its token endpoint
 * accepts each as an assertion's audience, so a key carrying one is fine for
 * a server at GOOGLE_TOKEN_URI.
 */
export const GOOGLE_TOKEN_URIS: readonly string[] = [GOOGLE_TOKEN_URI, 'https://accounts.google.com/o/oauth2/token', 'https://www.googleapis.com/oauth2/v4/token'];

const DOWNLOAD = 'download the key again (Google Cloud console: IAM & Admin > Service accounts > Keys > Add key > JSON)';
const EMAIL_ROLE = "it is the service account's e-mail address (NAME@PROJECT.iam.gserviceaccount.com)";
const KEY_ID_ROLE = "it names the key to Google (the assertion's kid)";
const KEY_ROLE = "it is the service account's RSA key (PKCS#8 PEM)";
const TOKEN_URI_ROLE = `Google's is ${GOOGLE_TOKEN_URI}`;

/** Other credential files Google hands out, by `type`: what they are, so the operator knows which file they picked. */
const OTHER_TYPES: Readonly<Record<string, string>> = {
  authorized_user: "a user's credentials, from gcloud auth application-default login",
  external_account: 'a workload identity federation configuration',
  impersonated_service_account: 'credentials for impersonating a service account, from gcloud',
};

export function parseServiceAccountKey(data: Buffer, file: string): ServiceAccountKeyReading {
  // Editors on Windows may save a byte order mark; JSON.parse would stop at it.
  const text = data.toString('utf8').replace(/^\uFEFF/, '');
  if (text.trim() === '') return failed(`${file} is empty; ${DOWNLOAD}`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return failed(`${file} is not valid JSON: ${syntaxError(error, text)}; ${DOWNLOAD}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return failed(`${file} holds JSON, but not an object: a service account key is one JSON object with type, client_email, private_key, private_key_id and token_uri; ${DOWNLOAD}`);
  }
  const fields = json as Record<string, unknown>;
  const type = fields['type'];
  if (type === undefined && (isObject(fields['installed']) || isObject(fields['web']))) {
    return failed(`${file} is an OAuth client's secrets file (client_secret_….json), not a service account key; for an OAuth client set clientId and clientSecret with grant type authorization-code, or ${DOWNLOAD}`);
  }
  if (type === undefined) return failed(`type in ${file} is missing; a service account key has "type": "service_account"; ${DOWNLOAD}`);
  if (type !== 'service_account') {
    // Only a plain word is quoted: whatever else stands there may be a pasted secret.
    const shown = typeof type === 'string' && /^[a-z_]{1,40}$/.test(type) ? `"${type}"` : 'something else';
    const what = typeof type === 'string' ? OTHER_TYPES[type] : undefined;
    return failed(`${file} is not a service account key: its type is ${shown}${what === undefined ? ', not "service_account"' : ` (${what})`}; ${DOWNLOAD}`);
  }

  const problems: string[] = [];
  const field = (name: string, role: string): string | undefined => {
    const value = fields[name];
    const wrong = value === undefined ? 'is missing' : typeof value !== 'string' ? 'is not a string' : value.trim() === '' ? 'is empty' : undefined;
    if (wrong === undefined) return value as string;
    problems.push(`${name} in ${file} ${wrong}; ${role}; ${DOWNLOAD}`);
    return undefined;
  };

  const clientEmail = field('client_email', EMAIL_ROLE);
  if (clientEmail !== undefined && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(clientEmail)) {
    problems.push(`client_email in ${file} is not an e-mail address; ${EMAIL_ROLE}; ${DOWNLOAD}`);
  }
  const privateKeyPem = usablePrivateKey(field('private_key', KEY_ROLE), file, problems);
  const privateKeyId = field('private_key_id', KEY_ID_ROLE);
  // It goes into the JWT header as is: printable ASCII, as Google's hex ids are.
  if (privateKeyId !== undefined && !/^[\x21-\x7e]+$/.test(privateKeyId)) {
    problems.push(`private_key_id in ${file} is not a key id (printable characters only); ${KEY_ID_ROLE}; ${DOWNLOAD}`);
  }
  const tokenUri = field('token_uri', TOKEN_URI_ROLE);
  if (tokenUri !== undefined && !isHttpsUrl(tokenUri)) problems.push(`token_uri in ${file} is not an https URL; ${TOKEN_URI_ROLE}; ${DOWNLOAD}`);

  if (problems.length > 0 || clientEmail === undefined || privateKeyPem === undefined || privateKeyId === undefined || tokenUri === undefined) {
    return { ok: false, problems };
  }
  return { ok: true, key: { clientEmail, privateKeyId, privateKeyPem, tokenUri } };
}

/** The key as PKCS#8 PEM, or a problem added: Node must be able to sign an RS256 assertion with it. */
function usablePrivateKey(pem: string | undefined, file: string, problems: string[]): string | undefined {
  if (pem === undefined) return undefined;
  // A key copied through a shell or a template often arrives with `\n` escaped once more than JSON needs.
  if (!pem.includes('\n') && pem.includes('\\n')) {
    problems.push(`private_key in ${file} has its line breaks written as the two characters \\n (escaped twice); write each as \\n inside the JSON string, or ${DOWNLOAD}`);
    return undefined;
  }
  let key;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    // OpenSSL's reasons name no content; the encrypted case gets its own words.
    const encrypted = (error as NodeJS.ErrnoException).code === 'ERR_MISSING_PASSPHRASE' || pem.includes('ENCRYPTED');
    problems.push(
      encrypted
        ? `private_key in ${file} is encrypted; Google's JSON keys hold an unencrypted key; ${DOWNLOAD}`
        : `private_key in ${file} is not a usable private key (an RSA key in PKCS#8 PEM); ${DOWNLOAD}`,
    );
    return undefined;
  }
  if (key.asymmetricKeyType !== 'rsa') {
    problems.push(`private_key in ${file} is an ${key.asymmetricKeyType ?? 'unknown'} key; Google signs service accounts' assertions with RSA keys (RS256); ${DOWNLOAD}`);
    return undefined;
  }
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/**
 * V8's words for a JSON syntax error, with its offset turned into line and
 * column. V8 quotes the text around an unexpected token ("Unexpected token
 * 'x', "...the file..." is not valid JSON"): only the words before any
 * quotation are kept, so no byte of the key can reach a message.
 */
function syntaxError(error: unknown, text: string): string {
  const message = error instanceof Error ? error.message : '';
  const positioned = /^(.*) in JSON at position (\d+)/.exec(message);
  // A string cut off mid-way is "unterminated" at the very end: the same mistake as a missing brace.
  const atEnd = positioned !== null && Number(positioned[2]) >= text.trimEnd().length;
  if (/^Unexpected end of JSON input/.test(message) || atEnd) return 'it ends before the JSON is complete (cut short when copied?)';
  const words = (positioned?.[1] ?? message).split('"')[0] ?? '';
  const kind = /^Unexpected token\b/.test(words) ? 'an unexpected token' : lowerFirst(words.replace(/,\s*$/, '').trim());
  if (positioned === null) return `${kind === '' ? 'a syntax error' : kind} (the JSON parser gives no position)`;
  const { line, column } = lineAndColumn(text, Number(positioned[2]));
  return `${kind} at line ${line}, column ${column}`;
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf('\n') + 1;
  return { line: before.split('\n').length, column: offset - lineStart + 1 };
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

function isObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null;
}

function isHttpsUrl(value: string): boolean {
  try {
    return new URL(value).protocol === 'https:';
  } catch {
    return false;
  }
}

function failed(problem: string): ServiceAccountKeyReading {
  return { ok: false, problems: [problem] };
}
