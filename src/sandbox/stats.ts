// Counters of token requests, so tests can assert how often a client really
// went to the authorization server (caching, rate limits, retries).
import type { SandboxStats, SandboxStatsSnapshot } from './types.js';

export class TokenRequestStats implements SandboxStats {
  #total = 0;
  readonly #byClientId = new Map<string, number>();
  readonly #byGrantType = new Map<string, number>();

  get total(): number {
    return this.#total;
  }

  forClient(clientId: string): number {
    return this.#byClientId.get(clientId.toLowerCase()) ?? 0;
  }

  forGrantType(grantType: string): number {
    return this.#byGrantType.get(grantType) ?? 0;
  }

  snapshot(): SandboxStatsSnapshot {
    return {
      total: this.#total,
      byClientId: Object.fromEntries(this.#byClientId),
      byGrantType: Object.fromEntries(this.#byGrantType),
    };
  }

  reset(): void {
    this.#total = 0;
    this.#byClientId.clear();
    this.#byGrantType.clear();
  }

  /** Client ids are counted case-insensitively, as Entra matches them. */
  record(clientId: string | undefined, grantType: string | undefined): void {
    this.#total += 1;
    if (clientId !== undefined) increment(this.#byClientId, clientId.toLowerCase());
    if (grantType !== undefined) increment(this.#byGrantType, grantType);
  }
}

function increment(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}
