// The contract every grant type implements. Grants are stateless: what must
// survive between calls (the newest refresh token) is handed in and out, so
// the engine decides where it lives (memory, then the encrypted store).
// Grants know the authorization server and HTTP, never gRPC or the store.
import type { Logger } from 'pino';
import type { GrantTypeName, MailboxConfig } from '../../config/index.js';
import type { HttpTransport } from '../../http/index.js';
import type { Clock } from '../../time/index.js';

export interface TokenResult {
  readonly accessToken: string;
  /** Always "Bearer" today; kept as the server said it. */
  readonly tokenType: string;
  /** Milliseconds since the epoch. */
  readonly expiresAt: number;
  /** As granted (the server may narrow what was asked). */
  readonly scopes: readonly string[];
  /**
   * The refresh token the server issued with this token, if any. Servers that
   * rotate (Entra, strict OAuth 2.1 servers) invalidate the previous one: the
   * engine must keep this newest one before handing the access token out.
   */
  readonly refreshToken?: string;
  /**
   * When the server said the refresh token ends (Google's
   * refresh_token_expires_in, ms since the epoch): the forecast's surest source.
   */
  readonly refreshTokenExpiresAt?: number;
}

/** What the engine keeps for a mailbox between acquisitions. */
export interface GrantState {
  readonly refreshToken?: string;
}

/** An authorization begun by StartAuthorization and not yet completed. */
export interface PendingAuthorization {
  /** Random, single use; must come back unchanged in the redirect. */
  readonly state: string;
  /** PKCE (S256) verifier; never leaves the broker. */
  readonly codeVerifier: string;
  readonly redirectUri: string;
  /** Milliseconds since the epoch; completion after this is refused. */
  readonly expiresAt: number;
}

export type AuthorizationStart =
  | {
      readonly kind: 'redirect';
      /** Open in a browser; carries state, PKCE challenge and (Google) access_type=offline. */
      readonly authorizationUrl: string;
      readonly pending: PendingAuthorization;
    }
  | {
      readonly kind: 'device-code';
      readonly userCode: string;
      readonly verificationUri: string;
      /** The server's full instruction, when it sends one. */
      readonly message?: string;
      readonly expiresAt: number;
      /** Settles when the user has signed in (or the code expired); the grant polls meanwhile. */
      readonly completion: Promise<TokenResult>;
      /** Stops polling (a newer authorization replaced this one, or shutdown). */
      cancel(): void;
    };

export interface Grant {
  readonly type: GrantTypeName;
  /** True when a person must authorize before the first token (authorization-code, device-code). */
  readonly interactive: boolean;
  /**
   * Obtains a new access token without a person: refresh token, client
   * credentials or password. Throws BrokerError `needs_authorization` when
   * only an interactive authorization can help.
   */
  acquire(state: GrantState): Promise<TokenResult>;
  /** Interactive grants only. */
  startAuthorization?(): Promise<AuthorizationStart>;
  /**
   * Redirect flows: exchanges the code in `callbackUrl` (the full URL the
   * browser landed on) using the pending PKCE verifier. The engine has
   * already checked `state` and expiry.
   */
  completeAuthorization?(pending: PendingAuthorization, callbackUrl: URL): Promise<TokenResult>;
}

export interface GrantDependencies {
  readonly transport: HttpTransport;
  readonly clock: Clock;
  readonly logger: Logger;
}

export type GrantFactory = (mailbox: MailboxConfig, dependencies: GrantDependencies) => Grant;
