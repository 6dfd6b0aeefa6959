// A token as the broker hands it out: immutable, with its SASL strings
// (XOAUTH2, OAUTHBEARER) computed once when the token arrives so that
// serving it allocates nothing.
import type { MailboxConfig, Protocol } from '../config/index.js';
import type { TokenResult } from './grants/index.js';
import { saslOauthbearer, saslXoauth2 } from './sasl-strings.js';

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
  /** base64 of XOAUTH2's `user=USER^Aauth=Bearer TOKEN^A^A`. */
  readonly saslXoauth2: string;
  /** base64 of RFC 7628's `n,a=USER,^Aauth=Bearer TOKEN^A^A` (USER escaped as a GS2 saslname). */
  readonly saslOauthbearer: string;
  readonly protocol: Protocol;
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
    saslOauthbearer: saslOauthbearer(username, result.accessToken),
    protocol: mailbox.protocol,
  });
}
