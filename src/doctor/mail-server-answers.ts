// What mail servers' refusals of an OAuth login mean, and what to change
// where. Exchange Online's answers are terse ("AUTHENTICATE failed.") and
// the same text covers several causes, so the explanation depends on
// whether the token was an application's or a user's.
//
// Sources: Microsoft Learn, "Authenticate an IMAP, POP or SMTP connection
// using OAuth" (service principals, Add-MailboxPermission) and "Enable or
// disable authenticated client SMTP submission (SMTP AUTH) in Exchange
// Online" (Set-CASMailbox, Set-TransportConfig, 5.7.139); Dovecot's
// auth-oauth2 (AUTHENTICATIONFAILED, 535 5.7.8).

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
  `Also check the app's ${context.protocol === 'pop3' ? 'POP.AccessAsApp' : 'IMAP.AccessAsApp'} permission has admin consent.`;

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
    explain: (context) => ({
      meaning: `the server (Dovecot or alike) refused the token for ${context.loginUser}: its token check (introspection or a local key) found it expired, revoked, for another mailbox, or for another service.`,
      fix: `Compare the token's findings above with what the server expects; on Dovecot, auth_debug = yes shows the introspection's answer in the log (doveadm log errors).`,
    }),
  },
  {
    id: 'smtp-5.7.8',
    protocols: ['smtp'],
    pattern: /^535[ -]5\.7\.8\b/,
    explain: (context) => ({
      meaning: `the server refused the token for ${context.loginUser} (535 5.7.8: credentials invalid): expired, revoked, for another mailbox, or without the permission to send.`,
      fix: 'Check the token findings above (audience, scope, user); on Dovecot submission, auth_debug = yes logs why.',
    }),
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
  const detail = typeof status === 'string' || typeof status === 'number' ? ` The server's error challenge says status ${String(status)}${String(status) === '401' ? ' (the token is not valid for it)' : String(status) === '400' ? ' (the request or the token is malformed)' : ''}.` : '';
  return { id: known.id, meaning: `${meaning}${detail}`, fix };
}
