// tenantId: required or recommended per grant on microsoft-type servers,
// meaningless elsewhere, and some of Entra's tenant-independent names do not
// work with some grants.
import { GRANT_RULES } from '../grant-rules.js';
import { isPresent } from '../reader.js';
import type { MailboxCheck } from './check.js';

export const tenantRules: MailboxCheck = ({ mailbox, facts, sink }) => {
  const { server, grant } = facts;
  const field = mailbox.tenantId;
  if (server === undefined) return;
  const { name, type } = server.config;
  if (type !== 'microsoft') {
    if (isPresent(field)) sink.error(field.path, `applies only to microsoft-type authorization servers, and ${name} is of type ${type}; remove it`, field.at);
    return;
  }
  if (grant === undefined) return;
  if (field.state === 'absent') {
    if (GRANT_RULES[grant].tenantId === 'required') {
      sink.error(field.path, `required for grant type ${grant}; set the directory (tenant) ID, or a domain of the tenant such as contoso.onmicrosoft.com`, mailbox.at);
    } else {
      sink.warning(field.path, `recommended for grant type ${grant}; without it the broker uses the organizations authority (any work or school account)`, mailbox.at);
    }
    return;
  }
  if (field.state !== 'ok') return;
  const tenant = field.value.toLowerCase();
  if ((grant === 'ropc' || grant === 'ropc-deprecated') && (tenant === 'common' || tenant === 'consumers')) {
    sink.error(field.path, `grant type ${grant} cannot use the ${tenant} tenant; set the directory (tenant) ID or a domain of the tenant, or remove tenantId to use organizations`, field.valueAt);
  }
  if (grant === 'client-credentials' && (tenant === 'common' || tenant === 'organizations' || tenant === 'consumers')) {
    sink.error(field.path, `grant type client-credentials needs the tenant itself, not ${tenant}; set the directory (tenant) ID or a domain of the tenant`, field.valueAt);
  }
};
