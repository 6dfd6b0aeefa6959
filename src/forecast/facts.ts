// What the engine knows about a mailbox's refresh token that a forecast needs:
// the times it keeps in the store record (so a restart forgets none of them)
// and what a server stated about lifetimes. Plain data: the forecast never
// reads the engine, the engine hands this in.

/** AADSTS70043: the maximum lifetime a Conditional Access sign-in frequency allows a sign-in's refresh tokens. */
export interface StatedMaxLifetime {
  /** The lifetime Entra stated, in milliseconds ("the maximum allowed lifetime for this request is 86400", in seconds). */
  readonly lifetimeMs: number;
  /** "The token was issued on ...": when the refused token's sign-in happened, if the message said. */
  readonly tokenIssuedAt?: number;
  /** When Entra said it (ms). */
  readonly statedAt: number;
}

export interface RefreshTokenFacts {
  /** Whether the mailbox holds a refresh token now. */
  readonly hasRefreshToken: boolean;
  /** When the refresh token was last redeemed or issued (Entra's 90-day inactivity counts from here). */
  readonly refreshTokenUsedAt?: number | undefined;
  /** When the current refresh token value first arrived (Google "testing" apps: it dies 7 days later). */
  readonly refreshTokenIssuedAt?: number | undefined;
  /** The end the server stated for the current refresh token (Google's refresh_token_expires_in), ms. */
  readonly refreshTokenExpiresAt?: number | undefined;
  /** When a person (or the password) last signed in: an authorization completed, or a token was got without a refresh token. */
  readonly signedInAt?: number | undefined;
  /** The sign-in frequency Entra stated in AADSTS70043, kept: it applies to every later sign-in too. */
  readonly statedMaxLifetime?: StatedMaxLifetime | undefined;
}

export const DAY_MS = 86_400_000;
