// The two OAuth 2.0 SASL mechanisms mail servers take: their initial
// responses, and the JSON error a server sends as a challenge on refusal.
export type SaslMechanism = 'XOAUTH2' | 'OAUTHBEARER';

export const SASL_MECHANISMS: readonly SaslMechanism[] = ['XOAUTH2', 'OAUTHBEARER'];

/** base64("user=" + user + "\x01auth=Bearer " + token + "\x01\x01"), as Token.sasl_xoauth2. */
export function xoauth2InitialResponse(username: string, accessToken: string): string {
  return Buffer.from(`user=${username}\x01auth=Bearer ${accessToken}\x01\x01`).toString('base64');
}

/**
 * RFC 7628 OAUTHBEARER: a GS2 header naming the user (`,` and `=` escaped as
 * RFC 5801 asks), then key=value pairs. host and port are optional; a server
 * may compare them with its own.
 */
export function oauthBearerInitialResponse(username: string, accessToken: string, host?: string, port?: number): string {
  const user = username.replace(/=/g, '=3D').replace(/,/g, '=2C');
  const fields = [...(host === undefined ? [] : [`host=${host}`]), ...(port === undefined ? [] : [`port=${port}`]), `auth=Bearer ${accessToken}`];
  return Buffer.from(`n,a=${user},\x01${fields.join('\x01')}\x01\x01`).toString('base64');
}

/** The bearer token inside an initial response of either mechanism, to keep it out of transcripts; undefined when there is none. */
export function bearerTokenOf(initialResponse: string): string | undefined {
  const text = Buffer.from(initialResponse, 'base64').toString('utf8');
  const field = text.split('\x01').find((part) => part.startsWith('auth=Bearer '));
  return field?.slice('auth=Bearer '.length);
}

/**
 * What a server's challenge after a refused OAuth login says: RFC 7628's and
 * Google's XOAUTH2 error are base64 JSON (`{"status":"401","schemes":...}`).
 * Anything else is kept as text.
 */
export function decodeErrorChallenge(challenge: string): Record<string, unknown> | string | undefined {
  const trimmed = challenge.trim();
  if (trimmed === '') return undefined;
  const text = Buffer.from(trimmed, 'base64').toString('utf8');
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // not JSON: shown as the server sent it
  }
  return /^[\x20-\x7e]*$/.test(text) ? text : trimmed;
}

/** How a transcript shows an initial response. */
export function redactedInitialResponse(mechanism: SaslMechanism, initialResponse: string): string {
  return `<${mechanism} string, ${initialResponse.length} bytes>`;
}
