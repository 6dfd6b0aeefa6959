// `proxies`: named HTTP(S) proxies that mailboxes reach their authorization
// server through. Credentials live in username/password, never in the URL,
// so the URL can be logged.
import { z } from 'zod';
import type { LoadContext } from '../context.js';
import { SAFE_NAME, SAFE_NAME_RULE, text } from '../fields.js';
import { withOptional } from '../optional.js';
import { MappingReader, valueOf } from '../reader.js';
import type { Field } from '../reader.js';
import { readSecret, secretKeys } from '../secrets.js';
import { ENVIRONMENT_PROXY_NAME } from '../types.js';
import type { ProxyConfig } from '../types.js';

export interface ProxyRegistry {
  readonly proxies: ReadonlyMap<string, ProxyConfig>;
  /** Defined, but with errors: mailboxes naming them get no "unknown proxy" on top. */
  readonly broken: ReadonlySet<string>;
}

const PROXY_KEYS = ['url', 'username', ...secretKeys('password'), 'noProxy'];

/** The default port of a bare address: the one office proxies most often listen on. */
const BARE_DEFAULT_PORT = 8080;
const SOCKS_DEFAULT_PORT = 1080;
const FORMS = 'must be host:port, http://host:port, https://host:port, socks5://host:port or socks5h://host:port';

/** host, host:port or [ipv6]:port, without a scheme. */
const BARE_ADDRESS = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/;
const HTTP_URL = /^https?:\/\/(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}\/?$/;
const SOCKS_URL = /^socks5h?:\/\/(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})?\/?$/;

/** The three forms as one pattern, for the JSON Schema (editors); port ranges and a leading dot are the reader's to refuse. */
const PROXY_URL_PATTERN = `^(?:${[BARE_ADDRESS, HTTP_URL, SOCKS_URL].map((form) => form.source.slice(1, -1)).join('|')})$`;

/** True for a url written without a scheme, which proxyUrl reads as http://host:8080. */
export function isBareProxyAddress(value: string): boolean {
  return !value.includes('://');
}

/**
 * http(s)://host:port, socks5(h)://host[:port], or a bare host[:port] (read
 * as http, port 8080 unless given). Messages never quote the URL: it may hold
 * the very credentials we refuse.
 */
export const proxyUrl = text.transform((value, ctx) => {
  const fail = (message: string): never => {
    ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  };
  if (isBareProxyAddress(value)) {
    const bare = BARE_ADDRESS.exec(value);
    const port = bare?.[2] === undefined ? BARE_DEFAULT_PORT : Number(bare[2]);
    if (bare?.[1] === undefined || bare[1].startsWith('.') || port < 1 || port > 65_535) return fail(FORMS);
    return `http://${bare[1]}:${port}`;
  }
  const parsed = URL.canParse(value) ? new URL(value) : undefined;
  const socks = parsed?.protocol === 'socks5:' || parsed?.protocol === 'socks5h:';
  if (parsed === undefined || !(socks || parsed.protocol === 'http:' || parsed.protocol === 'https:')) return fail(FORMS);
  if (parsed.username !== '' || parsed.password !== '') return fail('must not contain a user name or password; set username and password (or passwordFile) instead');
  // socks5 is no special scheme to WHATWG URL: its empty path is '', not '/'.
  if (!['', '/'].includes(parsed.pathname) || parsed.search !== '' || parsed.hash !== '') return fail('must be just scheme://host:port, without a path');
  if (socks) {
    if (!SOCKS_URL.test(value)) return fail(FORMS);
    return `${parsed.protocol}//${parsed.host}${parsed.port === '' ? `:${SOCKS_DEFAULT_PORT}` : ''}`;
  }
  if (!HTTP_URL.test(value)) return fail('must include the port, e.g. http://proxy.corp.example:3128');
  return value.replace(/\/$/, '');
}).meta({ pattern: PROXY_URL_PATTERN });

const NO_PROXY_RULE = 'each entry must be a host name, .domain or *.domain (its subdomains too), or an IP address, optionally with :port; not a URL or a CIDR range';
/** One NO_PROXY entry as undici's EnvHttpProxyAgent matches it: a host (and its subdomains), an optional port. */
const NO_PROXY_ENTRY = /^(?:(?:\*?\.)?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

const noProxyEntry = z.string().regex(NO_PROXY_ENTRY, { message: NO_PROXY_RULE });
/** A list, or one entry alone. */
export const noProxyList = z.preprocess((value) => (typeof value === 'string' ? [value] : value), z.array(noProxyEntry, { error: 'must be a list of host names' }));

export async function readProxies(ctx: LoadContext, section: Field<MappingReader>): Promise<ProxyRegistry> {
  const proxies = new Map<string, ProxyConfig>();
  const broken = new Set<string>();
  if (section.state !== 'ok') return { proxies, broken };
  for (const entry of section.value.entries()) {
    const path = section.value.childPath(entry.key);
    const errorsBefore = ctx.sink.errorCount;
    if (!SAFE_NAME.test(entry.key)) ctx.sink.error(path, `invalid proxy name; use ${SAFE_NAME_RULE}`, entry.keyAt);
    if (entry.key === ENVIRONMENT_PROXY_NAME) {
      ctx.sink.error(
        path,
        `the name "${ENVIRONMENT_PROXY_NAME}" is reserved: a mailbox with proxy: ${ENVIRONMENT_PROXY_NAME} takes its proxy from HTTP_PROXY, HTTPS_PROXY and NO_PROXY; choose another name`,
        entry.keyAt,
      );
    }
    const reader = MappingReader.open(ctx, entry.value, path, entry.keyAt, PROXY_KEYS);
    const proxy = reader === undefined ? undefined : await readProxy(reader, entry.key);
    if (proxy !== undefined && ctx.sink.errorCount === errorsBefore) proxies.set(entry.key, proxy);
    else broken.add(entry.key);
  }
  return { proxies, broken };
}

async function readProxy(reader: MappingReader, name: string): Promise<ProxyConfig | undefined> {
  const url = reader.field('url', proxyUrl);
  if (url.state === 'absent') reader.missing('url', 'required; set http://host:port, https://host:port or socks5://host:port');
  if (url.state === 'ok') {
    // Said in validate's output, so whoever copied a bare address from a seed sees how it was read.
    const raw = reader.entry('url')?.value;
    const written = raw?.kind === 'scalar' && typeof raw.value === 'string' ? raw.value : '';
    if (isBareProxyAddress(written)) {
      const port = BARE_ADDRESS.exec(written)?.[2] === undefined ? `, port ${BARE_DEFAULT_PORT} by default` : '';
      reader.ctx.sink.warning(url.path, `a bare address, read as ${url.value} (an HTTP proxy${port}); write ${url.value} to silence this`, url.valueAt);
    }
  }
  const username = reader.field('username', text);
  const password = await readSecret(reader, 'password');
  if (password.state !== 'absent' && username.state === 'absent') {
    reader.ctx.sink.error(password.path, `a proxy password needs a username; set ${reader.childPath('username')}`, password.at);
  }
  const noProxy = reader.field('noProxy', noProxyList);
  // undici's SOCKS5 agent routes every request through the proxy; bypassing it is left to the mailbox.
  if (noProxy.state === 'ok' && url.state === 'ok' && url.value.startsWith('socks5')) {
    reader.ctx.sink.error(noProxy.path, 'applies to HTTP proxies only; a mailbox that must bypass a SOCKS5 proxy goes without proxy', noProxy.at);
  }
  if (url.state !== 'ok') return undefined;
  return withOptional<ProxyConfig>({ name, url: url.value }, { username: valueOf(username), password: valueOf(password), noProxy: valueOf(noProxy) });
}
