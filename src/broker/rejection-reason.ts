// The reason a connector gives with ReportRejected is the mail server's
// answer as the connector saw it, and connectors quote freely: the command
// that failed (`AUTHENTICATE XOAUTH2 <SASL string>`), the token itself. The
// broker logs the reason for ops, so the tokens it knows of are taken out
// first, in every encoding (the SASL strings are base64 with the token
// inside), by the scrubber that cleans servers' answers.
import { SecretScrubber } from './grants/secret-scrubber.js';
import type { IssuedToken } from './issued-token.js';

/** How much of a reason is logged: enough for a server's one-line refusal. */
const LOGGED_REASON_LENGTH = 200;

/**
 * `reason` as it may be logged: the access token reported and the mailbox's
 * current one (and its SASL strings) redacted, then cut to its first 200
 * characters (after scrubbing, so no cut-off token is left half found).
 */
export function loggableRejectionReason(reason: string, reportedAccessToken: string, current: IssuedToken | undefined): string {
  const known = [reportedAccessToken, current?.accessToken, current?.saslXoauth2, current?.saslOauthbearer];
  return new SecretScrubber(known).scrub(reason).slice(0, LOGGED_REASON_LENGTH);
}
