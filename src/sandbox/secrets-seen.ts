// Every secret that crossed a sandbox endpoint, issued or received: the
// tokens and codes it handed out (some of which a client never shows: a
// refresh token rotated away, a device code, an authorization code), and the
// secrets clients sent (PKCE verifiers, signed client assertions, client
// secrets, passwords, refresh tokens). A test searches the broker's logs and
// output for each of them; without this read-out it could only search for the
// secrets it wrote into a config itself.
import type { SandboxSecret, SandboxSecretKind } from './types.js';

/** Form parameters of a token or device-code request that carry a secret, by name. */
const REQUEST_SECRETS: Readonly<Record<string, SandboxSecretKind>> = {
  client_secret: 'client_secret',
  password: 'password',
  refresh_token: 'refresh_token',
  code: 'authorization_code',
  code_verifier: 'code_verifier',
  device_code: 'device_code',
  client_assertion: 'client_assertion',
  assertion: 'assertion',
};

/** Fields of a JSON answer that carry a secret, by name. */
const ANSWER_SECRETS: Readonly<Record<string, SandboxSecretKind>> = {
  access_token: 'access_token',
  refresh_token: 'refresh_token',
  id_token: 'id_token',
  device_code: 'device_code',
};

export class SecretsSeen {
  /** By value, so each secret is listed once, with the kind it was first seen as. */
  readonly #values = new Map<string, SandboxSecretKind>();

  add(kind: SandboxSecretKind, value: unknown): void {
    if (typeof value === 'string' && value !== '' && !this.#values.has(value)) this.#values.set(value, kind);
  }

  /** The secret parameters of a request's form body, and the credentials of its `Authorization: Basic` header. */
  fromRequest(params: URLSearchParams, authorization?: string): void {
    for (const [name, kind] of Object.entries(REQUEST_SECRETS)) this.add(kind, params.get(name));
    const basic = /^Basic\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    this.add('basic_credentials', basic);
  }

  /** The secret fields of a JSON answer body. */
  fromAnswer(body: unknown): void {
    if (typeof body !== 'object' || body === null) return;
    const fields = body as Record<string, unknown>;
    for (const [name, kind] of Object.entries(ANSWER_SECRETS)) this.add(kind, fields[name]);
  }

  list(): SandboxSecret[] {
    return [...this.#values].map(([value, kind]) => ({ kind, value }));
  }
}
