// What an HTTP proxy's 407 asks for. undici's ProxyAgent drops the CONNECT
// answer's headers and throws "Proxy response (407) !== 200", so a proxy that
// wants NTLM or Negotiate would look like a wrong password. We hand ProxyAgent
// a client whose connect() reads Proxy-Authenticate on a 407 first (undici
// offers no other hook for the tunnel's answer), so the error can name the
// scheme and the workaround.
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';

/** Thrown from the tunnel's CONNECT when the proxy answers 407; carries the schemes it offered. */
export class ProxyChallengeError extends Error {
  override readonly name = 'ProxyChallengeError';
  readonly code = 'TB_PROXY_407';
  /** Scheme names from Proxy-Authenticate, as the proxy spelled them (NTLM, Negotiate, Basic, ...). */
  readonly schemes: readonly string[];

  constructor(schemes: readonly string[]) {
    super(`Proxy response (407) !== 200 when HTTP Tunneling; Proxy-Authenticate: ${schemes.join(', ') || '(none)'}`);
    this.schemes = schemes;
  }
}

/** Schemes that need a handshake the broker does not speak (a Windows domain login). */
const CONNECTION_SCHEMES = new Set(['ntlm', 'negotiate', 'kerberos']);

/** The schemes a 407 asks for that we cannot answer with Basic, or an empty list when Basic is among them (or none was named). */
export function unsupportedSchemes(schemes: readonly string[]): readonly string[] {
  if (schemes.some((scheme) => scheme.toLowerCase() === 'basic')) return [];
  return schemes.filter((scheme) => CONNECTION_SCHEMES.has(scheme.toLowerCase()));
}

/** The first token of each challenge: `NTLM`, `Negotiate`, `Basic realm="x"` -> Basic. */
function schemesOf(header: string | string[] | undefined): string[] {
  const values = header === undefined ? [] : Array.isArray(header) ? header : [header];
  // Several challenges may share one header, comma-separated; a scheme is a token
  // at the start or after a comma, not a `name=value` parameter.
  return values.flatMap((value) => [...value.matchAll(/(?:^|,)\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)(?=\s|,|$)/g)].map((match) => match[1] ?? '')).filter((scheme) => scheme !== '');
}

/** ProxyAgent's clientFactory: its default Pool, with a connect() that names a 407's schemes. */
export function challengeReadingClient(origin: URL, options: object): Dispatcher {
  const pool = new Pool(origin, options);
  const connect = pool.connect.bind(pool);
  // Only the promise form is used by ProxyAgent (`await client.connect(params)`).
  const reading = async (connectOptions: Dispatcher.ConnectOptions): Promise<Dispatcher.ConnectData> => {
    const data = await connect(connectOptions);
    if (data.statusCode !== 407) return data;
    data.socket.destroy();
    throw new ProxyChallengeError(schemesOf(data.headers['proxy-authenticate']));
  };
  return Object.assign(pool, { connect: reading }) as Dispatcher;
}
