// The Google sandbox's public vocabulary. Like the Entra sandbox it stands
// apart from the broker and defines its own types, clock included.
import type { SandboxSecret } from '../types.js';

export interface GoogleSandboxClock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export interface GoogleSandboxOptions {
  /** Bind address; default '127.0.0.1'. */
  host?: string;
  /** Extra DNS names in the server certificate (e.g. a name only a test proxy resolves). */
  hostnames?: readonly string[];
  /** Default 0: an ephemeral port. */
  port?: number;
  /** `expires_in` of access tokens; default 3599, as Google sends. */
  accessTokenLifetimeSeconds?: number;
  /**
   * Time-based access: the user granted access for this long (seconds), so
   * every answer with a refresh token in play carries its remaining lifetime
   * as `refresh_token_expires_in`, and the refresh token is refused
   * (invalid_grant) once it has run out. Default: none (access until revoked).
   */
  refreshTokenLifetimeSeconds?: number;
  /** `interval` of device codes in seconds; default 5, as Google sends. Tests set 1. */
  deviceCodeIntervalSeconds?: number;
  /** Drives token expiry, code lifetimes and assertion time checks; default `Date.now`. */
  clock?: GoogleSandboxClock;
  /** Called after each token request was answered, e.g. to approve a device code once the client polls. */
  onTokenRequest?: (event: TokenRequestEvent) => void;
}

export interface TokenRequestEvent {
  readonly grantType: string | undefined;
  readonly clientId: string | undefined;
  /** The OAuth `error` answered, or undefined when a token was issued. */
  readonly error: string | undefined;
}

/** What `failNext` makes the token endpoint answer instead of processing a request. */
export interface GoogleInjectedFailure {
  /** HTTP status, e.g. 400, 429, 503. */
  status: number;
  /** OAuth `error`, e.g. `invalid_grant` or `internal_failure`. */
  error: string;
  /** `error_description`; none when omitted (Google often sends none). */
  description?: string;
  /** Sent as the `Retry-After` header (seconds) when set. */
  retryAfterSeconds?: number;
  /** Sent as the `Retry-After` header as is (an HTTP-date, or any text a client must cope with); wins over retryAfterSeconds. */
  retryAfterHeader?: string;
  /** How many consecutive token requests fail this way; default 1. */
  count?: number;
}

/**
 * What `throttleNext` makes the token endpoint answer: Google's answer to a
 * client over its rate (429, `rate_limit_exceeded`) or a backend failure
 * (503, `internal_failure`).
 */
export interface GoogleInjectedThrottle {
  /** 429 (the default) or 503. */
  status?: 429 | 503;
  /** The `Retry-After` header: whole seconds, or a text sent as is (an HTTP-date, garbage); none when omitted. */
  retryAfter?: number | string;
  /** How many consecutive token requests are throttled; default 1. */
  count?: number;
}

/** An OAuth client as the Google Cloud console holds it. */
export interface GoogleClientRegistration {
  clientId: string;
  /** Omit for a public client (no secret accepted or required). */
  clientSecret?: string;
  /** Exact-match list, as Google compares them. */
  redirectUris: readonly string[];
}

/** A service account key with domain-wide delegation. */
export interface GoogleServiceAccountRegistration {
  /** The service account's e-mail address: the assertion's `iss`. */
  clientId: string;
  /** One of these: the key's public half, or the certificate Google publishes for it. */
  publicKeyPem?: string;
  certificatePem?: string;
  /** Scopes delegated in the Admin console; default: any scope. */
  delegatedScopes?: readonly string[];
  /**
   * The key's id (a JSON key's private_key_id). Registering the same account
   * again adds a key, as Google accounts hold several; an assertion whose
   * header names a `kid` is checked against that key alone (an unknown kid
   * is "Invalid JWT Signature.", like a deleted key), one without a kid
   * against each of the account's keys.
   */
  keyId?: string;
}

/** What the sandbox knows about an access token it issued. */
export interface GoogleAccessTokenInfo {
  /** The user's e-mail (user grants, impersonation) or the service account's. */
  readonly sub: string;
  /** The OAuth client or service account that obtained it. */
  readonly azp: string;
  readonly scope: string;
  readonly grantType: string;
  /** Seconds since the epoch. */
  readonly iat: number;
  readonly exp: number;
}

export interface GoogleSandboxStats {
  /** POSTs to /token, failed ones included. */
  readonly total: number;
  forGrantType(grantType: string): number;
  forClient(clientId: string): number;
  snapshot(): { total: number; byGrantType: Record<string, number>; byClientId: Record<string, number> };
  reset(): void;
}

export interface GoogleSandbox {
  /** 'https://localhost:PORT', no trailing slash. */
  readonly url: string;
  /** The endpoints a broker config's google-type server sets. */
  readonly endpoints: { readonly authorizationEndpoint: string; readonly tokenEndpoint: string; readonly deviceAuthorizationEndpoint: string };
  /** PEM of the CA that signed the server certificate (a broker config's caFile). */
  readonly caCertificatePem: string;
  registerClient(client: GoogleClientRegistration): void;
  registerServiceAccount(account: GoogleServiceAccountRegistration): void;
  /** A Google account that may sign in (auto-consent) and be impersonated. */
  registerUser(email: string): void;
  /** The user signs in on another device and enters the code; false when no such pending code. */
  approveDeviceCode(userCode: string, email: string): boolean;
  /** Revokes the refresh tokens of one user, or of everyone. */
  revokeRefreshTokens(email?: string): void;
  readonly stats: GoogleSandboxStats;
  /** Queues a failure for the next token request(s), counted in stats like any request; queued failures apply in order. */
  failNext(failure: GoogleInjectedFailure): void;
  /** Queues Google's throttling answer (429 or 503, with the Retry-After asked for) like failNext. */
  throttleNext(throttle?: GoogleInjectedThrottle): void;
  /** What a token this sandbox issued stands for, if it is one and has not expired. */
  verifyAccessToken(token: string): GoogleAccessTokenInfo | undefined;
  /** Every secret the sandbox issued (tokens, codes, device codes) or received (client secrets, PKCE verifiers, service-account assertions), each once. */
  secretsSeen(): readonly SandboxSecret[];
  close(): Promise<void>;
}
