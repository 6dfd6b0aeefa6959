// Wire messages of tokenbroker.v1 as the client hands them out: plain values
// (Dates, camelCase) instead of protobuf shapes. Every response the client
// returns goes through one of these; no wire type leaves src/client.
import { fromTimestamp } from '../proto/index.js';
import type {
  MailboxStatusMessage__Output,
  ReloadResponse__Output,
  StartAuthorizationResponse__Output,
  TokenMessage__Output,
} from '../proto/index.js';

export interface BrokerToken {
  readonly mailbox: string;
  readonly accessToken: string;
  readonly tokenType: string;
  readonly expiresAt: Date;
  readonly scopes: readonly string[];
  readonly username: string;
  /** base64 SASL XOAUTH2 initial response: `user=USER^Aauth=Bearer TOKEN^A^A`. */
  readonly saslXoauth2: string;
  /** base64 SASL OAUTHBEARER initial response (RFC 7628): `n,a=USER,^Aauth=Bearer TOKEN^A^A`, USER with ',' and '=' escaped. */
  readonly saslOauthbearer: string;
  readonly protocol: string;
}

export interface BrokerMailboxStatus {
  readonly mailbox: string;
  readonly protocol: string;
  readonly grantType: string;
  readonly authorizationServer: string;
  readonly state: string;
  readonly tokenExpiresAt?: Date;
  readonly lastRefreshAt?: Date;
  /** When the refresh token was last redeemed or issued (kept alive every refresh.keepAliveDays); absent without one. */
  readonly refreshTokenUsedAt?: Date;
  /** When a client last asked for the mailbox. */
  readonly lastUsedAt?: Date;
  readonly lastErrorCode: string;
  readonly lastErrorMessage: string;
  /** When each credential the mailbox depends on is expected to stop working, earliest first (docs/token-death-forecast.md); empty when nothing is known. */
  readonly credentialForecasts: readonly BrokerCredentialForecast[];
}

/** One credential's expected death. */
export interface BrokerCredentialForecast {
  /** refresh_token, client_secret, certificate or server_tls_certificate. */
  readonly credential: string;
  /** May be past: the credential already stopped working. */
  readonly expectedAt: Date;
  /** entra_inactivity, server_stated_lifetime, google_testing_app, secret_end_date or certificate_not_after. */
  readonly basis: string;
  /** Why then, and what to do before. */
  readonly reason: string;
}

/** An interactive authorization the daemon began (StartAuthorization). */
export interface BrokerAuthorizationStart {
  /** Open in a browser and sign in (authorization-code); empty for device-code. */
  readonly authorizationUrl: string;
  readonly state: string;
  /** When the started authorization lapses; absent if the daemon did not say. */
  readonly expiresAt?: Date;
  /** Device-code only: the code to enter at `verificationUri`; empty otherwise. */
  readonly userCode: string;
  readonly verificationUri: string;
  /** A grant that needs no person: the token was acquired at once (expiresAt is its expiry) and this is what it is for. */
  readonly acquired?: { readonly subject: string; readonly audience: string; readonly permissions: readonly string[] };
}

/** What the daemon made of a Reload. */
export interface BrokerReloadResult {
  /** False: the running configuration was kept (see `errors`). */
  readonly applied: boolean;
  /** One line per problem, `FILE:LINE:COLUMN: error: PATH: message`, or why the engine refused. */
  readonly errors: readonly string[];
  /** Mailbox names, when applied. */
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly string[];
  /** Changed credentials: a new token is being obtained. */
  readonly reacquiring: readonly string[];
  /** Changed keys that only a restart applies (e.g. `server.listen`). */
  readonly restartRequired: readonly string[];
}

export function fromTokenMessage(message: TokenMessage__Output): BrokerToken {
  return {
    mailbox: message.mailbox,
    accessToken: message.access_token,
    tokenType: message.token_type,
    expiresAt: new Date(fromTimestamp(message.expires_at) ?? 0),
    scopes: message.scopes,
    username: message.username,
    saslXoauth2: message.sasl_xoauth2,
    saslOauthbearer: message.sasl_oauthbearer,
    protocol: message.protocol,
  };
}

export function fromStatusMessage(message: MailboxStatusMessage__Output): BrokerMailboxStatus {
  const expires = fromTimestamp(message.token_expires_at);
  const refreshed = fromTimestamp(message.last_refresh_at);
  return {
    mailbox: message.mailbox,
    protocol: message.protocol,
    grantType: message.grant_type,
    authorizationServer: message.authorization_server,
    state: message.state,
    ...(expires === undefined ? {} : { tokenExpiresAt: new Date(expires) }),
    ...(refreshed === undefined ? {} : { lastRefreshAt: new Date(refreshed) }),
    ...optionalDate('refreshTokenUsedAt', fromTimestamp(message.refresh_token_used_at)),
    ...optionalDate('lastUsedAt', fromTimestamp(message.last_used_at)),
    lastErrorCode: message.last_error_code,
    lastErrorMessage: message.last_error_message,
    credentialForecasts: message.credential_forecasts.map((forecast) => ({
      credential: forecast.credential,
      expectedAt: new Date(fromTimestamp(forecast.expected_at) ?? 0),
      basis: forecast.basis,
      reason: forecast.reason,
    })),
  };
}

export function fromStartAuthorizationResponse(message: StartAuthorizationResponse__Output): BrokerAuthorizationStart {
  return {
    authorizationUrl: message.authorization_url,
    state: message.state,
    ...optionalDate('expiresAt', fromTimestamp(message.expires_at)),
    userCode: message.user_code,
    verificationUri: message.verification_uri,
    ...(message.acquired ? { acquired: { subject: message.token_subject, audience: message.token_audience, permissions: message.token_permissions } } : {}),
  };
}

export function fromReloadResponse(message: ReloadResponse__Output): BrokerReloadResult {
  return {
    applied: message.applied,
    errors: message.errors,
    added: message.added,
    removed: message.removed,
    changed: message.changed,
    reacquiring: message.reacquiring,
    restartRequired: message.restart_required,
  };
}

function optionalDate<K extends string>(key: K, milliseconds: number | undefined): Partial<Record<K, Date>> {
  return milliseconds === undefined ? {} : ({ [key]: new Date(milliseconds) } as Partial<Record<K, Date>>);
}
