// Certificate subjects (distinguished names) as server.clients[].certificateSubject
// names them and as a TLS peer certificate carries them, reduced to one
// comparable form: the whole subject must match, in any order.

export interface SubjectAttribute {
  /** Upper case short name as OpenSSL prints it (CN, O, OU, C, ...) or a dotted OID. */
  readonly type: string;
  readonly value: string;
}

const TYPE = /^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)$/;

/**
 * Reads `CN=connector-1, O=Acme` (RFC 4514; `+` joins the parts of a
 * multi-valued RDN and counts like `,`; `\,` and `\2C` escape). Spaces around
 * `=` and `,` are dropped, so what `openssl x509 -noout -subject` prints
 * (`CN = connector-1, O = Acme`) can be pasted as is.
 */
export function parseCertificateSubject(text: string): SubjectAttribute[] | { readonly error: string } {
  const parts: string[] = [];
  let current = '';
  for (let index = 0; index < text.length; index++) {
    const char = text[index] ?? '';
    if (char === '\\') {
      const next = text.slice(index + 1, index + 3);
      if (/^[0-9A-Fa-f]{2}$/.test(next)) {
        current += `\\${next}`;
        index += 2;
      } else if (index + 1 < text.length) {
        current += `\\${text[index + 1] ?? ''}`;
        index += 1;
      } else {
        return { error: 'ends with a lone "\\"; escape a backslash as "\\\\"' };
      }
    } else if (char === ',' || char === '+' || char === ';') {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  parts.push(current);
  const attributes: SubjectAttribute[] = [];
  for (const part of parts) {
    const equals = part.indexOf('=');
    const type = (equals < 0 ? part : part.slice(0, equals)).trim();
    const rawValue = equals < 0 ? '' : trimUnescaped(part.slice(equals + 1));
    if (equals < 0 || !TYPE.test(type)) {
      return { error: `must be a distinguished name such as "CN=connector-1" or "CN=connector-1, O=Acme"; "${part.trim()}" is not TYPE=value` };
    }
    const value = unescape(rawValue);
    if (value === '') return { error: `${type} has an empty value` };
    attributes.push({ type: type.toUpperCase(), value });
  }
  return attributes;
}

/** The subject in its own order, escaped, as operators write it: `CN=connector-1,O=Acme`. */
export function formatCertificateSubject(attributes: readonly SubjectAttribute[]): string {
  return attributes.map((attribute) => `${attribute.type}=${escape(attribute.value)}`).join(',');
}

/** The order-free form two subjects are compared by (and the one the validated config holds). */
export function canonicalCertificateSubject(attributes: readonly SubjectAttribute[]): string {
  return formatCertificateSubject([...attributes].sort((a, b) => compare(a.type, b.type) || compare(a.value, b.value)));
}

/**
 * A TLS peer certificate's subject as node:tls gives it (`{ CN: 'x', OU: ['a', 'b'] }`);
 * its attribute order is lost there, which is why subjects compare order-free.
 */
export function subjectAttributesOf(subject: Readonly<Record<string, string | readonly string[] | undefined>>): SubjectAttribute[] {
  return Object.entries(subject).flatMap(([type, values]) =>
    (values === undefined ? [] : typeof values === 'string' ? [values] : values).map((value) => ({ type: type.toUpperCase(), value })),
  );
}

/** Spaces around a value go, an escaped one (`\ `) at its end stays. */
function trimUnescaped(value: string): string {
  let trimmed = value.trimStart();
  while (trimmed.endsWith(' ') && !trimmed.endsWith('\\ ')) trimmed = trimmed.slice(0, -1);
  return trimmed;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function unescape(value: string): string {
  const bytes: number[] = [];
  const out: string[] = [];
  const flush = (): void => {
    if (bytes.length > 0) out.push(Buffer.from(bytes.splice(0)).toString('utf8'));
  };
  for (let index = 0; index < value.length; index++) {
    const char = value[index] ?? '';
    const hex = value.slice(index + 1, index + 3);
    if (char === '\\' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      index += 2;
      continue;
    }
    flush();
    if (char === '\\') {
      out.push(value[index + 1] ?? '');
      index += 1;
    } else {
      out.push(char);
    }
  }
  flush();
  return out.join('');
}

function escape(value: string): string {
  return value
    .replace(/[\\,+"<>;=]/g, '\\$&')
    .replace(/^[ #]/, '\\$&')
    .replace(/ $/, '\\ ');
}
