// A token as the broker hands it out: immutable, with the SASL XOAUTH2 string
// computed once when the token arrives so that serving it allocates nothing.
import type { MailboxConfig, Protocol } from '../config/index.js';
import type { TokenResult } from './grants/index.js';

export interface IssuedToken {
  readonly mailbox: string;
  readonly accessToken: string;
  readonly tokenType: string;
  /** Milliseconds since the epoch. */
  readonly expiresAt: number;
  readonly obtainedAt: number;
  readonly scopes: readonly string[];
  /** The SASL / Graph identity: sharedMailbox when set, else username. */
  readonly username: string;
  readonly saslXoauth2: string;
  readonly protocol: Protocol;
}

/** base64("user=" + user + "\x01auth=Bearer " + token + "\x01\x01"), as IMAP/POP3/SMTP XOAUTH2 expects. */
export function saslXoauth2(username: string, accessToken: string): string {
  return Buffer.from(`user=${username}\x01auth=Bearer ${accessToken}\x01\x01`, 'utf8').toString('base64');
}

export function issueToken(mailbox: MailboxConfig, result: TokenResult, obtainedAt: number): IssuedToken {
  const username = mailbox.sharedMailbox ?? mailbox.username;
  return Object.freeze({
    mailbox: mailbox.name,
    accessToken: result.accessToken,
    tokenType: result.tokenType,
    expiresAt: result.expiresAt,
    obtainedAt,
    scopes: Object.freeze([...result.scopes]),
    username,
    saslXoauth2: saslXoauth2(username, result.accessToken),
    protocol: mailbox.protocol,
  });
}
