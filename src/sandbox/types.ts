// The sandbox's public vocabulary. It defines its own types (clock included)
// because the sandbox stands apart from the broker and imports none of it.

/** Anything that tells the time in milliseconds since the Unix epoch. */
export interface SandboxClock {
  now(): number;
}

export interface SandboxOptions {
  /** Bind address; default '127.0.0.1'. */
  host?: string;
  /** Default 0: an ephemeral port, read it back from `Sandbox.port`. */
  port?: number;
  /**
   * Extra DNS names the server certificate is valid for (beside localhost,
   * 127.0.0.1, ::1): lets a test reach the sandbox under a name only a proxy
   * can resolve, proving no direct connection is made.
   */
  hostnames?: readonly string[];
  /** `expires_in` of issued access tokens; default 3600. */
  accessTokenLifetimeSeconds?: number;
  /** Drives token timestamps and expiry checks; default `Date.now`. */
  clock?: SandboxClock;
}

/** An app registration, as an Entra tenant would hold it. */
export interface SandboxApplication {
  /** The directory (tenant) id; GUID-like, never `common`/`organizations`/`consumers`. */
  tenantId: string;
  clientId: string;
  /** Confidential client secret (what `client_secret` must match). */
  clientSecret?: string;
}

/** What `failNext` makes the token endpoint answer instead of processing a request. */
export interface InjectedFailure {
  /** HTTP status, e.g. 400, 429, 503. */
  status: number;
  /** OAuth `error`, e.g. `temporarily_unavailable` or `invalid_grant`. */
  error: string;
  /** The AADSTS number, e.g. 50173 (sent as `AADSTS50173` and in `error_codes`). */
  aadsts: number;
  /** Text after `AADSTSnnnnn: `; a generic sentence when omitted. */
  description?: string;
  /** Sent as the `Retry-After` header (seconds) when set. */
  retryAfterSeconds?: number;
  /** How many consecutive token requests fail this way; default 1. */
  count?: number;
}

/** Counters of POSTs to any token endpoint, failed ones included. */
export interface SandboxStats {
  readonly total: number;
  /** GET requests outside the token endpoint (discovery, keys, unknown paths). */
  readonly otherRequests: number;
  /** Requests that named this client (body `client_id` or HTTP Basic user). */
  forClient(clientId: string): number;
  forGrantType(grantType: string): number;
  /** Plain-data copy, handy for `deepEqual` in tests and for logs. */
  snapshot(): SandboxStatsSnapshot;
  reset(): void;
}

export interface SandboxStatsSnapshot {
  total: number;
  otherRequests: number;
  byClientId: Record<string, number>;
  byGrantType: Record<string, number>;
}

/** Claims of an app-only access token, shaped like Entra's v1.0 app tokens. */
export interface AccessTokenClaims {
  aud: string;
  iss: string;
  iat: number;
  nbf: number;
  exp: number;
  appid: string;
  azp: string;
  /** '1': the client authenticated with a secret. */
  appidacr: string;
  idp: string;
  idtyp: 'app';
  tid: string;
  oid: string;
  sub: string;
  roles: string[];
  ver: '1.0';
  uti: string;
  jti: string;
}

export interface Sandbox {
  /** 'https://localhost:PORT', no trailing slash: a broker config's `authorityHost`. */
  readonly url: string;
  readonly port: number;
  /** PEM of the CA that signed the server certificate (a broker config's `caFile` content). */
  readonly caCertificatePem: string;
  /** Adds an application (and its tenant); registering the same client id again replaces it. */
  registerApplication(app: SandboxApplication): void;
  readonly stats: SandboxStats;
  /** Queues a failure for the next token request(s); queued failures apply in order. */
  failNext(failure: InjectedFailure): void;
  /** Claims of a token this sandbox issued, if its signature holds and it has not expired; else undefined. */
  verifyAccessToken(token: string): AccessTokenClaims | undefined;
  close(): Promise<void>;
}
