// A token as the broker hands it out: immutable, with the SASL XOAUTH2 string
// computed once when the token arrives so that serving it allocates nothing.
import type { MailboxConfig, Protocol } from '../config/index.js';
import { BrokerError } from '../errors/index.js';
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

/**
 * base64("user=" + user + "\x01auth=Bearer " + token + "\x01\x01"), as IMAP/POP3/SMTP XOAUTH2 expects.
 * A control character in either part would add fields of its own (`^Aauth=...`): refused here too, as a
 * second line behind the config's check of username and sharedMailbox.
 */
export function saslXoauth2(username: string, accessToken: string): string {
  const inUser = [...username].findIndex((character) => /\p{Cc}/u.test(character));
  if (inUser !== -1) {
    const codePoint = ([...username][inUser]?.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');
    throw new BrokerError(
      `the SASL XOAUTH2 user name contains a control character (U+${codePoint} at character ${inUser + 1}), which would inject fields into the SASL string; fix username or sharedMailbox in the config`,
      { code: 'config_invalid', permanent: true },
    );
  }
  const inToken = /\p{Cc}/u.exec(accessToken)?.[0];
  if (inToken !== undefined) {
    // The token is a secret: the message names the character, never the token or where it sits in it.
    const codePoint = (inToken.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');
    throw new BrokerError(`the access token from the authorization server contains a control character (U+${codePoint}), which no OAuth 2.0 token may hold; it was not handed out`, {
      code: 'authorization_server_error',
    });
  }
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
