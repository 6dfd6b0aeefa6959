// Checks tokens this sandbox issued, for tests and for the resource servers
// standing in for Exchange or Graph: signature first, then expiry on the
// sandbox clock. checkAccessToken says why a token fails, as a resource
// server must when it refuses one.
import type { TokenSigner } from './jwt.js';
import type { AccessTokenClaims, IdTokenClaims, SandboxClock } from './types.js';

export type AccessTokenCheck =
  | { readonly valid: true; readonly claims: AccessTokenClaims }
  | { readonly valid: false; readonly reason: 'bad_signature' | 'not_an_access_token' | 'expired' | 'not_yet_valid' };

export function checkAccessToken(signer: TokenSigner, clock: SandboxClock, token: string): AccessTokenCheck {
  const payload = signer.verify(token);
  if (payload === undefined) return { valid: false, reason: 'bad_signature' };
  const { ver, idtyp } = payload;
  if (ver !== '1.0' || (idtyp !== 'app' && idtyp !== 'user')) return { valid: false, reason: 'not_an_access_token' };
  const timing = lifetimeProblem(payload, clock);
  if (timing !== undefined) return { valid: false, reason: timing };
  return { valid: true, claims: payload as unknown as AccessTokenClaims };
}

export function verifyAccessToken(signer: TokenSigner, clock: SandboxClock, token: string): AccessTokenClaims | undefined {
  const check = checkAccessToken(signer, clock, token);
  return check.valid ? check.claims : undefined;
}

/** id_tokens are v2.0 and carry no `idtyp`: an access token never passes here, nor the reverse. */
export function verifyIdToken(signer: TokenSigner, clock: SandboxClock, token: string): IdTokenClaims | undefined {
  const payload = signer.verify(token);
  if (payload === undefined || lifetimeProblem(payload, clock) !== undefined) return undefined;
  if (payload['ver'] !== '2.0' || 'idtyp' in payload) return undefined;
  return payload as unknown as IdTokenClaims;
}

/** A token without numeric exp/nbf never was valid: reported as expired. */
function lifetimeProblem(payload: Record<string, unknown>, clock: SandboxClock): 'expired' | 'not_yet_valid' | undefined {
  const { exp, nbf } = payload;
  if (typeof exp !== 'number' || typeof nbf !== 'number') return 'expired';
  const nowSeconds = clock.now() / 1000;
  if (nowSeconds >= exp) return 'expired';
  if (nowSeconds < nbf) return 'not_yet_valid';
  return undefined;
}
