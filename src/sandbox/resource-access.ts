// The access rules of the resource servers, apart from HTTP so they can be
// tested as a table: which token may open which mailbox with which protocol
// on Exchange Online, and read which inbox on Graph. The token's signature,
// lifetime and revocation are checked before (resource-token.ts).
import type { MailboxView } from './mailbox-permissions.js';
import { isExchangeAudience, isGraphAudience } from './resource-audiences.js';
import type { AccessTokenClaims, MailProtocol, ResourceDecisionReason } from './types.js';

export interface AccessVerdict {
  readonly allowed: boolean;
  readonly reason: ResourceDecisionReason;
}

/** Who a token speaks for: the signed-in user (delegated) or the application itself. */
export type TokenPrincipal =
  | { readonly kind: 'user'; readonly name: string }
  | { readonly kind: 'app'; readonly name: string };

/** What Exchange asks of `scp` (delegated) and `roles` (app) per protocol. */
export const EXCHANGE_PERMISSIONS: Readonly<Record<MailProtocol, { readonly scope: string; readonly role: string }>> = {
  imap: { scope: 'IMAP.AccessAsUser.All', role: 'IMAP.AccessAsApp' },
  pop3: { scope: 'POP.AccessAsUser.All', role: 'POP.AccessAsApp' },
  smtp: { scope: 'SMTP.Send', role: 'SMTP.SendAsApp' },
};

/** Delegated Graph permissions that read one's own mail, and those that also read mailboxes shared with the user. */
const GRAPH_OWN_MAIL_SCOPES = ['Mail.Read', 'Mail.ReadWrite', 'Mail.Read.Shared', 'Mail.ReadWrite.Shared'];
const GRAPH_SHARED_MAIL_SCOPES = ['Mail.Read.Shared', 'Mail.ReadWrite.Shared'];
const GRAPH_APP_MAIL_ROLES = ['Mail.Read', 'Mail.ReadWrite'];

export function principalOf(claims: AccessTokenClaims): TokenPrincipal {
  // upn is always there on user tokens this sandbox mints; appid on all.
  return claims.idtyp === 'user'
    ? { kind: 'user', name: claims.upn ?? claims.preferred_username ?? claims.oid }
    : { kind: 'app', name: claims.appid };
}

/** The permissions a token carries, for introspection's `scope`: `scp` of delegated tokens, `roles` of app tokens. */
export function grantedPermissions(claims: AccessTokenClaims): string[] {
  return claims.idtyp === 'user'
    ? (claims.scp ?? '').split(' ').filter((value) => value.length > 0)
    : [...(claims.roles ?? [])];
}

/**
 * May this token open `mailbox` over `protocol` on Exchange Online? `mailbox`
 * undefined is the catch-all passdb (an address the test config does not
 * know): never.
 */
export function exchangeAccess(
  claims: AccessTokenClaims,
  protocol: MailProtocol,
  mailbox: string | undefined,
  mailboxes: MailboxView,
): AccessVerdict {
  if (!isExchangeAudience(claims.aud)) return refused('wrong_audience');
  const principal = principalOf(claims);
  const needed = EXCHANGE_PERMISSIONS[protocol];
  if (principal.kind === 'user' && !carries(claims, [needed.scope])) return refused('missing_scope');
  if (principal.kind === 'app' && !carries(claims, [needed.role])) return refused('missing_role');
  if (mailbox === undefined || !mailboxes.exists(mailbox)) return refused('unknown_mailbox');
  if (principal.kind === 'user' && isOwnMailbox(principal, mailbox)) return allowed('own_mailbox');
  const rights = mailboxes.rightsOf(mailbox, principal.name);
  // Exchange documents FullAccess for service principals on all three
  // protocols; a delegate sending as another address also needs SendAs.
  if (!rights.has('FullAccess')) return refused('no_mailbox_permission');
  if (principal.kind === 'app') return allowed('application_access');
  if (protocol === 'smtp' && !rights.has('SendAs')) return refused('no_send_as_permission');
  return allowed('delegated_access');
}

/** The introspection that names no mailbox: is this a token Exchange Online would take at all? */
export function exchangeTokenValidity(claims: AccessTokenClaims): AccessVerdict {
  return isExchangeAudience(claims.aud) ? allowed('valid_token') : refused('wrong_audience');
}

/**
 * May this token list `mailbox`'s inbox through Graph? `mailbox` is the
 * address `users/{id}` or `/me` resolved to, undefined when nothing matched.
 * (`/me` with an app token is refused before, by the endpoint.)
 */
export function graphMailAccess(claims: AccessTokenClaims, mailbox: string | undefined, mailboxes: MailboxView): AccessVerdict {
  if (!isGraphAudience(claims.aud)) return refused('wrong_audience');
  if (mailbox === undefined || !mailboxes.exists(mailbox)) return refused('unknown_mailbox');
  const principal = principalOf(claims);
  if (principal.kind === 'app') {
    if (!carries(claims, GRAPH_APP_MAIL_ROLES)) return refused('missing_role');
    // An application access policy scoping the app to mailboxes is a grant here.
    return mailboxes.rightsOf(mailbox, principal.name).has('FullAccess')
      ? allowed('application_access')
      : refused('no_mailbox_permission');
  }
  if (isOwnMailbox(principal, mailbox)) {
    return carries(claims, GRAPH_OWN_MAIL_SCOPES) ? allowed('own_mailbox') : refused('missing_scope');
  }
  if (!carries(claims, GRAPH_SHARED_MAIL_SCOPES)) return refused('missing_scope');
  return mailboxes.rightsOf(mailbox, principal.name).has('FullAccess')
    ? allowed('delegated_access')
    : refused('no_mailbox_permission');
}

function isOwnMailbox(principal: TokenPrincipal, mailbox: string): boolean {
  return principal.kind === 'user' && principal.name.toLowerCase() === mailbox.toLowerCase();
}

/** True when the token carries any of `permissions`; Entra's permission names compare case-insensitively. */
function carries(claims: AccessTokenClaims, permissions: readonly string[]): boolean {
  const granted = new Set(grantedPermissions(claims).map((value) => value.toLowerCase()));
  return permissions.some((permission) => granted.has(permission.toLowerCase()));
}

function allowed(reason: ResourceDecisionReason): AccessVerdict {
  return { allowed: true, reason };
}

function refused(reason: ResourceDecisionReason): AccessVerdict {
  return { allowed: false, reason };
}
