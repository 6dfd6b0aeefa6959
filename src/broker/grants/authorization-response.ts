// Reads the browser's redirect (or the URL an operator pasted): the code, or
// the error the authorization server sent instead of one.
import type { MailboxConfig } from '../../config/index.js';
import { BrokerError } from '../../errors/index.js';
import { classifyOAuthError } from './oauth-errors.js';

export function authorizationResponseError(mailbox: MailboxConfig, callbackUrl: URL): BrokerError | undefined {
  const error = callbackUrl.searchParams.get('error');
  if (error === null) return undefined;
  return classifyOAuthError(
    { error, errorDescription: callbackUrl.searchParams.get('error_description') ?? undefined },
    { mailbox: mailbox.name, authorizationServer: mailbox.authorizationServer.name, grantType: mailbox.grantType },
  );
}

export function codeFrom(mailbox: MailboxConfig, callbackUrl: URL): string {
  const code = callbackUrl.searchParams.get('code');
  if (code === null || code === '') {
    throw new BrokerError(`mailbox ${mailbox.name}: the redirect URL has no "code" parameter.`, {
      code: 'invalid_request',
      permanent: true,
      mailbox: mailbox.name,
      remediation: 'Paste the whole address the browser shows after signing in, starting with the redirect URI.',
    });
  }
  return code;
}
