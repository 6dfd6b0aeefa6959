// Names a mailbox refers to must exist, and the server must offer the
// endpoints its grant uses (microsoft-type servers derive all of theirs).
import { GRANT_RULES } from '../grant-rules.js';
import { didYouMean } from '../suggest.js';
import { ENVIRONMENT_PROXY_NAME } from '../types.js';
import type { MailboxCheck } from './check.js';

export const proxyExists: MailboxCheck = ({ mailbox, facts, sink, proxies }) => {
  const field = mailbox.proxy;
  if (field.state !== 'ok' || (facts.grant !== undefined && GRANT_RULES[facts.grant].proxy === 'n/a')) return;
  if (field.value === ENVIRONMENT_PROXY_NAME || proxies.proxies.has(field.value) || proxies.broken.has(field.value)) return;
  const known = [...proxies.proxies.keys(), ...proxies.broken].sort();
  const choice = known.length === 0 ? 'define it under proxies' : `define it under proxies, or use one of: ${known.join(', ')}`;
  sink.error(field.path, `unknown proxy "${field.value}"${didYouMean(field.value, known)}; ${choice}`, field.valueAt);
};

export const serverHasEndpoints: MailboxCheck = ({ mailbox, facts, sink }) => {
  const { grant, server } = facts;
  if (grant === undefined || server?.complete !== true || server.config.type === 'microsoft') return;
  const { name, issuer, authorizationEndpoint, deviceAuthorizationEndpoint } = server.config;
  const field = mailbox.authorizationServer;
  const at = field.state === 'absent' ? mailbox.at : field.valueAt;
  if (GRANT_RULES[grant].authorizationEndpoint && authorizationEndpoint === undefined && issuer === undefined) {
    sink.error(field.path, `grant type ${grant} needs an authorization endpoint, and authorization server ${name} has none; set authorizationServers.${name}.authorizationEndpoint or issuer`, at);
  }
  if (GRANT_RULES[grant].deviceAuthorizationEndpoint && deviceAuthorizationEndpoint === undefined && issuer === undefined) {
    sink.error(field.path, `grant type ${grant} needs a device authorization endpoint, and authorization server ${name} has none; set authorizationServers.${name}.deviceAuthorizationEndpoint or issuer`, at);
  }
};
