// The contract every grant type implements: obtain a fresh token for one
// mailbox. Grants know the authorization server and HTTP, never gRPC or the
// store; the broker engine decides when to call them.
import type { Logger } from 'pino';
import type { GrantTypeName, MailboxConfig } from '../../config/index.js';
import type { HttpTransport } from '../../http/index.js';
import type { Clock } from '../../time/index.js';

export interface TokenResult {
  readonly accessToken: string;
  /** Always "Bearer" today; kept as the server said it. */
  readonly tokenType: string;
  /** Milliseconds since the epoch. */
  readonly expiresAt: number;
  /** As granted (the server may narrow what was asked). */
  readonly scopes: readonly string[];
}

export interface Grant {
  readonly type: GrantTypeName;
  /** Obtains a new access token from the authorization server (never from a cache). Throws BrokerError. */
  acquire(): Promise<TokenResult>;
}

export interface GrantDependencies {
  readonly transport: HttpTransport;
  readonly clock: Clock;
  readonly logger: Logger;
}

export type GrantFactory = (mailbox: MailboxConfig, dependencies: GrantDependencies) => Grant;
