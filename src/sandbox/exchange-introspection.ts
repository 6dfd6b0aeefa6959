// Exchange Online as a mail server's passdb sees it: RFC 7662 token
// introspection. Dovecot's oauth2 passdb POSTs `token=...` (plus empty
// client_id/client_secret, ignored) and never says which user is logging in,
// so the test config gives each mailbox its own passdb whose URL names the
// protocol and the mailbox:
//
//   POST /exchange/introspect/{imap|pop3|smtp}/{mailbox}   ('-': the catch-all, never active)
//   POST /exchange/introspect                              (validity only)
//
// Both answer 200 with `{"active":false}` and nothing more for any refusal
// (RFC 7662 section 2.2); the reason goes to Sandbox.resourceDecisions.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { nonEmpty, readForm, sendJson } from './http-io.js';
import { exchangeAccess, exchangeTokenValidity, grantedPermissions, principalOf } from './resource-access.js';
import type { AccessVerdict } from './resource-access.js';
import { checkResourceToken, decide } from './resource-servers.js';
import type { ResourceServerContext } from './resource-servers.js';
import type { AccessTokenClaims, MailProtocol } from './types.js';

const PROTOCOLS: ReadonlySet<string> = new Set<MailProtocol>(['imap', 'pop3', 'smtp']);
/** The mailbox segment of the catch-all passdb: an address no other passdb matched. */
const NO_MAILBOX = '-';

/** `segments`: the decoded path segments, the first being `exchange`. */
export async function handleExchangeRequest(
  context: ResourceServerContext,
  request: IncomingMessage,
  response: ServerResponse,
  segments: readonly string[],
): Promise<void> {
  const target = introspectionTarget(segments);
  if (target === undefined) {
    return sendJson(response, 404, {
      error: 'not_found',
      error_description: `no Exchange endpoint at /${segments.join('/')}: use POST /exchange/introspect[/{imap|pop3|smtp}/{mailbox}]`,
    });
  }
  if (request.method !== 'POST') {
    return sendJson(response, 405, { error: 'invalid_request', error_description: 'token introspection takes POST only' }, { allow: 'POST' });
  }
  const form = await readForm(request, response);
  if (form === undefined) return;
  const { protocol, mailbox } = target;
  const asked = { endpoint: 'introspection' as const, ...(protocol === undefined ? {} : { protocol }), mailbox: mailbox ?? NO_MAILBOX };
  const token = nonEmpty(form.params.get('token'));
  if (token === undefined) {
    decide(context, { ...asked, allowed: false, reason: 'missing_token' });
    return sendJson(response, 400, {
      error: 'invalid_request',
      error_description: 'the form-encoded parameter "token" is missing (RFC 7662 section 2.1)',
    });
  }
  const check = checkResourceToken(context, token);
  if (!check.valid) {
    decide(context, { ...asked, allowed: false, reason: check.reason });
    return sendJson(response, 200, { active: false });
  }
  const { claims } = check;
  const principal = principalOf(claims).name;
  const verdict: AccessVerdict =
    protocol === undefined ? exchangeTokenValidity(claims) : exchangeAccess(claims, protocol, mailbox, context.mailboxes);
  decide(context, { ...asked, allowed: verdict.allowed, reason: verdict.reason, principal });
  if (!verdict.allowed) return sendJson(response, 200, { active: false });
  return sendJson(response, 200, activeAnswer(claims, protocol === undefined ? principal : (mailbox ?? principal)));
}

/**
 * `{protocol, mailbox}` of the path (mailbox lower-case, undefined for '-'),
 * `{}` for the unqualified endpoint, undefined when the path is no
 * introspection endpoint.
 */
function introspectionTarget(segments: readonly string[]): { protocol?: MailProtocol; mailbox?: string } | undefined {
  const [, endpoint, protocol, mailbox, ...extra] = segments;
  if (endpoint !== 'introspect' || extra.length > 0) return undefined;
  if (protocol === undefined) return {};
  if (!PROTOCOLS.has(protocol) || mailbox === undefined || mailbox.length === 0) return undefined;
  return { protocol: protocol as MailProtocol, ...(mailbox === NO_MAILBOX ? {} : { mailbox: mailbox.toLowerCase() }) };
}

/** RFC 7662's active answer; `username` is what Dovecot's `username_attribute` compares with the login name. */
function activeAnswer(claims: AccessTokenClaims, username: string): Record<string, unknown> {
  return {
    active: true,
    username,
    scope: grantedPermissions(claims).join(' '),
    aud: claims.aud,
    exp: claims.exp,
    client_id: claims.appid,
    token_type: 'Bearer',
    sub: claims.sub,
  };
}
