// Counters of token requests, so tests can assert how often a client really
// went to the authorization server (caching, rate limits, retries).
import type { SandboxStats, SandboxStatsSnapshot } from './types.js';

export class TokenRequestStats implements SandboxStats {
  #total = 0;
  #otherRequests = 0;
  #authorizationRequests = 0;
  #deviceCodeRequests = 0;
  readonly #byClientId = new Map<string, number>();
  readonly #byGrantType = new Map<string, number>();
  readonly #byUser = new Map<string, number>();

  get total(): number {
    return this.#total;
  }

  /** Requests to anything but a token, authorize or devicecode endpoint (discovery, keys): a client given metadata should make none. */
  get otherRequests(): number {
    return this.#otherRequests;
  }

  get authorizationRequests(): number {
    return this.#authorizationRequests;
  }

  get deviceCodeRequests(): number {
    return this.#deviceCodeRequests;
  }

  forClient(clientId: string): number {
    return this.#byClientId.get(clientId.toLowerCase()) ?? 0;
  }

  forGrantType(grantType: string): number {
    return this.#byGrantType.get(grantType) ?? 0;
  }

  forUser(username: string): number {
    return this.#byUser.get(username.toLowerCase()) ?? 0;
  }

  /** Kept to the original four keys: tests compare it with deepEqual. */
  snapshot(): SandboxStatsSnapshot {
    return {
      total: this.#total,
      otherRequests: this.#otherRequests,
      byClientId: Object.fromEntries(this.#byClientId),
      byGrantType: Object.fromEntries(this.#byGrantType),
    };
  }

  reset(): void {
    this.#total = 0;
    this.#otherRequests = 0;
    this.#authorizationRequests = 0;
    this.#deviceCodeRequests = 0;
    this.#byClientId.clear();
    this.#byGrantType.clear();
    this.#byUser.clear();
  }

  recordOther(): void {
    this.#otherRequests += 1;
  }

  recordAuthorization(): void {
    this.#authorizationRequests += 1;
  }

  recordDeviceCode(): void {
    this.#deviceCodeRequests += 1;
  }

  /** Client ids are counted case-insensitively, as Entra matches them. */
  record(clientId: string | undefined, grantType: string | undefined): void {
    this.#total += 1;
    if (clientId !== undefined) increment(this.#byClientId, clientId.toLowerCase());
    if (grantType !== undefined) increment(this.#byGrantType, grantType);
  }

  /** Called once per token request, as soon as its user is known. */
  recordUser(username: string): void {
    increment(this.#byUser, username.toLowerCase());
  }
}

function increment(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}
