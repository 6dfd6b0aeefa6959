// What the store keeps, and the check a decrypted record must pass before the
// broker believes it: a record that decrypts but has the wrong shape is as
// unusable as one that does not decrypt, and must say so rather than crash later.
import { z } from 'zod';

/** An access token as the authorization server issued it. Times are milliseconds since the epoch. */
export interface StoredToken {
  accessToken: string;
  tokenType: string;
  expiresAt: number;
  obtainedAt: number;
  /** As granted. */
  scopes: string[];
}

/** The last failure of a mailbox, so a restarted broker neither forgets it nor retries a permanent one at once. */
export interface StoredError {
  /** BrokerError code or the server's own (invalid_grant, AADSTS700082, ...). */
  code: string;
  /** What happened and what to do; never contains a secret. */
  message: string;
  permanent: boolean;
  transientFailures: number;
  lastAttemptAt: number;
  /** When the next attempt was due (ms since the epoch); absent in records of earlier versions. */
  retryNotBefore?: number;
  /** The server's OAuth `error` and AADSTS number, so a restart still shows AADSTS7000215 and not only invalid_client. */
  oauthError?: string;
  aadsts?: string;
}

export interface MailboxRecord {
  /** credentialFingerprint() of the config the tokens were obtained with; a mismatch means "do not serve". */
  fingerprint: string;
  token?: StoredToken;
  refreshToken?: string;
  /** When the refresh token was last redeemed (keep-alive of idle refresh tokens). */
  refreshTokenUsedAt?: number;
  lastRefreshAt?: number;
  error?: StoredError;
  // The token-death forecast's facts (src/forecast): absent in records of earlier versions, which stay readable.
  /** When the current refresh token value first arrived (Google "testing" apps: it dies 7 days later). */
  refreshTokenIssuedAt?: number;
  /** The end the server stated for the current refresh token (Google's refresh_token_expires_in). */
  refreshTokenExpiresAt?: number;
  /** When the mailbox was last signed in to: an authorization completed, or a token got without a refresh token. */
  signedInAt?: number;
  /** The sign-in frequency Entra stated in AADSTS70043: it bounds every later sign-in's refresh tokens too. */
  statedMaxLifetime?: StoredMaxLifetime;
}

/** AADSTS70043's maximum lifetime (see forecast/facts.ts StatedMaxLifetime). */
export interface StoredMaxLifetime {
  lifetimeMs: number;
  tokenIssuedAt?: number;
  statedAt: number;
}

/**
 * The one record of a token line shared by several mailboxes (client
 * credentials: every mailbox of one application), kept under the line's id
 * instead of one copy per mailbox. Same fields as a mailbox record; its
 * fingerprint is the application's (credentialFingerprint without the user).
 */
export type LineRecord = MailboxRecord;

/** An interactive authorization started on some instance, completable on any. */
export interface PendingAuthorizationRecord {
  state: string;
  codeVerifier: string;
  redirectUri: string;
  expiresAt: number;
}

export type RecordKind = 'mailbox' | 'line' | 'pending';

/** Milliseconds since the epoch; fractions allowed (a computed expiry may carry one). */
const time = z.number().nonnegative();

const storedToken = z.object({
  accessToken: z.string().min(1),
  tokenType: z.string(),
  expiresAt: time,
  obtainedAt: time,
  scopes: z.array(z.string()),
});

const storedError = z.object({
  code: z.string(),
  message: z.string(),
  permanent: z.boolean(),
  transientFailures: z.number().int().nonnegative(),
  lastAttemptAt: time,
  retryNotBefore: time.optional(),
  oauthError: z.string().optional(),
  aadsts: z.string().optional(),
});

// z.object drops unknown keys instead of refusing them: a newer broker
// sharing the store may add fields, and that must not make the record unreadable here.
const mailboxRecord: z.ZodType<MailboxRecord> = z.object({
  fingerprint: z.string().min(1),
  token: storedToken.optional(),
  refreshToken: z.string().min(1).optional(),
  refreshTokenUsedAt: time.optional(),
  lastRefreshAt: time.optional(),
  error: storedError.optional(),
  refreshTokenIssuedAt: time.optional(),
  refreshTokenExpiresAt: time.optional(),
  signedInAt: time.optional(),
  statedMaxLifetime: z.object({ lifetimeMs: z.number().positive(), tokenIssuedAt: time.optional(), statedAt: time }).optional(),
});

const pendingAuthorizationRecord: z.ZodType<PendingAuthorizationRecord> = z.object({
  state: z.string().min(1),
  codeVerifier: z.string().min(1),
  redirectUri: z.string().min(1),
  expiresAt: time,
});

const SCHEMAS = { mailbox: mailboxRecord, line: mailboxRecord, pending: pendingAuthorizationRecord } as const;

export interface RecordTypes {
  mailbox: MailboxRecord;
  line: LineRecord;
  pending: PendingAuthorizationRecord;
}

/** The record in `plaintext`, or undefined when it is not JSON of the right shape. */
export function parseRecord<K extends RecordKind>(kind: K, plaintext: string): RecordTypes[K] | undefined {
  let value: unknown;
  try {
    value = JSON.parse(plaintext);
  } catch {
    return undefined;
  }
  const result = (SCHEMAS[kind] as z.ZodType<RecordTypes[K]>).safeParse(value);
  return result.success ? result.data : undefined;
}

/** JSON of the record; undefined when it would not pass parseRecord (nothing is written that cannot be read back). */
export function serializeRecord<K extends RecordKind>(kind: K, record: RecordTypes[K]): string | undefined {
  const text = JSON.stringify(record);
  return parseRecord(kind, text) === undefined ? undefined : text;
}
