// Point 4 of issue 12 as a check: every secret and token a test handed out
// or saw issued, in every form a careless log line or error could carry it
// (as is, URL- and form-encoded, base64 and base64url, and inside the HTTP
// Basic header openid-client sends), searched for in everything the test saw.

/** Every form in which `secret` could be written out. */
export function secretForms(secret: string): string[] {
  const bytes = Buffer.from(secret);
  return [...new Set([secret, encodeURIComponent(secret), new URLSearchParams({ s: secret }).toString().slice(2), bytes.toString('base64'), bytes.toString('base64url')])];
}

/** The HTTP Basic credentials openid-client sends (RFC 6749 2.3.1: form-encoded id and secret, every character but letters and digits escaped). */
export function basicCredentials(clientId: string, secret: string): string {
  const encode = (value: string): string => encodeURIComponent(value).replace(/[-_.!~*'()]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);
  return Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString('base64');
}

/** Secrets by what they are (for the failure message), each value once. */
export class SeenSecrets {
  readonly #values = new Map<string, string>();

  add(what: string, value: string | undefined): void {
    if (value !== undefined && value.length > 0 && !this.#values.has(value)) this.#values.set(value, what);
  }

  get size(): number {
    return this.#values.size;
  }

  /** Where in `text` (named `source`) a secret shows, in any of its forms; empty when none does. */
  findIn(source: string, text: string): string[] {
    const found: string[] = [];
    for (const [value, what] of this.#values) {
      for (const form of secretForms(value)) {
        const at = text.indexOf(form);
        if (at >= 0) found.push(`${source} shows the ${what} (as ${form.slice(0, 12)}…) near: ${text.slice(Math.max(0, at - 120), at).replace(/\s+/g, ' ')}`);
      }
    }
    return found;
  }
}
