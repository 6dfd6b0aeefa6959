// Counters of token requests, so tests can assert how often a client really
// went to the token endpoint and with which grant.
import type { GoogleSandboxStats } from './types.js';

export class TokenStats implements GoogleSandboxStats {
  #total = 0;
  readonly #byGrantType = new Map<string, number>();
  readonly #byClientId = new Map<string, number>();

  get total(): number {
    return this.#total;
  }

  forGrantType(grantType: string): number {
    return this.#byGrantType.get(grantType) ?? 0;
  }

  forClient(clientId: string): number {
    return this.#byClientId.get(clientId) ?? 0;
  }

  snapshot(): { total: number; byGrantType: Record<string, number>; byClientId: Record<string, number> } {
    return { total: this.#total, byGrantType: Object.fromEntries(this.#byGrantType), byClientId: Object.fromEntries(this.#byClientId) };
  }

  reset(): void {
    this.#total = 0;
    this.#byGrantType.clear();
    this.#byClientId.clear();
  }

  record(grantType: string | undefined, clientId: string | undefined): void {
    this.#total += 1;
    if (grantType !== undefined) this.#byGrantType.set(grantType, this.forGrantType(grantType) + 1);
    if (clientId !== undefined) this.#byClientId.set(clientId, this.forClient(clientId) + 1);
  }
}
