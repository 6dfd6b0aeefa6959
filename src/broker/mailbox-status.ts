// What the broker reports about a mailbox (ListMailboxes, status command).
import type { GrantTypeName, Protocol } from '../config/index.js';
import type { BrokerError } from '../errors/index.js';
import type { CredentialDeath } from '../forecast/credential-death.js';

/** IDLE: no token asked for yet (tokens are acquired on first use). */
export type MailboxState = 'IDLE' | 'READY' | 'ACQUIRING' | 'NEEDS_AUTHORIZATION' | 'FAILING';

export interface MailboxStatus {
  readonly mailbox: string;
  readonly protocol: Protocol;
  readonly grantType: GrantTypeName;
  readonly authorizationServer: string;
  readonly state: MailboxState;
  readonly tokenExpiresAt?: number;
  readonly lastRefreshAt?: number;
  /** When the refresh token was last redeemed or issued; undefined without one. */
  readonly refreshTokenUsedAt?: number;
  /** When a client last asked for the mailbox (or the broker started). */
  readonly lastUsedAt?: number;
  readonly lastError?: BrokerError;
  /** When each credential the mailbox depends on is expected to stop working, earliest first; absent when nothing is known. */
  readonly credentialDeaths?: readonly CredentialDeath[];
}
