// What mail servers' refusals of an OAuth login mean, and what to change
// where. Exchange Online's answers are terse ("AUTHENTICATE failed.") and
// the same text covers several causes, so the explanation depends on
// whether the token was an application's or a user's.
//
// Sources: Microsoft Learn, "Authenticate an IMAP, POP or SMTP connection
// using OAuth" (service principals, Add-MailboxPermission) and "Enable or
// disable authenticated client SMTP submission (SMTP AUTH) in Exchange
// Online" (Set-CASMailbox, Set-TransportConfig, 5.7.139); Dovecot's
// auth-oauth2 (AUTHENTICATIONFAILED, 535 5.7.8; its error challenge is
// {"status":"401",...} for XOAUTH2 and {"status":"invalid_token"} for
// OAUTHBEARER, whatever the cause, so the cause is read from the token).

export interface AnswerContext {
  readonly protocol: 'imap' | 'pop3' | 'smtp';
  /** app: client credentials; user: a delegated grant. */
  readonly kind: 'app' | 'user';
  readonly mailbox: string;
  /** The SASL user (sharedMailbox if set, else username). */
  readonly loginUser: string;
  /** The user that signed in (delegated); the mailbox's username. */
  readonly username: string;
  readonly clientId: string;
  /**
   * The token checks that failed (error findings), in order, when the doctor
   * checked the token: a server that only says "refused" (Dovecot) is then
   * explained by what is wrong with the token, or, with nothing wrong, by the
   * mailbox's side. Undefined: not checked, a generic explanation.
   */
  readonly tokenProblems?: readonly TokenProblem[];
}

export interface TokenProblem {
  /** The finding's check: audience, permission, user, tenant, expiry, ... */
  readonly check: string;
  readonly fix?: string;
}

export interface AnswerExplanation {
  /** A stable name of the answer, e.g. exchange-authenticate-failed. */
  readonly id: string;
  readonly meaning: string;
  readonly fix: string;
}

interface KnownAnswer {
  readonly id: string;
  readonly protocols: readonly AnswerContext['protocol'][];
  readonly pattern: RegExp;
  explain(context: AnswerContext): { meaning: string; fix: string };
}

const servicePrincipalFix = (context: AnswerContext): string =>
  `In Exchange Online PowerShell: New-ServicePrincipal -AppId ${context.clientId} -ObjectId <object id of the enterprise application>, ` +
  `then Add-MailboxPermission -Identity ${context.loginUser} -User <that service principal> -AccessRights FullAccess. ` +
  `Also check the app's ${APP_ROLES[context.protocol]} permission has admin consent.`;

const APP_ROLES: Readonly<Record<AnswerContext['protocol'], string>> = { imap: 'IMAP.AccessAsApp', pop3: 'POP.AccessAsApp', smtp: 'SMTP.SendAsApp' };
const CAS_SETTINGS: Readonly<Record<AnswerContext['protocol'], string>> = { imap: 'ImapEnabled $true', pop3: 'PopEnabled $true', smtp: 'SmtpClientAuthenticationDisabled $false' };

/**
 * Dovecot with an oauth2 passdb says only "Authentication failed": it asked
 * the token's issuer (RFC 7662 introspection; here Exchange Online's) and
 * was told the token is not active for this mailbox and protocol. Which of
 * the causes Exchange knows it was follows from the token findings: a token
 * they fault is refused for that; a token in order is refused for the
 * mailbox (the app's or the delegate's permission on it), or, on the user's
 * own mailbox, because it was revoked after it was issued. The fixes are
 * the ones Exchange's own refusals get.
 */
function introspectionRefusal(context: AnswerContext, answer: string): { meaning: string; fix: string } {
  const said =
    `Dovecot (or a server like it) refused the token for ${context.loginUser} (${answer}): its oauth2 passdb asked the token's issuer whether the token is active ` +
    `(RFC 7662 introspection) and was told it is not, for this mailbox over ${context.protocol.toUpperCase()}`;
  const problems = context.tokenProblems;
  if (problems === undefined) {
    return {
      meaning: `${said}: expired, revoked, for another mailbox, or for another service.`,
      fix: 'Compare the token\'s findings above with what the server expects; on Dovecot, auth_debug = yes shows the introspection\'s answer in the log (doveadm log errors).',
    };
  }
  const first = problems[0];
  if (first !== undefined) {
    const checks = [...new Set(problems.map((problem) => problem.check))];
    return {
      meaning: `${said}; the ${checks.length === 1 ? `${checks[0] ?? ''} finding above says` : `${checks.slice(0, -1).join(', ')} and ${checks.at(-1) ?? ''} findings above say`} why.`,
      fix: `Fix the ${first.check} finding first: ${first.fix ?? 'see above.'}`,
    };
  }
  if (context.kind === 'app') {
    return {
      meaning: `${said}. As the token itself is in order (audience, roles, tenant), Exchange found no permission on ${context.loginUser} for the application (its service principal), or the token was revoked since.`,
      fix: servicePrincipalFix(context),
    };
  }
  if (context.loginUser.toLowerCase() !== context.username.toLowerCase()) {
    const sendAs = context.protocol === 'smtp';
    return {
      meaning: `${said}. As the token itself is in order, ${context.username} may not open ${context.loginUser}: Exchange needs Full Access${sendAs ? ' and, to send as it, Send As' : ''} on that mailbox for ${context.username}.`,
      fix:
        `Add-MailboxPermission -Identity ${context.loginUser} -User ${context.username} -AccessRights FullAccess` +
        `${sendAs ? `; Add-RecipientPermission -Identity ${context.loginUser} -Trustee ${context.username} -AccessRights SendAs` : ''} (Exchange Online PowerShell).`,
    };
  }
  return {
    meaning:
      `${said}. As the token is in order and names ${context.username}'s own mailbox, it was most likely revoked after it was issued ` +
      `(a password reset, "Revoke sessions", Continuous Access Evaluation), or ${context.protocol.toUpperCase()} is turned off for the mailbox.`,
    fix:
      `The daemon replaces a revoked token at its next refresh; when the refresh token was revoked too, token-broker status shows the mailbox needs authorization: token-broker authorize ${context.mailbox}. ` +
      `If the next token is refused too: Set-CASMailbox -Identity ${context.loginUser} -${CAS_SETTINGS[context.protocol]}.`,
  };
}

const KNOWN_ANSWERS: readonly KnownAnswer[] = [
  {
    // Gmail ("NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)", "535-5.7.8 Username and Password not accepted"): before the generic answers it shares codes with.
    id: 'gmail-invalid-credentials',
    protocols: ['imap', 'pop3', 'smtp'],
    pattern: /Invalid credentials|Username and Password not accepted/i,
    explain: () => ({
      meaning: 'Gmail refused the token: it has expired or been revoked, lacks https://mail.google.com/, or names another user.',
      fix: 'Check the scopes finding above; the user= of the login must be the account that authorized (mailboxes.NAME.username).',
    }),
  },
  {
    // Dovecot's answer to any refused login; with an oauth2 passdb the token did not pass introspection.
    id: 'dovecot-authentication-failed',
    protocols: ['imap', 'pop3'],
    pattern: /\[AUTHENTICATIONFAILED\]|^-ERR \[AUTH\] Authentication failed/i,
    explain: (context) => introspectionRefusal(context, context.protocol === 'imap' ? 'NO [AUTHENTICATIONFAILED]' : '-ERR [AUTH]'),
  },
  {
    id: 'smtp-5.7.8',
    protocols: ['smtp'],
    pattern: /^535[ -]5\.7\.8\b/,
    // Dovecot submission's refusal (and other servers'): 535 5.7.8, credentials invalid.
    explain: (context) => introspectionRefusal(context, '535 5.7.8'),
  },
  {
    id: 'exchange-smtp-auth-disabled',
    protocols: ['smtp'],
    pattern: /^535[ -]5\.7\.139\b.*SmtpClientAuthentication is disabled for the (Tenant|Mailbox)/i,
    explain: (context) => ({
      meaning: 'Exchange Online has authenticated SMTP submission (SMTP AUTH) turned off, so no OAuth login can send.',
      fix:
        `For this mailbox: Set-CASMailbox -Identity ${context.loginUser} -SmtpClientAuthenticationDisabled $false; ` +
        'for the whole tenant: Set-TransportConfig -SmtpClientAuthenticationDisabled $false (a mailbox setting overrides the tenant\'s). Security defaults in Entra ID block it too.',
    }),
  },
  {
    id: 'exchange-smtp-5.7.3',
    protocols: ['smtp'],
    pattern: /^535[ -]5\.7\.3\b/,
    explain: (context) =>
      context.kind === 'app'
        ? {
            meaning: `Exchange Online refused the application token for ${context.loginUser}: it does not know the app's service principal, or the app may not send as this mailbox.`,
            fix:
              `In Exchange Online PowerShell: New-ServicePrincipal -AppId ${context.clientId} -ObjectId <object id of the enterprise application>, then ` +
              `Add-MailboxPermission -Identity ${context.loginUser} -User <that service principal> -AccessRights FullAccess; the app needs SMTP.SendAsApp with admin consent.`,
          }
        : {
            meaning: `Exchange Online refused the token of ${context.username} for ${context.loginUser}: the token lacks SMTP.Send, or ${context.username} may not send as ${context.loginUser}.`,
            fix:
              `Check the permission finding above (SMTP.Send in mailboxes.${context.mailbox}.scopes, then token-broker authorize ${context.mailbox}); ` +
              `for another mailbox grant Send As (Add-RecipientPermission -Identity ${context.loginUser} -Trustee ${context.username} -AccessRights SendAs).`,
          },
  },
  {
    id: 'exchange-basic-auth-not-supported',
    protocols: ['smtp'],
    pattern: /^5\d\d[ -]5\.7\.30\b/,
    explain: () => ({
      meaning: 'Exchange Online saw a password (Basic) login, not OAuth: Basic authentication is switched off for client submission.',
      fix: 'Make the connector log in with AUTH XOAUTH2 and the string of token-broker token --xoauth2 (or the Token.sasl_xoauth2 field), not AUTH LOGIN or PLAIN.',
    }),
  },
  {
    id: 'exchange-authenticate-failed',
    protocols: ['imap', 'pop3'],
    pattern: /\bAUTHENTICATE failed\b|^-ERR Authentication failure/i,
    explain: (context) =>
      context.kind === 'app'
        ? {
            meaning: `Exchange Online refused the application token for ${context.loginUser}: the usual cause is that Exchange does not know the app's service principal, or it has no permission on this mailbox.`,
            fix: servicePrincipalFix(context),
          }
        : {
            meaning: `Exchange Online refused the token of ${context.username} for ${context.loginUser}: ${context.protocol.toUpperCase()} may be disabled for the mailbox, the token may lack the ${context.protocol === 'imap' ? 'IMAP.AccessAsUser.All' : 'POP.AccessAsUser.All'} scope, or ${context.username} may not open ${context.loginUser}.`,
            fix:
              `Set-CASMailbox -Identity ${context.loginUser} -${context.protocol === 'imap' ? 'ImapEnabled' : 'PopEnabled'} $true; check the permission finding above ` +
              `(mailboxes.${context.mailbox}.scopes, then token-broker authorize ${context.mailbox}); for a shared mailbox, Add-MailboxPermission -Identity ${context.loginUser} -User ${context.username} -AccessRights FullAccess.`,
          },
  },
];

/**
 * The explanation of a server's refusal, or undefined for an answer we do
 * not know. `errorDetail` (the decoded error challenge, e.g. {"status":"401"})
 * adds what the server said about the token itself.
 */
export function explainMailServerAnswer(reply: readonly string[], context: AnswerContext, errorDetail?: Record<string, unknown> | string): AnswerExplanation | undefined {
  const lines = reply.map((line) => line.trim());
  const known = KNOWN_ANSWERS.find((answer) => answer.protocols.includes(context.protocol) && lines.some((line) => answer.pattern.test(line.replace(/^[A-Za-z0-9]+ NO /, ''))));
  if (known === undefined) return undefined;
  const { meaning, fix } = known.explain(context);
  const status = typeof errorDetail === 'object' ? errorDetail.status : undefined;
  const detail = typeof status === 'string' || typeof status === 'number' ? ` The server's error challenge says status ${String(status)}${String(status) === '401' || String(status) === 'invalid_token' ? ' (the token is not valid for it)' : String(status) === '400' ? ' (the request or the token is malformed)' : ''}.` : '';
  return { id: known.id, meaning: `${meaning}${detail}`, fix };
}
