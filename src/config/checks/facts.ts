// Settles what every other mailbox check depends on: the grant, the
// authorization server (reporting an unknown one, or graph on a non-Microsoft
// one, here and only here), and the defaults of authenticationMode and
// redirectPlatform.
import { didYouMean } from '../suggest.js';
import { isPresent, valueOf } from '../reader.js';
import type { ServerEntry, ServerRegistry } from '../sections/authorization-servers.js';
import type { ProblemSink } from '../problems.js';
import type { AuthenticationMode, RedirectPlatform } from '../types.js';
import type { MailboxDraft, MailboxFacts } from './check.js';

export const DEFAULT_AUTHORIZATION_SERVER = 'microsoft';

export function resolveFacts(mailbox: MailboxDraft, servers: ServerRegistry, sink: ProblemSink): MailboxFacts {
  const protocol = valueOf(mailbox.protocol);
  const grant = valueOf(mailbox.grantType);
  const signsWithKeyFile = grant === 'client-credentials' && isPresent(mailbox.credentialsFile);
  const mode: AuthenticationMode | undefined = mailbox.authenticationMode.state === 'absent' ? (signsWithKeyFile ? 'certificate' : 'client-secret') : valueOf(mailbox.authenticationMode);
  let platform: RedirectPlatform | undefined;
  if (grant === 'authorization-code') {
    platform =
      mailbox.redirectPlatform.state === 'absent'
        ? isPresent(mailbox.clientSecret) || mode === 'certificate'
          ? 'web'
          : 'desktop'
        : valueOf(mailbox.redirectPlatform);
  }
  return { protocol, grant, mode, platform, server: resolveServer(mailbox, servers, sink) };
}

function resolveServer(mailbox: MailboxDraft, servers: ServerRegistry, sink: ProblemSink): ServerEntry | undefined {
  const field = mailbox.authorizationServer;
  if (valueOf(mailbox.grantType) === 'ropc-deprecated') {
    if (field.state === 'ok' && field.value !== DEFAULT_AUTHORIZATION_SERVER) {
      sink.error(field.path, 'does not apply to grant type ropc-deprecated (it always uses the fixed Microsoft endpoint); remove it, or use grant type ropc', field.at);
    }
    return servers.servers.get(DEFAULT_AUTHORIZATION_SERVER);
  }
  if (field.state === 'invalid') return undefined;
  const name = field.state === 'ok' ? field.value : DEFAULT_AUTHORIZATION_SERVER;
  if (servers.broken.has(name)) return undefined;
  const entry = servers.servers.get(name);
  if (entry === undefined) {
    const known = [...servers.servers.keys()].sort();
    sink.error(field.path, `unknown authorization server "${name}"${didYouMean(name, known)}; define it under authorizationServers, or use one of: ${known.join(', ')}`, field.state === 'ok' ? field.valueAt : mailbox.at);
    return undefined;
  }
  if (valueOf(mailbox.protocol) === 'graph' && entry.config.type !== 'microsoft') {
    sink.error(
      field.path,
      `protocol graph needs a microsoft-type authorization server, and ${name} is of type ${entry.config.type}; use ${DEFAULT_AUTHORIZATION_SERVER} (or another server of type microsoft)`,
      field.state === 'ok' ? field.valueAt : mailbox.at,
    );
    // Checks against this server would only repeat the same mistake.
    return undefined;
  }
  return entry;
}
