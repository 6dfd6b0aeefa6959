// What every endpoint of the Google sandbox reads and writes.
import type { SecretsSeen } from '../secrets-seen.js';
import type { Directory } from './directory.js';
import type { Issued } from './issued.js';
import type { TokenStats } from './stats.js';
import type { GoogleSandboxClock } from './types.js';

export interface GoogleContext {
  readonly directory: Directory;
  readonly issued: Issued;
  readonly stats: TokenStats;
  readonly clock: GoogleSandboxClock;
  readonly accessTokenLifetimeSeconds: number;
  /** Time-based access (GoogleSandboxOptions.refreshTokenLifetimeSeconds); undefined: refresh tokens live until revoked. */
  readonly refreshTokenLifetimeSeconds: number | undefined;
  readonly deviceCodeIntervalSeconds: number;
  /** 'https://localhost:PORT'; known once listening. */
  readonly url: () => string;
  /** Every secret issued or received, for GoogleSandbox.secretsSeen(). */
  readonly secretsSeen: SecretsSeen;
}

/** The answer of a JSON endpoint. */
export interface JsonAnswer {
  readonly status: number;
  readonly body: object;
}
