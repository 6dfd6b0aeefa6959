// The HTTP route (proxy, extra CAs) of a mailbox's requests to its
// authorization server; the same for every grant and library.
import type { MailboxConfig } from '../../config/index.js';
import type { RouteOptions } from '../../http/index.js';

export function routeFor(mailbox: MailboxConfig): RouteOptions {
  return {
    proxy: mailbox.proxy,
    caCertificates: mailbox.authorizationServer.caCertificates,
    mailbox: mailbox.name,
    authorizationServer: mailbox.authorizationServer.name,
  };
}
