// The one checker every infrastructure fault ends with: connectors keep
// calling GetToken through the fault (the load that makes the broker refresh
// while the proxy, redis or the disk is gone), and the checker holds every
// answer to the contract: a token served is valid for min_validity_seconds
// from when it was asked for and is the sandbox's, and every refusal is a
// typed broker error whose message names its cause.
import assert from 'node:assert/strict';
import type { ServiceError } from '@grpc/grpc-js';
import type { TokenBrokerClient } from '../../../src/client/index.js';
import type { Sandbox } from '../../../src/sandbox/index.js';
import { eventually } from '../../support/assertions.js';

/** What connectors ask for (the contract's default). */
export const MIN_VALIDITY_SECONDS = 60;

export interface Refusal {
  readonly mailbox: string;
  /** `token-broker-error-code`, or undefined when the call never reached a broker (the daemon is down). */
  readonly code: string | undefined;
  readonly details: string;
}

/** A refusal the current fault explains: its code, and what its message must name. */
export interface ExpectedRefusal {
  readonly code: string;
  readonly names: RegExp;
}

function isServiceError(error: unknown): error is ServiceError {
  return error instanceof Error && 'metadata' in error && 'details' in error;
}

export class ServedTokenChecker {
  readonly problems: string[] = [];
  readonly refusals: Refusal[] = [];
  served = 0;
  readonly #sandbox: Sandbox;

  constructor(sandbox: Sandbox) {
    this.#sandbox = sandbox;
  }

  /** One GetToken as a connector makes it; a served token is checked, a refusal kept for expectRefusals(). */
  async call(client: TokenBrokerClient, mailbox: string): Promise<void> {
    const askedAt = Date.now();
    try {
      const token = await client.getToken(mailbox, { minValiditySeconds: MIN_VALIDITY_SECONDS });
      this.served++;
      // Valid for min_validity_seconds from when the broker answered, which is after the call was sent.
      if (token.expiresAt.getTime() < askedAt + MIN_VALIDITY_SECONDS * 1000) {
        this.problems.push(`${mailbox}: a token valid until ${token.expiresAt.toISOString()}, under ${MIN_VALIDITY_SECONDS} s after it was asked for`);
      }
      if (this.#sandbox.verifyAccessToken(token.accessToken) === undefined) this.problems.push(`${mailbox}: a token the sandbox does not accept (expired or forged)`);
    } catch (error) {
      if (!isServiceError(error)) {
        this.problems.push(`${mailbox}: GetToken failed with a non-gRPC error: ${String(error)}`);
        return;
      }
      const code = error.metadata.get('token-broker-error-code')[0];
      this.refusals.push({ mailbox, code: typeof code === 'string' ? code : undefined, details: error.details });
    }
  }

  /**
   * Calls GetToken for every mailbox on every client, round after round (a
   * connector's pace), until stop() resolves. `clients` is read each round:
   * the SIGKILL fault swaps the client of a restarted daemon in.
   */
  hammer(clients: () => readonly TokenBrokerClient[], mailboxes: readonly string[]): { stop(): Promise<void> } {
    let running = true;
    const loop = (async () => {
      while (running) {
        await Promise.all(clients().flatMap((client) => mailboxes.map((mailbox) => this.call(client, mailbox))));
        // A connector's polling pace; nothing waits on it.
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    return {
      async stop() {
        running = false;
        await loop;
      },
    };
  }

  /** Refusals since `from` (an index into refusals) that no expected one explains; transport errors are allowed only when `daemonMayBeDown`. */
  unexplainedRefusals(from: number, expected: readonly ExpectedRefusal[], daemonMayBeDown = false): string[] {
    return this.refusals
      .slice(from)
      .filter((refusal) => {
        if (refusal.code === undefined) return !daemonMayBeDown;
        return !expected.some((entry) => entry.code === refusal.code && entry.names.test(refusal.details));
      })
      .map((refusal) => `${refusal.mailbox}: ${refusal.code ?? '(no broker error code)'}: ${refusal.details}`);
  }

  /** No served token broke the contract. */
  assertNoProblems(): void {
    assert.deepEqual(this.problems, [], 'every token served is the sandbox’s and valid for min_validity_seconds');
  }
}

/** Every mailbox's status, by name, from one client. */
async function statuses(
  client: TokenBrokerClient,
  mailboxes: readonly string[],
): Promise<Map<string, { state: string; lastErrorCode: string; lastErrorMessage: string; lastRefreshAt?: Date }>> {
  const listed = await client.listMailboxes();
  return new Map(listed.filter((status) => mailboxes.includes(status.mailbox)).map((status) => [status.mailbox, status]));
}

/**
 * Polls status until every mailbox shows `code` as its last error with a
 * message matching `names` (the fault was met and reported where ops look);
 * the bound only ends a wait for something that never happens.
 */
export async function waitForReportedFault(client: TokenBrokerClient, mailboxes: readonly string[], code: string, names: RegExp, timeoutMs = 60_000): Promise<void> {
  await eventually(async () => {
    const current = await statuses(client, mailboxes);
    for (const mailbox of mailboxes) {
      const status = current.get(mailbox);
      assert.ok(status, `${mailbox} is listed`);
      assert.equal(status.lastErrorCode, code, `${mailbox}: last error ${status.lastErrorCode}: ${status.lastErrorMessage}`);
      assert.match(status.lastErrorMessage, names, `${mailbox}: the status message names the cause`);
    }
  }, timeoutMs, 200);
}

/**
 * Polls status until every mailbox is READY with no last error, and (with
 * `refreshedSince`, when the fault began) has obtained a token since: READY
 * alone could be the token from before the fault, still valid.
 */
export async function waitForRecovery(client: TokenBrokerClient, mailboxes: readonly string[], refreshedSince?: number, timeoutMs = 90_000): Promise<void> {
  await eventually(async () => {
    const current = await statuses(client, mailboxes);
    for (const mailbox of mailboxes) {
      const status = current.get(mailbox);
      assert.ok(status, `${mailbox} is listed`);
      assert.equal(status.state, 'READY', `${mailbox}: ${status.state}, last error ${status.lastErrorCode}: ${status.lastErrorMessage}`);
      assert.equal(status.lastErrorCode, '', `${mailbox}: still reports ${status.lastErrorCode}: ${status.lastErrorMessage}`);
      if (refreshedSince !== undefined) assert.ok((status.lastRefreshAt?.getTime() ?? 0) >= refreshedSince, `${mailbox}: no token obtained since the fault began`);
    }
  }, timeoutMs, 200);
}
