// Grants that ask for scopes need some: the mailbox's own, or the server's
// default for the protocol at the grant's level.
import { GRANT_RULES } from '../grant-rules.js';
import { isPresent, valueOf } from '../reader.js';
import { defaultScopes } from '../scopes.js';
import type { MailboxCheck } from './check.js';

const GMAIL_SCOPE = 'https://mail.google.com/';

export const scopesAvailable: MailboxCheck = ({ mailbox, facts, sink }) => {
  const { grant, protocol, server } = facts;
  if (grant === undefined || protocol === undefined || server?.complete !== true) return;
  if (GRANT_RULES[grant].scopes !== 'required (server default counts)' || mailbox.scopes.state !== 'absent') return;
  const defaults = defaultScopes(server.config, protocol, grant, isPresent(mailbox.sharedMailbox));
  if (defaults !== undefined && defaults.length > 0) return;
  const { name } = server.config;
  sink.error(
    mailbox.scopes.path,
    `required for grant type ${grant}: authorization server ${name} has no default scopes for ${protocol}; set scopes here, or authorizationServers.${name}.scopes.${protocol}`,
    mailbox.at,
  );
};

/** Google's device flow allows only a short list of scopes, and Gmail's is not on it. */
export const googleDeviceFlowScopes: MailboxCheck = ({ mailbox, facts, sink }) => {
  const { grant, protocol, server } = facts;
  if (grant !== 'device-code' || protocol === undefined || server?.config.type !== 'google' || mailbox.grantType.state !== 'ok') return;
  const scopes = valueOf(mailbox.scopes) ?? defaultScopes(server.config, protocol, grant, false) ?? [];
  if (!scopes.includes(GMAIL_SCOPE)) return;
  sink.warning(mailbox.grantType.path, `Google does not allow the Gmail scope (${GMAIL_SCOPE}) in the device flow; use grant type authorization-code`, mailbox.grantType.valueAt);
};
