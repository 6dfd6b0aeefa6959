// The one error type of the broker. Every failure that reaches a log line, a
// gRPC status or an exit code is a BrokerError with a stable code, so that
// callers branch on `code` and never on message text or a library's class.

/**
 * Stable, documented error codes, as a runtime list so that docs/runbook.md
 * can be checked against it (test/unit/runbook-completeness.test.ts): a code
 * added here without a runbook entry fails the suite. Add new ones at the end
 * of a group.
 */
export const BROKER_ERROR_CODES = [
  // configuration
  'config_invalid',
  'config_unreadable',
  // requests from connectors
  'unknown_mailbox',
  'invalid_request',
  // authorization server said no
  'needs_authorization',
  'invalid_client',
  'consent_missing',
  'authorization_server_error',
  'throttled',
  // transport
  'server_unreachable',
  'proxy_auth_failed',
  'proxy_unreachable',
  'tls_untrusted',
  'timeout',
  // a mail server (token-broker doctor's login probe, src/mail)
  'mail_protocol_error',
  'mail_mechanism_not_offered',
  // the token store
  'store_unavailable',
  'store_key_invalid',
  'store_record_invalid',
  // the broker itself
  'not_implemented',
  'internal',
] as const;

export type BrokerErrorCode = (typeof BROKER_ERROR_CODES)[number];

/** What the authorization server itself answered, kept verbatim. */
export interface OAuthErrorDetails {
  /** OAuth `error`, e.g. `invalid_client`. */
  readonly error?: string;
  /** OAuth `error_description`, as sent, but scrubbed of secrets (a server may echo the request: grants/scrubbed-grant.ts). */
  readonly errorDescription?: string;
  /** Entra's AADSTS number, e.g. `7000215`, when present. */
  readonly aadsts?: string;
  /** HTTP status of the token response. */
  readonly httpStatus?: number;
}

export interface BrokerErrorOptions {
  readonly code: BrokerErrorCode;
  /** Permanent failures are not retried until the configuration or authorization changes. */
  readonly permanent?: boolean;
  readonly mailbox?: string;
  readonly authorizationServer?: string;
  readonly oauth?: OAuthErrorDetails;
  /** One line telling the operator what to do. */
  readonly remediation?: string;
  /** The server asked not to be called again for this long (Retry-After of a 429/503), in milliseconds. */
  readonly retryAfterMs?: number;
  readonly cause?: unknown;
}

export class BrokerError extends Error {
  override readonly name = 'BrokerError';
  readonly code: BrokerErrorCode;
  readonly permanent: boolean;
  readonly mailbox: string | undefined;
  readonly authorizationServer: string | undefined;
  readonly oauth: OAuthErrorDetails | undefined;
  readonly remediation: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: BrokerErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
    this.permanent = options.permanent ?? false;
    this.mailbox = options.mailbox;
    this.authorizationServer = options.authorizationServer;
    this.oauth = options.oauth;
    this.remediation = options.remediation;
    this.retryAfterMs = options.retryAfterMs;
  }

  /**
   * The code to show ops: the server's AADSTS number when there is one
   * (what Microsoft's documentation is searchable by), else its OAuth error,
   * else ours.
   */
  get displayCode(): string {
    if (this.oauth?.aadsts !== undefined) return `AADSTS${this.oauth.aadsts}`;
    return this.oauth?.error ?? this.code;
  }

  /** Message plus remediation, the form used in logs, statuses and gRPC details. */
  describe(): string {
    return this.remediation === undefined ? this.message : `${this.message} ${this.remediation}`;
  }
}

export function isBrokerError(value: unknown): value is BrokerError {
  return value instanceof BrokerError;
}

/** Wraps anything thrown into a BrokerError without losing the original. */
export function toBrokerError(value: unknown, fallback: Omit<BrokerErrorOptions, 'cause'> & { message: string }): BrokerError {
  if (value instanceof BrokerError) return value;
  const { message, ...options } = fallback;
  return new BrokerError(message, { ...options, cause: value });
}
