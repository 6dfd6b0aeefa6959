// The shape of a token-death forecast: when a credential a mailbox depends on
// (its refresh token, client secret, certificate) or the broker's own server
// certificate is expected to stop working, and why. Shared by MailboxStatus,
// the `status` command, the warnings and the metrics, so they cannot disagree.

/** What is expected to stop working. */
export type CredentialKind = 'refresh_token' | 'client_secret' | 'certificate' | 'server_tls_certificate';

/** Why the broker expects that moment. */
export type DeathBasis =
  /** Entra ID: a refresh token unused for 90 days dies (counted from its last redemption). */
  | 'entra_inactivity'
  /** A lifetime the server stated: Google's refresh_token_expires_in, the maximum lifetime in AADSTS70043. */
  | 'server_stated_lifetime'
  /** Google apps in "testing" publishing status: refresh tokens live 7 days. */
  | 'google_testing_app'
  /** The client secret's end date the operator configured (clientSecretExpiresAt). */
  | 'secret_end_date'
  /** A certificate's notAfter. */
  | 'certificate_not_after';

export interface CredentialDeath {
  readonly credential: CredentialKind;
  /** Milliseconds since the epoch. */
  readonly at: number;
  readonly basis: DeathBasis;
  /** One sentence for an operator: what dies, why then, and what to do before. */
  readonly reason: string;
}

/** Days ahead at which a coming death is warned about (log line, metric, `status` column). */
export const WARNING_DAYS = [14, 7, 1] as const;
