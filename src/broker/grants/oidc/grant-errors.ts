// The BrokerErrors this folder raises itself (as opposed to classifying a
// server's answer): not authorized yet, a pasted URL from elsewhere, a
// combination the server cannot do, and config gaps validation should have caught.
import type { MailboxConfig } from '../../../config/index.js';
import { BrokerError } from '../../../errors/index.js';
import type { BrokerErrorCode } from '../../../errors/index.js';

export const authorizeCommand = (mailbox: MailboxConfig): string => `Run: token-broker authorize ${mailbox.name}`;

export function notAuthorizedYet(mailbox: MailboxConfig): BrokerError {
  return new BrokerError(`mailbox ${mailbox.name} has no refresh token: it has not been authorized yet, or its authorization was dropped.`, {
    code: 'needs_authorization',
    permanent: true,
    mailbox: mailbox.name,
    authorizationServer: mailbox.authorizationServer.name,
    remediation: authorizeCommand(mailbox),
  });
}

/** The pasted redirect URL carries another authorization's state (or another server's `iss`). */
export function foreignCallback(mailbox: MailboxConfig, why: string): BrokerError {
  return new BrokerError(`mailbox ${mailbox.name}: the pasted URL does not belong to the authorization that was started (${why}).`, {
    code: 'invalid_request',
    permanent: true,
    mailbox: mailbox.name,
    authorizationServer: mailbox.authorizationServer.name,
    remediation: `Paste the address the browser landed on after the latest sign-in for this mailbox, or start again: ${authorizeCommand(mailbox)}`,
  });
}

export function configurationError(mailbox: MailboxConfig, message: string, remediation: string, code: BrokerErrorCode = 'config_invalid'): BrokerError {
  return new BrokerError(`mailbox ${mailbox.name}: ${message}`, {
    code,
    permanent: true,
    mailbox: mailbox.name,
    authorizationServer: mailbox.authorizationServer.name,
    remediation,
  });
}

/** Something config validation guarantees is missing: a bug, not an operator mistake. */
export function validationGap(mailbox: MailboxConfig, what: string): BrokerError {
  return configurationError(mailbox, `${what} (config validation let this through).`, 'This is a bug in token-broker; report it with the mailbox settings (without secrets).', 'internal');
}
