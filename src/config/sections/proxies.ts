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
import type { ProxyConfig } from '../types.js';

export interface ProxyRegistry {
  readonly proxies: ReadonlyMap<string, ProxyConfig>;
  /** Defined, but with errors: mailboxes naming them get no "unknown proxy" on top. */
  readonly broken: ReadonlySet<string>;
}

const PROXY_KEYS = ['url', 'username', ...secretKeys('password')];

const PROXY_URL = /^https?:\/\/(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}\/?$/;

/** http(s)://host:port. Messages never quote the URL: it may hold the very credentials we refuse. */
export const proxyUrl = text.transform((value, ctx) => {
  const parsed = URL.canParse(value) ? new URL(value) : undefined;
  const fail = (message: string): never => {
    ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  };
  if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) return fail('must be http://host:port or https://host:port');
  if (parsed.username !== '' || parsed.password !== '') return fail('must not contain a user name or password; set username and password (or passwordFile) instead');
  if (parsed.pathname !== '/' || parsed.search !== '' || parsed.hash !== '') return fail('must be just scheme://host:port, without a path');
  if (!PROXY_URL.test(value)) return fail('must include the port, e.g. http://proxy.corp.example:3128');
  return value.replace(/\/$/, '');
});

export async function readProxies(ctx: LoadContext, section: Field<MappingReader>): Promise<ProxyRegistry> {
  const proxies = new Map<string, ProxyConfig>();
  const broken = new Set<string>();
  if (section.state !== 'ok') return { proxies, broken };
  for (const entry of section.value.entries()) {
    const path = section.value.childPath(entry.key);
    const errorsBefore = ctx.sink.errorCount;
    if (!SAFE_NAME.test(entry.key)) ctx.sink.error(path, `invalid proxy name; use ${SAFE_NAME_RULE}`, entry.keyAt);
    const reader = MappingReader.open(ctx, entry.value, path, entry.keyAt, PROXY_KEYS);
    const proxy = reader === undefined ? undefined : await readProxy(reader, entry.key);
    if (proxy !== undefined && ctx.sink.errorCount === errorsBefore) proxies.set(entry.key, proxy);
    else broken.add(entry.key);
  }
  return { proxies, broken };
}

async function readProxy(reader: MappingReader, name: string): Promise<ProxyConfig | undefined> {
  const url = reader.field('url', proxyUrl);
  if (url.state === 'absent') reader.missing('url', 'required; set http://host:port or https://host:port');
  const username = reader.field('username', text);
  const password = await readSecret(reader, 'password');
  if (password.state !== 'absent' && username.state === 'absent') {
    reader.ctx.sink.error(password.path, `a proxy password needs a username; set ${reader.childPath('username')}`, password.at);
  }
  if (url.state !== 'ok') return undefined;
  return withOptional<ProxyConfig>({ name, url: url.value }, { username: valueOf(username), password: valueOf(password) });
}
