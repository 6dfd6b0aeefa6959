// Access tokens the resource servers refuse before they expire, as Exchange
// and Graph do under Continuous Access Evaluation. A token is known by its
// `uti` (16 random bytes, unique per token), so the set never holds a token.
import type { TokenSigner } from './jwt.js';
import type { AccessTokenClaims } from './types.js';

export class RevokedAccessTokens {
  readonly #utis = new Set<string>();
  readonly #signer: TokenSigner;

  constructor(signer: TokenSigner) {
    this.#signer = signer;
  }

  /** Expiry is not checked: an expired token may be revoked too (it stays refused either way). */
  revoke(token: string): void {
    const uti = typeof token === 'string' ? this.#signer.verify(token)?.['uti'] : undefined;
    if (typeof uti !== 'string') throw new TypeError('"token" must be an access token this sandbox issued');
    this.#utis.add(uti);
  }

  isRevoked(claims: AccessTokenClaims): boolean {
    return this.#utis.has(claims.uti);
  }
}
