// The plain cells of the grant matrix: fields a grant type requires, and
// fields that do not apply to it (an error, so a misunderstanding of the
// grant shows instead of being silently ignored).
import { GRANT_RULES } from '../grant-rules.js';
import type { Cell } from '../grant-rules.js';
import { isPresent } from '../reader.js';
import type { Field } from '../reader.js';
import { GRANT_TYPES } from '../types.js';
import type { GrantTypeName } from '../types.js';
import type { ProblemSink } from '../problems.js';
import type { MailboxCheck, MailboxDraft } from './check.js';

const PLAIN_FIELDS = ['clientId', 'username', 'password', 'redirectUri', 'redirectPlatform', 'proxy'] as const;
type PlainField = (typeof PLAIN_FIELDS)[number];

/** Why a field does not apply, where the bare "does not apply" would leave the operator guessing. */
function notApplicableReason(field: string, grant: GrantTypeName): string {
  if (grant === 'ropc-deprecated' && field === 'scopes') return ' (it always asks for the Graph default scope)';
  if (grant === 'ropc-deprecated' && field === 'proxy') return ' (it connects directly, without a proxy)';
  if (field === 'password' && grant === 'client-credentials') return ' (the application signs in with its own credential)';
  if (field === 'password') return ' (the user signs in interactively; the broker never sees the password)';
  if (field === 'credentialsFile') return ' (a service account key is for client-credentials: the service account acts as the user)';
  return '';
}

function requiredMessage(field: PlainField, grant: GrantTypeName | undefined): string {
  switch (field) {
    case 'clientId':
      return 'required; set the application (client) ID of the app registration';
    case 'username':
      return grant === 'client-credentials'
        ? 'required for grant type client-credentials; set the address of the mailbox the application reads'
        : "required; set the mailbox user's name, e.g. sales@contoso.example";
    case 'password':
      return `required for grant type ${grant ?? ''}; set password or passwordFile`;
    case 'redirectUri':
      return `required for grant type ${grant ?? ''}; set the redirect URI registered for the app, e.g. http://localhost:8400/callback`;
    default:
      return 'required';
  }
}

/** The field's cell for this grant; with the grant unknown, only a cell all grants agree on. */
function cellOf(field: PlainField, grant: GrantTypeName | undefined): Cell | undefined {
  if (grant !== undefined) return GRANT_RULES[grant][field];
  const cells = new Set(GRANT_TYPES.map((each) => GRANT_RULES[each][field]));
  return cells.size === 1 ? [...cells][0] : undefined;
}

/** `name` is the field's name in the matrix; the path is the key actually written (`password` or `passwordFile`). */
function reportNotApplicable(name: keyof MailboxDraft, field: Field<unknown>, grant: GrantTypeName, sink: ProblemSink): void {
  if (!isPresent(field)) return;
  sink.error(field.path, `does not apply to grant type ${grant}${notApplicableReason(name, grant)}; remove it`, field.at);
}

export const plainCells: MailboxCheck = ({ mailbox, facts, sink }) => {
  const { grant } = facts;
  for (const name of PLAIN_FIELDS) {
    const field: Field<unknown> = mailbox[name];
    const cell = cellOf(name, grant);
    // A service account key file names its account: clientId may be left out (checks/service-account-key.ts).
    const namedByKeyFile = name === 'clientId' && isPresent(mailbox.credentialsFile);
    if (cell === 'required' && field.state === 'absent' && !namedByKeyFile) sink.error(field.path, requiredMessage(name, grant), mailbox.at);
    if (cell === 'n/a' && grant !== undefined) reportNotApplicable(name, field, grant, sink);
  }
  if (grant === undefined) return;
  if (GRANT_RULES[grant].scopes === 'n/a') reportNotApplicable('scopes', mailbox.scopes, grant, sink);
  if (GRANT_RULES[grant].certificate === 'n/a') reportNotApplicable('certificate', mailbox.certificate, grant, sink);
  if (GRANT_RULES[grant].credentialsFile === 'n/a') reportNotApplicable('credentialsFile', mailbox.credentialsFile, grant, sink);
};
