// The SASL initial client responses a token is handed out with, ready for
// IMAP AUTHENTICATE, POP3 AUTH and SMTP AUTH: XOAUTH2 (Google's and
// Microsoft's mechanism) and OAUTHBEARER (RFC 7628, the standard one).
// Written by hand: each is one line of framing, and no library in use builds
// them (nodemailer and imapflow build their own from a user and a token).
import { BrokerError } from '../errors/index.js';

export type SaslMechanism = 'XOAUTH2' | 'OAUTHBEARER';

/**
 * base64("user=" + user + "\x01auth=Bearer " + token + "\x01\x01"), as IMAP/POP3/SMTP XOAUTH2 expects.
 * A control character in either part would add fields of its own (`^Aauth=...`): refused here too, as a
 * second line behind the config's check of username and sharedMailbox.
 */
export function saslXoauth2(username: string, accessToken: string): string {
  refuseControlCharacters('XOAUTH2', username, accessToken);
  return Buffer.from(`user=${username}\x01auth=Bearer ${accessToken}\x01\x01`, 'utf8').toString('base64');
}

/**
 * base64("n,a=" + saslname(user) + ",\x01auth=Bearer " + token + "\x01\x01"): RFC 7628's initial client
 * response (section 3.1) without the optional host and port, which no server needs to accept a token.
 * The user is the authorization identity of the GS2 header, so it is written as a saslname (RFC 5801,
 * section 4): ',' ends the header and '=' starts an escape, so they become "=2C" and "=3D". An empty user
 * leaves the authzid out ("n,,"), as the grammar has no empty saslname; XOAUTH2 then sends an empty "user=".
 */
export function saslOauthbearer(username: string, accessToken: string): string {
  refuseControlCharacters('OAUTHBEARER', username, accessToken);
  const authzid = username === '' ? '' : `a=${gs2Saslname(username)}`;
  return Buffer.from(`n,${authzid},\x01auth=Bearer ${accessToken}\x01\x01`, 'utf8').toString('base64');
}

/** RFC 5801's saslname: '=' first, so that the "=2C" written for a ',' is not escaped again. */
function gs2Saslname(value: string): string {
  return value.replaceAll('=', '=3D').replaceAll(',', '=2C');
}

function refuseControlCharacters(mechanism: SaslMechanism, username: string, accessToken: string): void {
  const inUser = [...username].findIndex((character) => /\p{Cc}/u.test(character));
  if (inUser !== -1) {
    throw new BrokerError(
      `the SASL ${mechanism} user name contains a control character (${codePointOf([...username][inUser] ?? '')} at character ${inUser + 1}), which would inject fields into the SASL string; fix username or sharedMailbox in the config`,
      { code: 'config_invalid', permanent: true },
    );
  }
  const inToken = /\p{Cc}/u.exec(accessToken)?.[0];
  if (inToken !== undefined) {
    // The token is a secret: the message names the character, never the token or where it sits in it.
    throw new BrokerError(`the access token from the authorization server contains a control character (${codePointOf(inToken)}), which no OAuth 2.0 token may hold; it was not handed out`, {
      code: 'authorization_server_error',
    });
  }
}

function codePointOf(character: string): string {
  return `U+${(character.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}
