// The two OAuth 2.0 SASL mechanisms mail servers take, reading their initial
// responses (to keep the token out of transcripts), and the JSON error a
// server sends as a challenge on refusal. The initial responses themselves
// are built in one place only, src/broker/sasl-strings.ts (Token.sasl_*).
export type SaslMechanism = 'XOAUTH2' | 'OAUTHBEARER';

export const SASL_MECHANISMS: readonly SaslMechanism[] = ['XOAUTH2', 'OAUTHBEARER'];

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
