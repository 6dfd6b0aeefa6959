// Microsoft Graph as a mail connector meets it, cut down to one list:
//
//   GET /v1.0/users/{UPN, address or object id}/mailFolders/inbox/messages
//   GET /v1.0/me/mailFolders/inbox/messages            (delegated tokens only)
//
// with Graph's answers: 401 InvalidAuthenticationToken and a WWW-Authenticate
// challenge for a token Graph cannot accept, 403 ErrorAccessDenied for
// missing permissions, 404 ErrorInvalidUser for an unknown mailbox, 400 for
// `/me` with an app token. Every decision goes to Sandbox.resourceDecisions.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from './http-io.js';
import { graphMailAccess, principalOf } from './resource-access.js';
import { GRAPH_APP_ID } from './resource-audiences.js';
import { checkResourceToken, decide } from './resource-servers.js';
import type { ResourceServerContext } from './resource-servers.js';
import type { ResourceDecisionReason } from './types.js';

const NO_MAILBOX = '-';
const ACCESS_DENIED = 'Access is denied. Check credentials and try again.';

/** Graph's own words for tokens it will not take (what a client logs). */
const TOKEN_REFUSALS: Partial<Record<ResourceDecisionReason, string>> = {
  missing_token: 'Access token is empty.',
  bad_signature: 'Access token validation failure. Invalid signature or token format.',
  not_an_access_token: 'Access token validation failure. The token is not an access token.',
  expired: 'Lifetime validation failed, the token is expired.',
  not_yet_valid: 'Lifetime validation failed, the token is not yet valid.',
  revoked: 'Continuous access evaluation resulted in challenge with result: InteractionRequired and code: TokenIssuedBeforeRevocationTimestamp',
  wrong_audience: 'Access token validation failure. Invalid audience.',
};

/** `segments`: the decoded path segments, the first being `v1.0`. */
export function handleGraphRequest(
  context: ResourceServerContext,
  request: IncomingMessage,
  response: ServerResponse,
  segments: readonly string[],
): void {
  const answerError = (status: number, code: string, message: string, headers: Record<string, string> = {}): void => {
    const requestId = randomUUID();
    const date = new Date(context.clock.now()).toISOString().replace(/\.\d{3}Z$/, '');
    sendJson(
      response,
      status,
      { error: { code, message, innerError: { date, 'request-id': requestId, 'client-request-id': requestId } } },
      { 'request-id': requestId, ...headers },
    );
  };
  const target = inboxTarget(segments);
  if (target === undefined) {
    return answerError(404, 'ResourceNotFound', `The sandbox's Graph serves only /v1.0/users/{id}/mailFolders/inbox/messages and /v1.0/me/mailFolders/inbox/messages, not /${segments.join('/')}.`);
  }
  if (request.method !== 'GET') {
    return answerError(405, 'BadRequest', 'Specified HTTP method is not allowed for the request target.', { allow: 'GET' });
  }
  const askedMailbox = target.kind === 'user' ? resolveUserId(context, target.id) : undefined;
  const refuseToken = (reason: ResourceDecisionReason, principal?: string): void => {
    decide(context, { endpoint: 'graph', mailbox: askedMailbox ?? NO_MAILBOX, allowed: false, reason, ...(principal === undefined ? {} : { principal }) });
    answerError(401, 'InvalidAuthenticationToken', TOKEN_REFUSALS[reason] ?? 'Access token validation failure.', {
      'www-authenticate': challenge(context, reason),
    });
  };

  const token = bearerToken(request.headers.authorization);
  if (token === undefined) return refuseToken('missing_token');
  const check = checkResourceToken(context, token);
  if (!check.valid) return refuseToken(check.reason);
  const { claims } = check;
  const principal = principalOf(claims);
  if (target.kind === 'me' && principal.kind === 'app') {
    decide(context, { endpoint: 'graph', mailbox: NO_MAILBOX, allowed: false, reason: 'me_with_app_token', principal: principal.name });
    return answerError(400, 'BadRequest', '/me request is only valid with delegated authentication flow.');
  }
  const mailbox = target.kind === 'me' ? principal.name.toLowerCase() : askedMailbox;
  const verdict = graphMailAccess(claims, mailbox, context.mailboxes);
  if (verdict.reason === 'wrong_audience') return refuseToken('wrong_audience', principal.name);
  decide(context, { endpoint: 'graph', mailbox: mailbox ?? NO_MAILBOX, allowed: verdict.allowed, reason: verdict.reason, principal: principal.name });
  if (verdict.reason === 'unknown_mailbox') {
    const id = target.kind === 'user' ? target.id : principal.name;
    return answerError(404, 'ErrorInvalidUser', `The requested user '${id}' is invalid.`);
  }
  if (!verdict.allowed || mailbox === undefined) return answerError(403, 'ErrorAccessDenied', ACCESS_DENIED);
  const path = target.kind === 'me' ? 'me' : `users('${encodeURIComponent(target.id)}')`;
  return sendJson(
    response,
    200,
    { '@odata.context': `${context.authorityUrl}/v1.0/$metadata#${path}/mailFolders('inbox')/messages`, value: context.messages.inbox(mailbox) },
    { 'request-id': randomUUID() },
  );
}

type InboxTarget = { readonly kind: 'me' } | { readonly kind: 'user'; readonly id: string };

/** Graph's path segments compare case-insensitively (`mailFolders`, `Inbox`). */
function inboxTarget(segments: readonly string[]): InboxTarget | undefined {
  const lower = segments.map((segment) => segment.toLowerCase());
  const tail = (from: number): boolean =>
    lower.length === from + 3 && lower[from] === 'mailfolders' && lower[from + 1] === 'inbox' && lower[from + 2] === 'messages';
  if (lower[1] === 'me' && tail(2)) return { kind: 'me' };
  const id = segments[2];
  if (lower[1] === 'users' && id !== undefined && id.length > 0 && tail(3)) return { kind: 'user', id };
  return undefined;
}

/** The address `users/{id}` names: an address as given (lower-case), or the user with that object id; else undefined. */
function resolveUserId(context: ResourceServerContext, id: string): string | undefined {
  if (id.includes('@')) return id.toLowerCase();
  return context.users.findByObjectId(id.toLowerCase())?.username.toLowerCase();
}

function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
  return match?.[1];
}

/**
 * Graph's challenge names the authority and Graph's app id; RFC 6750's
 * `error` says whether a new token helps (invalid_token) or, for a token
 * Continuous Access Evaluation revoked, a fresh sign-in (insufficient_claims).
 */
function challenge(context: ResourceServerContext, reason: ResourceDecisionReason): string {
  const error = reason === 'missing_token' ? undefined : reason === 'revoked' ? 'insufficient_claims' : 'invalid_token';
  return [
    'Bearer realm=""',
    `authorization_uri="${context.authorityUrl}/common/oauth2/authorize"`,
    `client_id="${GRAPH_APP_ID}"`,
    ...(error === undefined ? [] : [`error="${error}"`]),
  ].join(', ');
}
