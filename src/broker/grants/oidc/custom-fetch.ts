// openid-client's `customFetch` on top of our one HTTP seam, so discovery,
// token and device requests take the mailbox's proxy and CAs, and transport
// failures surface as the BrokerErrors HttpTransport throws.
import type { CustomFetch } from 'openid-client';
import type { HttpTransport, RouteOptions } from '../../../http/index.js';

export function customFetchFor(transport: HttpTransport, route: RouteOptions): CustomFetch {
  // Node's fetch types are undici's, so the shapes match; at runtime
  // oauth4webapi recognizes undici's Response by its toStringTag.
  const fetch = transport.fetchFor(route);
  return (url, options) => fetch(url, options);
}
