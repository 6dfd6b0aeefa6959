// `store.url` taken apart: which backend, where, and how to name it in
// messages. A redis URL may carry a password; the description never does.
import { BrokerError } from '../errors/index.js';

export type StoreTarget =
  | { readonly kind: 'sqlite'; readonly path: string; readonly description: string }
  | { readonly kind: 'redis'; readonly url: string; readonly description: string; readonly database: number }
  | { readonly kind: 'memory'; readonly description: string };

export function parseStoreUrl(url: string): StoreTarget {
  if (url === 'memory:' || url === 'memory://') return { kind: 'memory', description: 'memory:' };
  if (url.startsWith('sqlite://') && url.length > 'sqlite://'.length) {
    const path = url.slice('sqlite://'.length);
    return { kind: 'sqlite', path, description: `sqlite://${path}` };
  }
  if (/^rediss?:\/\//.test(url) && URL.canParse(url)) {
    const description = new URL(url);
    if (description.hostname !== '') {
      const database = databaseOf(description.pathname);
      description.password = '';
      description.search = '';
      description.hash = '';
      return { kind: 'redis', url, description: description.toString(), database };
    }
  }
  // The loader has already refused such a URL; this is a caller passing its own. Never quote it: it may hold a password.
  throw new BrokerError('store.url must be sqlite:///path/to/tokens.sqlite, redis://host:6379/0, rediss://host:6380/0 or memory:.', {
    code: 'config_invalid',
    permanent: true,
  });
}

/** `/3` -> 3; none -> 0, as the redis client reads it (which refuses anything else when connecting). */
function databaseOf(pathname: string): number {
  const database = Number(pathname.slice(1));
  return Number.isInteger(database) && database >= 0 ? database : 0;
}
