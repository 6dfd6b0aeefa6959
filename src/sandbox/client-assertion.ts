// Certificate credentials: the PEM certificates an app registration holds, and
// the checks Entra runs on a client assertion JWT signed with one of their keys
// (format, key by thumbprint, signature, iss/sub, aud, time, jti), in its order.
import { X509Certificate, constants, createHash, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { clientAuthErrors } from './client-auth-errors.js';
import type { EntraError } from './entra-errors.js';
import { parseJsonObject } from './jwt.js';

export interface RegisteredCertificate {
  /** base64url SHA-1 of the DER certificate: what a legacy `x5t` header carries. */
  readonly x5t: string;
  /** base64url SHA-256 of the DER certificate: what an `x5t#S256` header carries. */
  readonly x5tS256: string;
  readonly publicKey: KeyObject;
  readonly validFrom: number;
  readonly validTo: number;
}

export interface AssertionContext {
  /** Token endpoint URLs this request may have been addressed to (one per host name the sandbox answers to). */
  readonly audiences: readonly string[];
  /** Milliseconds since the epoch, from the sandbox clock. */
  readonly now: number;
}

/** Entra tolerates this much clock difference on `exp` and `nbf`. */
const CLOCK_SKEW_SECONDS = 300;

export function parseRegisteredCertificate(name: string, pem: unknown): RegisteredCertificate {
  let certificate: X509Certificate;
  try {
    if (typeof pem !== 'string') throw new TypeError('not a string');
    certificate = new X509Certificate(pem);
  } catch {
    throw new TypeError(`"${name}" must be a PEM certificate`);
  }
  return {
    x5t: createHash('sha1').update(certificate.raw).digest('base64url'),
    x5tS256: createHash('sha256').update(certificate.raw).digest('base64url'),
    publicKey: certificate.publicKey,
    validFrom: Date.parse(certificate.validFrom),
    validTo: Date.parse(certificate.validTo),
  };
}

export function verifyClientAssertion(
  assertion: string,
  clientId: string,
  certificates: readonly RegisteredCertificate[],
  context: AssertionContext,
): EntraError | undefined {
  const parts = assertion.split('.');
  const [encodedHeader = '', encodedPayload = '', encodedSignature = ''] = parts;
  const header = parts.length === 3 ? parseJsonObject(encodedHeader) : undefined;
  const payload = parts.length === 3 ? parseJsonObject(encodedPayload) : undefined;
  if (header === undefined || payload === undefined) return clientAuthErrors.assertionMalformed();
  const algorithm = header['alg'];
  if (algorithm !== 'RS256' && algorithm !== 'PS256') return clientAuthErrors.assertionMalformed();

  // msal-node pairs PS256 with x5t#S256 and RS256 with the legacy x5t; Entra
  // accepts either header with either algorithm, so does the sandbox.
  const sha256 = typeof header['x5t#S256'] === 'string' ? header['x5t#S256'] : undefined;
  const sha1 = typeof header['x5t'] === 'string' ? header['x5t'] : undefined;
  const certificate = certificates.find((candidate) =>
    sha256 !== undefined ? candidate.x5tS256 === sha256 : candidate.x5t === sha1,
  );
  const shownThumbprint = thumbprintHex(sha256 ?? sha1);
  if (certificate === undefined) return clientAuthErrors.assertionKeyNotFound(clientId, shownThumbprint);

  const signingInput = Buffer.from(`${encodedHeader}.${encodedPayload}`);
  const signature = Buffer.from(encodedSignature, 'base64url');
  const key =
    algorithm === 'PS256'
      ? { key: certificate.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO }
      : certificate.publicKey;
  if (!verify('sha256', signingInput, key, signature)) {
    return clientAuthErrors.assertionSignatureInvalid(clientId, shownThumbprint ?? 'unknown', certificate.validFrom, certificate.validTo);
  }

  const { iss, sub, aud, exp, nbf, jti } = payload;
  if (!sameId(iss, clientId) || !sameId(sub, clientId)) return clientAuthErrors.assertionClientMismatch();
  const audience = Array.isArray(aud) && aud.length === 1 ? (aud[0] as unknown) : aud;
  if (typeof audience !== 'string' || !context.audiences.some((candidate) => sameUrl(candidate, audience))) {
    return clientAuthErrors.assertionAudienceMismatch();
  }
  if (typeof exp !== 'number' || (nbf !== undefined && typeof nbf !== 'number')) return clientAuthErrors.assertionMalformed();
  const nowSeconds = context.now / 1000;
  if (exp + CLOCK_SKEW_SECONDS <= nowSeconds || (nbf !== undefined && nbf - CLOCK_SKEW_SECONDS > nowSeconds)) {
    return clientAuthErrors.assertionOutOfTime(context.now, (nbf ?? 0) * 1000, exp * 1000);
  }
  if (typeof jti !== 'string' || jti.length === 0) return clientAuthErrors.assertionMalformed();
  return undefined;
}

/** Entra shows the thumbprint the client named as upper-case hex. */
function thumbprintHex(base64url: string | undefined): string | undefined {
  return base64url === undefined ? undefined : Buffer.from(base64url, 'base64url').toString('hex').toUpperCase();
}

function sameId(value: unknown, clientId: string): boolean {
  return typeof value === 'string' && value.toLowerCase() === clientId.toLowerCase();
}

/** Host names and the tenant segment are case-insensitive; so is the rest of Entra's path. */
function sameUrl(expected: string, given: string): boolean {
  return expected.toLowerCase() === given.toLowerCase();
}
