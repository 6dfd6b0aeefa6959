// A grant whose answers a test controls, for engine tests with a manual clock.
import assert from 'node:assert/strict';
import type { Grant, GrantState, TokenResult } from '../../src/broker/index.js';

/** A grant whose answers the test controls; each acquire() waits for the test to settle it. */
export class ScriptedGrant implements Grant {
  readonly type: 'client-credentials' | 'authorization-code';
  readonly interactive: boolean;
  constructor(interactive = false) {
    this.interactive = interactive;
    this.type = interactive ? 'authorization-code' : 'client-credentials';
  }
  calls = 0;
  /** The refresh token each acquisition was given (undefined: none). */
  readonly refreshTokensUsed: (string | undefined)[] = [];
  readonly #pending: { resolve: (result: TokenResult) => void; reject: (error: unknown) => void }[] = [];
  acquire(state: GrantState): Promise<TokenResult> {
    this.calls++;
    this.refreshTokensUsed.push(state.refreshToken);
    return new Promise((resolve, reject) => this.#pending.push({ resolve, reject }));
  }
  succeed(token: string, expiresAt: number, refreshToken?: string): void {
    const next = this.#pending.shift();
    assert.ok(next, 'no acquisition pending');
    next.resolve({ accessToken: token, tokenType: 'Bearer', expiresAt, scopes: ['s'], ...(refreshToken === undefined ? {} : { refreshToken }) });
  }
  /** Settles the oldest acquisition with `result` as it is (a refresh token's stated end, for one). */
  answer(result: TokenResult): void {
    const next = this.#pending.shift();
    assert.ok(next, 'no acquisition pending');
    next.resolve(result);
  }
  fail(error: unknown): void {
    const next = this.#pending.shift();
    assert.ok(next, 'no acquisition pending');
    next.reject(error);
  }
  get pending(): number {
    return this.#pending.length;
  }
}

