// The value schemas of single fields, with our own messages (zod's default
// English never reaches an operator). Each says what is wrong and what a
// good value looks like; none quotes a value that might be a secret.
import { z } from 'zod';
import { globProblem } from './glob-pattern.js';
import { isLoopbackHost, parseHostPort, parseListenAddress } from './addresses.js';
import { kindOf } from './reader.js';
import { didYouMean } from './suggest.js';
import type { ListenAddress } from './types.js';

const mustBe =
  (what: string) =>
  (issue: { readonly input?: unknown }): string =>
    `must be ${what}, not ${kindOf(issue.input)}`;

export const text = z.string({ error: mustBe('a string') }).min(1, { error: 'must not be empty' });

/** Secrets: a number in YAML (`password: 0123`) silently loses digits, so only strings pass. */
export const secretText = z
  .string({ error: (issue) => `must be a string, not ${kindOf(issue.input)}; put the value in quotes` })
  .min(1, { error: 'must not be empty' });

/**
 * A mailbox identity (username, sharedMailbox). It becomes the `user=` of the
 * SASL XOAUTH2 string, `user=...^Aauth=Bearer ...^A^A`, where a control
 * character (^A above all, or CR LF) would add fields of its own.
 */
export const mailboxIdentity = text.superRefine((value, ctx) => {
  const found = controlCharacter(value);
  if (found === undefined) return;
  ctx.addIssue({
    code: 'custom',
    message: `must not contain control characters (${found.codePoint} at character ${found.position}): they would inject fields into the SASL XOAUTH2 string; give the plain mailbox address`,
  });
});

/** The first control character (Unicode Cc: C0, DEL, C1) of `value`, as U+XXXX and its 1-based position in characters. */
function controlCharacter(value: string): { codePoint: string; position: number } | undefined {
  let position = 0;
  for (const character of value) {
    position += 1;
    if (/\p{Cc}/u.test(character)) return { codePoint: `U+${(character.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`, position };
  }
  return undefined;
}

export const filePath = z.string({ error: mustBe('a file path') }).min(1, { error: 'must not be empty; give a file path' });

export const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const SAFE_NAME_RULE = '1-128 letters, digits, ".", "_" or "-", starting with a letter or digit';

/** Built once per list: a zod enum costs far more to make than to check, and a fleet config asks for one per mailbox and field. */
const enumSchemas = new WeakMap<readonly string[], z.ZodType<string>>();

export function oneOf<const T extends string>(values: readonly [T, ...T[]]): z.ZodType<T> {
  let schema = enumSchemas.get(values);
  if (schema === undefined) {
    schema = z.enum(values, {
      error: (issue) => `must be one of: ${values.join(', ')}${typeof issue.input === 'string' ? didYouMean(issue.input, values) : `; not ${kindOf(issue.input)}`}`,
    });
    enumSchemas.set(values, schema);
  }
  return schema as z.ZodType<T>;
}

/** Whole numbers; a string of digits (e.g. from `${LEAD_TIME}`) counts too. */
export function wholeNumber(min: number): z.ZodType<number> {
  const rule = `a whole number of ${min} or more`;
  return z
    .union([z.number().int(), z.string().regex(/^\d+$/).transform(Number)], { error: mustBe(rule) })
    .pipe(z.number().min(min, { error: `must be ${rule}` }));
}

/** Whole numbers from `min` to `max` (inclusive); `why` says what bounds them, for the message. */
export function wholeNumberInRange(min: number, max: number, why: string): z.ZodType<number> {
  const rule = `a whole number from ${min.toLocaleString('en-US')} to ${max.toLocaleString('en-US')} (${why})`;
  return z
    .union([z.number().int(), z.string().regex(/^\d+$/).transform(Number)], { error: mustBe(rule) })
    .pipe(z.number().min(min, { error: `must be ${rule}` }).max(max, { error: `must be ${rule}` }));
}

/** true/false; the strings "true"/"false" (e.g. from `${ADMIN}`) count too. */
export const flag: z.ZodType<boolean> = z.union([z.boolean(), z.enum(['true', 'false']).transform((value) => value === 'true')], {
  error: mustBe('true or false'),
});

const url = (value: string): URL | undefined => (URL.canParse(value) ? new URL(value) : undefined);

/** https URL; plain http only for a loopback host (a test server on this machine). */
export const endpointUrl = text.refine(
  (value) => {
    const parsed = url(value);
    return parsed !== undefined && (parsed.protocol === 'https:' || (parsed.protocol === 'http:' && isLoopbackHost(parsed.hostname)));
  },
  { error: 'must be an https URL (plain http only for a test server on 127.0.0.1, ::1 or localhost)' },
);

/** Entra ID instance: an https origin; msal-node refuses anything else. Trailing slash dropped. */
export const authorityHost = text
  .refine(
    (value) => {
      const parsed = url(value);
      return parsed !== undefined && parsed.protocol === 'https:' && (parsed.pathname === '/' || parsed.pathname === '') && parsed.search === '' && parsed.hash === '';
    },
    { error: 'must be an https origin without a path, e.g. https://login.microsoftonline.com or https://login.microsoftonline.us' },
  )
  .transform((value) => value.replace(/\/+$/, ''));

export const absoluteUrl = text.refine((value) => url(value) !== undefined, { error: 'must be an absolute URL such as http://localhost:8400/callback' });

/** A list of scopes, or one space-separated string; each item may itself hold several, space-separated. */
export const scopeList: z.ZodType<string[]> = z
  .preprocess((value) => (typeof value === 'string' ? [value] : value), z.array(z.string({ error: mustBe('a scope') }), { error: mustBe('a list of scopes') }))
  .transform((value) => value.flatMap((item) => item.split(/\s+/)).filter((item) => item !== ''))
  .refine((scopes) => scopes.length > 0, { error: 'must list at least one scope' });

export const GLOB_PATTERN = /^[A-Za-z0-9._\-*?[\]!]+$/;

/** Mailbox names or glob patterns (`*`, `?`, `[...]`). */
export const patternList = z
  .array(
    z
      .string({ error: mustBe('a mailbox name or glob pattern') })
      .regex(GLOB_PATTERN, { error: 'must be a mailbox name or a glob pattern of letters, digits, ".", "_", "-", "*", "?" and [...]' })
      .superRefine((pattern, ctx) => {
        const problem = globProblem(pattern);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
      }),
    { error: mustBe('a list of mailbox names or glob patterns') },
  )
  .min(1, { error: 'must list at least one mailbox name or glob pattern' });

export const sha256Hex = z
  .string({ error: mustBe('a string') })
  .regex(/^[0-9A-Fa-f]{64}$/, { error: 'must be 64 hexadecimal digits: the SHA-256 of the client key (printf %s "$KEY" | sha256sum)' })
  .transform((value) => value.toLowerCase());

/**
 * A certificate thumbprint, SHA-1 (40 hex digits, as Windows and the Azure
 * portal show it) or SHA-256 (64). Colons, spaces and the invisible
 * left-to-right mark that Windows' certificate dialog adds when copying are dropped.
 */
export const thumbprint = z
  .string({ error: mustBe('a string of hexadecimal digits') })
  .transform((value) => value.replace(/[\s:\u200e\u200f\ufeff]/g, '').toUpperCase())
  .refine((value) => /^(?:[0-9A-F]{40}|[0-9A-F]{64})$/.test(value), {
    error: 'must be a SHA-1 (40 hexadecimal digits) or SHA-256 (64) fingerprint; colons and spaces are allowed',
  });

/** `"0660"`: quoted, because YAML reads an unquoted 0660 as the decimal number 660. */
export const octalMode = z
  .string({ error: (issue) => `must be an octal mode in quotes, such as "0660", not ${kindOf(issue.input)} (YAML reads an unquoted 0660 as the number 660)` })
  .regex(/^0?[0-7]{3}$/, { error: 'must be an octal mode such as "0660"' })
  .transform((value) => Number.parseInt(value, 8));

export const listenAddress: z.ZodType<ListenAddress> = z
  .string({ error: mustBe('unix:///absolute/path or tcp://host:port') })
  .transform((value, ctx) => {
    const parsed = parseListenAddress(value);
    if (typeof parsed === 'string') {
      ctx.addIssue({ code: 'custom', message: parsed });
      return z.NEVER;
    }
    return parsed;
  });

export const hostPort = text.refine((value) => parseHostPort(value) !== undefined, {
  error: 'must be host:port, e.g. 127.0.0.1:9464 or [::1]:9464',
});

/** A directory (tenant) ID, a domain, or one of Entra's tenant-independent names; it becomes part of a URL path. */
export const tenantId = text.regex(/^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/, {
  error: 'must be a directory (tenant) ID such as 00000000-0000-0000-0000-000000000000, or a domain such as contoso.onmicrosoft.com',
});
