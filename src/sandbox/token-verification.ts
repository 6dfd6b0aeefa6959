// Checks tokens this sandbox issued, for tests and for servers standing in
// for Exchange or Graph: signature first, then expiry on the sandbox clock.
import type { TokenSigner } from './jwt.js';
import type { AccessTokenClaims, IdTokenClaims, SandboxClock } from './types.js';

export function verifyAccessToken(signer: TokenSigner, clock: SandboxClock, token: string): AccessTokenClaims | undefined {
  const payload = verifiedAndCurrent(signer, clock, token);
  if (payload === undefined) return undefined;
  const { ver, idtyp } = payload;
  if (ver !== '1.0' || (idtyp !== 'app' && idtyp !== 'user')) return undefined;
  return payload as unknown as AccessTokenClaims;
}

/** id_tokens are v2.0 and carry no `idtyp`: an access token never passes here, nor the reverse. */
export function verifyIdToken(signer: TokenSigner, clock: SandboxClock, token: string): IdTokenClaims | undefined {
  const payload = verifiedAndCurrent(signer, clock, token);
  if (payload === undefined || payload['ver'] !== '2.0' || 'idtyp' in payload) return undefined;
  return payload as unknown as IdTokenClaims;
}

function verifiedAndCurrent(signer: TokenSigner, clock: SandboxClock, token: string): Record<string, unknown> | undefined {
  const payload = signer.verify(token);
  if (payload === undefined) return undefined;
  const { exp, nbf } = payload;
  if (typeof exp !== 'number' || typeof nbf !== 'number') return undefined;
  const nowSeconds = clock.now() / 1000;
  if (nowSeconds >= exp || nowSeconds < nbf) return undefined;
  return payload;
}
