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
  /**
   * `interval` of device code answers, the seconds a client waits between
   * polls (msal-node sleeps exactly this long); default 5 as Entra, tests use 1.
   */
  deviceCodeIntervalSeconds?: number;
}

/** An app registration, as an Entra tenant would hold it. */
export interface SandboxApplication {
  /** The directory (tenant) id; GUID-like, never `common`/`organizations`/`consumers`. */
  tenantId: string;
  clientId: string;
  /** Confidential client secret (what `client_secret` must match). */
  clientSecret?: string;
  /**
   * Redirect URIs of the authorization code flow; a request must name one
   * exactly (public clients: any port on an http loopback one, as on Entra).
   */
  redirectUris?: string[];
  /**
   * "Allow public client flows": user grants must then carry no client
   * credential (AADSTS700025) and authorization requests need PKCE.
   * Otherwise user grants must authenticate the client (AADSTS7000218).
   */
  publicClient?: boolean;
  /** PEM certificates whose keys may sign client assertions (certificate credentials). */
  certificates?: string[];
  /**
   * Application permissions an admin consented, keyed by resource URL, e.g.
   * `{ 'https://outlook.office365.com': ['IMAP.AccessAsApp', 'POP.AccessAsApp', 'SMTP.SendAsApp'],
   * 'https://graph.microsoft.com': ['Mail.Read'] }`. Client-credentials tokens
   * for a resource carry its list in `roles`. Resources compare
   * case-insensitively without trailing slash; outlook.office.com and
   * outlook.office365.com are the same Exchange Online resource. Default: none
   * (`roles: []`).
   */
  applicationPermissions?: Readonly<Record<string, readonly string[]>>;
}

/**
 * How the directory treats a user's password: `managed` checks it, a
 * `federated` user's password lives at another IdP (ROPC fails with
 * AADSTS50126 as on Entra), an `mfa` user needs a second factor (ROPC fails
 * with AADSTS50076; interactive grants succeed).
 */
export type SandboxUserKind = 'managed' | 'federated' | 'mfa';

export interface SandboxUser {
  tenantId: string;
  /** The UPN, e.g. `adele@contoso.example`; matched case-insensitively. */
  username: string;
  password: string;
  /** Default 'managed'. */
  kind?: SandboxUserKind;
  /** The `name` claim; default the UPN's local part. */
  displayName?: string;
}

/** A user as the directory holds it; `objectId` is stable across re-registration and password changes. */
export interface RegisteredSandboxUser {
  readonly tenantId: string;
  readonly username: string;
  readonly objectId: string;
  readonly kind: SandboxUserKind;
  readonly displayName: string;
}

/** What a secret is, for the message of a test that finds one where it must not be. */
export type SandboxSecretKind =
  | 'access_token'
  | 'refresh_token'
  | 'id_token'
  | 'authorization_code'
  | 'device_code'
  | 'code_verifier'
  | 'client_assertion'
  | 'assertion'
  | 'client_secret'
  | 'password'
  | 'basic_credentials';

export interface SandboxSecret {
  readonly kind: SandboxSecretKind;
  readonly value: string;
}

/** What `hooks.beforeTokenResponse` learns about a successful token answer. */
export interface TokenResponseInfo {
  readonly grantType: string;
  readonly clientId: string;
  /** The user the tokens are for (user grants only). */
  readonly username?: string;
  /** True when the answer carries a refresh token (already recorded; the one redeemed is already invalid). */
  readonly refreshTokenIssued?: boolean;
  /** The refresh token in the answer: lets a test prove a store never holds it in clear. */
  readonly refreshToken?: string;
  /** The access token in the answer: lets a test prove no log, status or message ever shows one, even one the client never received. */
  readonly accessToken?: string;
}

export interface SandboxHooks {
  /**
   * Awaited after tokens are minted and recorded, before the HTTP answer is
   * written: a test can kill the client exactly between "the server rotated
   * the refresh token" and "the client received it". If it throws, the
   * connection is destroyed without an answer (a lost response).
   */
  beforeTokenResponse?: ((info: TokenResponseInfo) => Promise<void> | void) | undefined;
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
  /** Sent as the `Retry-After` header as is (an HTTP-date, or any text a client must cope with); wins over retryAfterSeconds. */
  retryAfterHeader?: string;
  /** How many consecutive token requests fail this way; default 1. */
  count?: number;
}

/**
 * What `throttleNext` makes the token endpoint answer: Entra's own answer
 * for throttling (429, `temporarily_unavailable`, AADSTS90055) or for an
 * overloaded service (503, `temporarily_unavailable`, AADSTS90033).
 */
export interface InjectedThrottle {
  /** 429 (the default) or 503. */
  status?: 429 | 503;
  /** The `Retry-After` header: whole seconds, or a text sent as is (an HTTP-date, garbage); none when omitted. */
  retryAfter?: number | string;
  /** How many consecutive token requests are throttled; default 1. */
  count?: number;
}

/**
 * What `faultNext` makes the token endpoint do instead of answering as Entra
 * would: the answers of a broken server, a gateway or a careless proxy, and
 * answers that never arrive. The request is counted in `stats` all the same.
 */
export type InjectedFault =
  /** This answer, as is (default status 200 and `text/html`): a maintenance page, an empty or garbled body. */
  | { readonly kind: 'answer'; readonly status?: number; readonly contentType?: string; readonly body: string; readonly count?: number }
  /** The request is read, then the connection is closed without an answer (a crash, a load balancer timing out). */
  | { readonly kind: 'close'; readonly count?: number }
  /** A 200 JSON answer announces its length, sends half of its body and closes the connection. */
  | { readonly kind: 'truncate'; readonly count?: number }
  /**
   * Entra's error shape (AADSTS900144; by default 400 invalid_request) whose
   * error_description and error_uri quote the request back: its form body and
   * Authorization header, secrets and all, as a careless server or proxy does.
   */
  | { readonly kind: 'echo'; readonly status?: number; readonly error?: string; readonly count?: number };

/** A server certificate and its key (PEM), for `useServerCertificate`. */
export interface SandboxServerCertificate {
  readonly certificatePem: string;
  readonly keyPem: string;
}

/** Counters of POSTs to any token endpoint, failed ones included. */
export interface SandboxStats {
  readonly total: number;
  /**
   * Requests outside the token, authorize and devicecode endpoints
   * (discovery, keys, unknown paths): a client given metadata should make none.
   * The resource servers' requests (Exchange introspection, Graph) are a mail
   * server's or a connector's, not counted anywhere in these stats.
   */
  readonly otherRequests: number;
  /** GETs of an authorize endpoint (a browser's, not a client's). */
  readonly authorizationRequests: number;
  /** POSTs to a devicecode endpoint. */
  readonly deviceCodeRequests: number;
  /** Requests that named this client (body `client_id` or HTTP Basic user). */
  forClient(clientId: string): number;
  forGrantType(grantType: string): number;
  /**
   * Token requests that concerned this user (UPN, case-insensitive): ROPC
   * naming them, or a code, refresh token or device code of theirs.
   */
  forUser(username: string): number;
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

/**
 * Claims of an access token this sandbox issued, shaped like Entra's v1.0
 * tokens (what Graph and Exchange Online receive). App-only tokens
 * (`idtyp: 'app'`) carry `roles` and `idp`; user tokens (`idtyp: 'user'`)
 * carry the user fields and `scp`. See AppAccessTokenClaims and
 * UserAccessTokenClaims for the precise shapes.
 */
export interface AccessTokenClaims {
  aud: string;
  iss: string;
  iat: number;
  nbf: number;
  exp: number;
  appid: string;
  azp: string;
  /** How the client authenticated: '0' public (none), '1' secret, '2' certificate. */
  appidacr: string;
  idtyp: 'app' | 'user';
  tid: string;
  oid: string;
  sub: string;
  ver: '1.0';
  uti: string;
  jti: string;
  idp?: string;
  roles?: string[];
  /** Delegated scopes, space-separated, without the resource prefix (`IMAP.AccessAsUser.All`). */
  scp?: string;
  upn?: string;
  unique_name?: string;
  preferred_username?: string;
  name?: string;
  /** Authentication methods: ['pwd'], or ['pwd', 'mfa']. */
  amr?: string[];
  acr?: string;
  sid?: string;
}

export interface AppAccessTokenClaims extends AccessTokenClaims {
  idtyp: 'app';
  idp: string;
  roles: string[];
}

export interface UserAccessTokenClaims extends AccessTokenClaims {
  idtyp: 'user';
  scp: string;
  upn: string;
  unique_name: string;
  preferred_username: string;
  name: string;
  amr: string[];
  acr: string;
  sid: string;
}

/** Claims of an id_token (Entra v2.0 shape), issued when `openid` was granted. */
export interface IdTokenClaims {
  aud: string;
  iss: string;
  iat: number;
  nbf: number;
  exp: number;
  name: string;
  /** Present when the authorization request carried one. */
  nonce?: string;
  oid: string;
  preferred_username: string;
  sub: string;
  tid: string;
  uti: string;
  ver: '2.0';
}

/**
 * A mailbox right as Exchange grants it: FullAccess (Add-MailboxPermission:
 * open and read the mailbox) and SendAs (Add-RecipientPermission: send as its
 * address).
 */
export type MailboxRight = 'FullAccess' | 'SendAs';

/** A message for `deliverMessage`, as the Graph endpoint lists it. */
export interface SandboxMessage {
  subject: string;
  /** The sender's address. */
  from: string;
  /** Plain text; Graph's `bodyPreview` is its first 255 characters. */
  body: string;
}

/** The resource server that decided: Exchange's token introspection (Dovecot's passdb) or the Graph endpoint. */
export type ResourceEndpoint = 'introspection' | 'graph';

/** The mail protocols Exchange's introspection answers for (the `{protocol}` path segment). */
export type MailProtocol = 'imap' | 'pop3' | 'smtp';

/**
 * Why a resource server let a token in or refused it. Refusals: no token
 * (`missing_token`), not a JWT of this sandbox (`bad_signature`), an
 * id_token or other non-access token (`not_an_access_token`), `expired`,
 * `not_yet_valid`, `revoked` (revokeAccessToken), an audience of another
 * service (`wrong_audience`), delegated permission missing from `scp`
 * (`missing_scope`), app role missing from `roles` (`missing_role`), no
 * FullAccess on the mailbox (`no_mailbox_permission`), no SendAs for SMTP on
 * another's mailbox (`no_send_as_permission`), a mailbox nobody has
 * (`unknown_mailbox`), Graph's `/me` with an app token
 * (`me_with_app_token`). Admissions: the user's `own_mailbox`, a
 * `delegated_access` (FullAccess, and SendAs for SMTP) to another mailbox,
 * an `application_access` granted to the app, or a `valid_token` (the
 * introspection that names no mailbox).
 */
export type ResourceDecisionReason =
  | 'missing_token'
  | 'bad_signature'
  | 'not_an_access_token'
  | 'expired'
  | 'not_yet_valid'
  | 'revoked'
  | 'wrong_audience'
  | 'missing_scope'
  | 'missing_role'
  | 'no_mailbox_permission'
  | 'no_send_as_permission'
  | 'unknown_mailbox'
  | 'me_with_app_token'
  | 'own_mailbox'
  | 'delegated_access'
  | 'application_access'
  | 'valid_token';

/** One decision of a resource server, as `Sandbox.resourceDecisions` keeps it (never the token itself). */
export interface ResourceDecision {
  readonly endpoint: ResourceEndpoint;
  /** Introspection for a protocol only; absent for the unqualified introspection and for Graph. */
  readonly protocol?: MailProtocol;
  /**
   * The mailbox asked for, lower-case: the introspection path's mailbox,
   * Graph's `users/{id}` resolved to an address (or the user of `/me`). '-'
   * when none is named or it cannot be resolved (the catch-all passdb,
   * unqualified introspection, `/me` of an app or of a bad token).
   */
  readonly mailbox: string;
  readonly allowed: boolean;
  readonly reason: ResourceDecisionReason;
  /** Who the token speaks for when it could be read: a user's UPN or an app's client id. */
  readonly principal?: string;
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
  /** Queues Entra's throttling answer (429 or 503, with the Retry-After asked for) like failNext. */
  throttleNext(throttle?: InjectedThrottle): void;
  /** Queues a fault (see InjectedFault) for the next token request(s); applied before any queued failNext. */
  faultNext(fault: InjectedFault): void;
  /**
   * Presents this certificate to new connections from now on (an IdP whose
   * certificate was swapped for one from another CA); undefined goes back to
   * the sandbox's own. Idle kept connections are closed, so every client
   * meets the certificate at its next request.
   */
  useServerCertificate(certificate: SandboxServerCertificate | undefined): void;
  /** Claims of an access token this sandbox issued (app or user), if its signature holds and it has not expired; else undefined. */
  verifyAccessToken(token: string): AccessTokenClaims | undefined;
  /** Claims of an id_token this sandbox issued, if its signature holds and it has not expired; else undefined. */
  verifyIdToken(token: string): IdTokenClaims | undefined;
  /**
   * Adds a user to a registered tenant. Registering the UPN again updates it
   * and keeps its object id; a different password revokes its sessions.
   */
  registerUser(user: SandboxUser): RegisteredSandboxUser;
  /** Refresh tokens issued to the user so far fail with AADSTS50173 ("Revoke sessions" in Entra). */
  revokeUserSessions(username: string): void;
  /** Sets a new password and revokes the user's sessions, as a reset does on Entra. */
  changePassword(username: string, newPassword: string): void;
  /**
   * Makes the live refresh tokens of one user (or of everyone) fail with
   * AADSTS700082, as 90 days of inactivity would. Returns how many expired.
   */
  expireRefreshTokens(username?: string): number;
  /** The user the authorize endpoint signs in when the request has no login_hint; undefined clears it. */
  signInAs(username: string | undefined): void;
  /** The user enters `userCode` at the verification page and signs in: the next poll gets tokens. */
  approveDeviceCode(userCode: string, username: string): void;
  /** The user declines: the next poll gets authorization_declined. */
  declineDeviceCode(userCode: string): void;
  /**
   * Grants `principal` rights on `mailbox` (default both FullAccess and
   * SendAs), as Exchange's Add-MailboxPermission / Add-RecipientPermission do.
   * `principal` is a registered user's UPN (a delegate, e.g. of a shared
   * mailbox) or a registered application's client id (an Exchange service
   * principal given mailbox permission, or for Graph an application access
   * policy that includes the mailbox). A mailbox named here exists from now
   * on (a shared mailbox needs no user). A user always has both rights on the
   * mailbox named by its own UPN. Addresses compare case-insensitively;
   * granting again adds rights. Throws RangeError for an unknown principal.
   */
  grantMailboxAccess(mailbox: string, principal: string, rights?: readonly MailboxRight[]): void;
  /**
   * From now on the resource servers (introspection, Graph) refuse exactly
   * this access token as `revoked`, as Continuous Access Evaluation would;
   * refresh tokens keep working and new access tokens are accepted. Throws
   * TypeError when the text is no access token this sandbox signed.
   */
  revokeAccessToken(token: string): void;
  /**
   * Stores a message in the mailbox's inbox, received now on the sandbox
   * clock, for the Graph endpoint to list (newest first). The mailbox must
   * exist: a registered user's UPN or one named by grantMailboxAccess.
   * Returns the message's Graph `id`.
   */
  deliverMessage(mailbox: string, message: SandboxMessage): string;
  /**
   * Every decision of the resource servers so far, oldest first (a copy):
   * tests assert WHY a mail server or Graph refused a token.
   */
  readonly resourceDecisions: readonly ResourceDecision[];
  /** Test seams; assign the functions you need. */
  readonly hooks: SandboxHooks;
  /**
   * Every secret the sandbox issued (access, refresh and id tokens,
   * authorization and device codes) or received (client secrets, passwords,
   * PKCE verifiers, client assertions, Basic credentials), each once, oldest
   * first: a test searches logs and output for every one of them.
   */
  secretsSeen(): readonly SandboxSecret[];
  close(): Promise<void>;
}
