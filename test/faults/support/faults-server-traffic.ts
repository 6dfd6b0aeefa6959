// Connectors' traffic against the daemon during a fault: one loop per
// mailbox calling GetToken over gRPC again and again, as an IMAP connector
// does before each login. Every token served is judged when it arrives (the
// sandbox must have issued it, not expired, and it must stay valid for the
// default min_validity_seconds from the moment it was asked for); every
// refusal is kept, with its gRPC code and broker error code, for the test to
// judge what it names.
import type { ServiceError } from '@grpc/grpc-js';
import type { BrokerToken, TokenBrokerClient } from '../../../src/client/index.js';
import type { Sandbox } from '../../../src/sandbox/index.js';

/** The broker's default min_validity_seconds (CONTRACT: 0 means 60 s). */
export const DEFAULT_MIN_VALIDITY_MS = 60_000;
/**
 * Between two GetToken calls of one loop: a connector's pace, kept modest
 * because the test shares two cores with the daemon and another test.
 */
const PACE_MS = 100;

export interface RefusedCall {
  readonly mailbox: string;
  /** The gRPC status code, e.g. 14 UNAVAILABLE. */
  readonly grpcCode: number;
  /** The broker error code from the `token-broker-error-code` metadata. */
  readonly errorCode: string;
  readonly details: string;
}

export class ConnectorTraffic {
  /** Tokens that broke a rule, each with why; must stay empty. */
  readonly badTokens: string[] = [];
  readonly refused: RefusedCall[] = [];
  /** Every access token a connector received (for the secret grep). */
  readonly received = new Set<string>();
  #served = 0;
  readonly #servedPerMailbox = new Map<string, number>();
  readonly #pending = new Map<string, number>();
  #stopped = false;
  readonly #loops: Promise<void>[] = [];

  constructor(
    private readonly client: TokenBrokerClient,
    private readonly sandbox: Sandbox,
  ) {}

  get served(): number {
    return this.#served;
  }

  /** Tokens served for `mailbox` so far. */
  servedFor(mailbox: string): number {
    return this.#servedPerMailbox.get(mailbox) ?? 0;
  }

  /** GetToken calls for `mailbox` sent and not yet answered. */
  pendingFor(mailbox: string): number {
    return this.#pending.get(mailbox) ?? 0;
  }

  start(mailboxes: readonly string[]): void {
    for (const mailbox of mailboxes) this.#loops.push(this.#loop(mailbox));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#loops);
  }

  /** One GetToken as a connector makes it, judged like every call of the loops. */
  async getToken(mailbox: string): Promise<BrokerToken> {
    const askedAt = Date.now();
    this.#pending.set(mailbox, this.pendingFor(mailbox) + 1);
    try {
      const token = await this.client.getToken(mailbox);
      this.#judge(mailbox, token, askedAt);
      return token;
    } catch (error) {
      this.#keep(mailbox, error);
      throw error;
    } finally {
      this.#pending.set(mailbox, this.pendingFor(mailbox) - 1);
    }
  }

  async #loop(mailbox: string): Promise<void> {
    while (!this.#stopped) {
      await this.getToken(mailbox).catch(() => undefined);
      // A connector's pace between logins, not a wait for an event.
      await new Promise((resolve) => setTimeout(resolve, PACE_MS));
    }
  }

  #judge(mailbox: string, token: BrokerToken, askedAt: number): void {
    this.#served += 1;
    this.#servedPerMailbox.set(mailbox, this.servedFor(mailbox) + 1);
    this.received.add(token.accessToken);
    const left = token.expiresAt.getTime() - askedAt;
    if (left < DEFAULT_MIN_VALIDITY_MS) this.badTokens.push(`${mailbox}: served a token with ${left} ms left, less than min_validity_seconds (60 s)`);
    if (this.sandbox.verifyAccessToken(token.accessToken) === undefined) {
      this.badTokens.push(`${mailbox}: served a token the sandbox did not issue or that has expired (expiresAt ${token.expiresAt.toISOString()})`);
    }
  }

  #keep(mailbox: string, error: unknown): void {
    const failure = error as Partial<ServiceError>;
    const errorCode = failure.metadata?.get('token-broker-error-code')[0];
    this.refused.push({
      mailbox,
      grpcCode: typeof failure.code === 'number' ? failure.code : -1,
      errorCode: typeof errorCode === 'string' ? errorCode : '',
      details: typeof failure.details === 'string' ? failure.details : String(error),
    });
  }
}
