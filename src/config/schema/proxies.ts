// `proxies` in the document schema: sections/proxies.ts reads it.
import { z } from 'zod';
import { text } from '../fields.js';
import { noProxyList, proxyUrl } from '../sections/proxies.js';
import { ENVIRONMENT_PROXY_NAME } from '../types.js';
import { emptyAllowed, entryName, key, namedEntries, oneOrList, secretPair } from './keys.js';

const proxy = z.strictObject({
  url: key(proxyUrl, {
    description:
      'The proxy: http://host:port or https://host:port (the port is required), socks5://host[:port] or socks5h://host[:port] (port 1080 unless given), or a bare host[:port], read as an HTTP proxy on port 8080 unless given (validate warns how it read it). Never with a user name or password in it: use username and password.',
    examples: ['http://proxy.corp.example:3128', 'socks5://127.0.0.1:1080'],
  }),
  username: key(text, { description: 'The user name the proxy asks for: Basic for HTTP proxies, RFC 1929 for SOCKS5. NTLM and Negotiate are not spoken: run a local authenticating proxy (cntlm, px) and point url at it.' }).optional(),
  ...secretPair('password', 'The password for username (which a password needs).'),
  noProxy: key(oneOrList(noProxyList), {
    description:
      'Hosts reached directly, not through this proxy, in NO_PROXY syntax: a host name, .domain or *.domain (its subdomains too), or an IP address, each optionally with :port; no URLs, no CIDR ranges. HTTP proxies only.',
    examples: [['login.corp.example', '.corp.example']],
  }).optional(),
});

export const proxiesSection = emptyAllowed(
  namedEntries(
    entryName('proxy', { name: ENVIRONMENT_PROXY_NAME, why: 'reserved: a mailbox with proxy: environment takes its proxy from HTTPS_PROXY, HTTP_PROXY and NO_PROXY' }),
    proxy,
  ),
).meta({ description: 'Named HTTP(S) and SOCKS5 proxies that mailboxes reach their authorization server through (mailboxes.<mailbox>.proxy).' });
