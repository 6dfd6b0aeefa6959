// ropc and ropc-deprecated exist for Microsoft Graph only (the vendor table's
// protocol rows).
import { GRANT_RULES, grantsFor } from '../grant-rules.js';
import { orList } from '../text.js';
import type { MailboxCheck } from './check.js';

export const grantSupportsProtocol: MailboxCheck = ({ mailbox, facts, sink }) => {
  const { grant, protocol } = facts;
  if (grant === undefined || protocol === undefined || GRANT_RULES[grant].protocols.includes(protocol)) return;
  const field = mailbox.grantType;
  if (field.state !== 'ok') return;
  sink.error(field.path, `grant type ${grant} works only with protocol ${orList(GRANT_RULES[grant].protocols)}; for ${protocol} use ${orList(grantsFor(protocol))}`, field.valueAt);
};
