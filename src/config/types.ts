// The validated configuration: plain, fully resolved data. Every reference
// (server, proxy) is resolved to its object and every default applied, so
// the broker, grants and server never look at raw YAML or re-check anything.
import type { Secret } from './secret.js';

export const PROTOCOLS = ['graph', 'imap', 'pop3', 'smtp'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export const GRANT_TYPES = ['ropc', 'ropc-deprecated', 'authorization-code', 'client-credentials', 'device-code'] as const;
export type GrantTypeName = (typeof GRANT_TYPES)[number];

export const AUTHORIZATION_SERVER_TYPES = ['microsoft', 'google', 'generic'] as const;
export type AuthorizationServerType = (typeof AUTHORIZATION_SERVER_TYPES)[number];

/** Microsoft's cloud instances (a national cloud has its own authority and resource hosts: microsoft-clouds.ts). */
export const MICROSOFT_CLOUDS = ['global', 'usgov', 'usgov-dod', 'china'] as const;
export type MicrosoftCloud = (typeof MICROSOFT_CLOUDS)[number];

export const AUTHENTICATION_MODES = ['client-secret', 'certificate'] as const;
export type AuthenticationMode = (typeof AUTHENTICATION_MODES)[number];

export const REDIRECT_PLATFORMS = ['web', 'desktop'] as const;
export type RedirectPlatform = (typeof REDIRECT_PLATFORMS)[number];

export type ScopesByProtocol = Readonly<Partial<Record<Protocol, readonly string[]>>>;

export interface AuthorizationServerConfig {
  /** Key under `authorizationServers` (`microsoft`, `google` or the operator's). */
  readonly name: string;
  readonly type: AuthorizationServerType;
  /** microsoft only: https origin of the Entra ID instance, no trailing slash. */
  readonly authorityHost?: string;
  /**
   * microsoft only: the cloud instance whose resource hosts the default
   * scopes name. Set on every microsoft server once loaded: as written, else
   * derived from a known authorityHost, else global.
   */
  readonly cloud?: MicrosoftCloud;
  readonly issuer?: string;
  readonly authorizationEndpoint?: string;
  readonly tokenEndpoint?: string;
  readonly deviceAuthorizationEndpoint?: string;
  /** Default scopes per protocol for user-level grants. */
  readonly scopes: ScopesByProtocol;
  readonly caFile?: string;
  /** PEM text of `caFile`, read at load time: extra trust anchors added to the system ones. */
  readonly caCertificates: readonly string[];
  /**
   * google only: the app's OAuth consent screen is in "Testing" publishing
   * status, so its refresh tokens die 7 days after they were issued (the forecast warns).
   */
  readonly testingApp?: boolean;
}

export interface ProxyConfig {
  readonly name: string;
  /** http(s)://host:port or socks5(h)://host:port, without credentials; `environment` for the environment's proxy. */
  readonly url: string;
  readonly username?: string;
  readonly password?: Secret;
  /** Hosts reached directly, not through this (HTTP) proxy: NO_PROXY syntax, one entry each. */
  readonly noProxy?: readonly string[];
  /** `proxy: environment`: HTTP_PROXY, HTTPS_PROXY and NO_PROXY of the daemon's environment. */
  readonly fromEnvironment?: boolean;
}

/** A mailbox's `proxy:` value that takes the proxy from the environment; no proxies entry may use it. */
export const ENVIRONMENT_PROXY_NAME = 'environment';

/** What `proxy: environment` resolves to. */
export const ENVIRONMENT_PROXY: ProxyConfig = { name: ENVIRONMENT_PROXY_NAME, url: 'from HTTPS_PROXY / HTTP_PROXY', fromEnvironment: true };

export interface CertificateCredential {
  readonly file: string;
  /** Upper-case hex without separators, as configured (SHA-1 or SHA-256). */
  readonly thumbprint: string;
  readonly password?: Secret;
  /** Read from `file` at load time: the certificate's SHA-1 fingerprint, upper-case hex (JWT header `x5t`). */
  readonly sha1Thumbprint?: string;
  /** Read from `file` at load time: SHA-256 fingerprint, upper-case hex (JWT header `x5t#S256`). */
  readonly sha256Thumbprint?: string;
  /** Read from `file` at load time: the certificate (PEM), so grants need not parse PFX themselves. */
  readonly certificatePem?: string;
  /** Read from `file` at load time: the private key, decrypted, as PKCS#8 PEM. */
  readonly privateKey?: Secret;
  /** Read from `file` at load time: notAfter, milliseconds since the epoch. */
  readonly notAfter?: number;
}

/**
 * A Google service-account JSON key (`credentialsFile`), read and checked at
 * load time. Its `client_email` is also the mailbox's clientId.
 */
export interface ServiceAccountKey {
  /** Absolute path of the JSON file. */
  readonly file: string;
  /** The service account (`iss` of the assertion). */
  readonly clientEmail: string;
  /** The key's id at Google (`kid` of the assertion's header). */
  readonly privateKeyId: string;
  /** The RSA key, as PKCS#8 PEM. */
  readonly privateKey: Secret;
  /** The file's token_uri: the assertion's audience. */
  readonly tokenUri: string;
}

export interface MailboxConfig {
  /** Key under `mailboxes`: what connectors ask for. */
  readonly name: string;
  readonly protocol: Protocol;
  readonly grantType: GrantTypeName;
  readonly authorizationServer: AuthorizationServerConfig;
  readonly tenantId?: string;
  /** As written; with a service account key file, its client_email. */
  readonly clientId: string;
  /** With a service account key file, certificate: a private key signs, no secret is sent. */
  readonly authenticationMode: AuthenticationMode;
  readonly clientSecret?: Secret;
  /** When the client secret ends (clientSecretExpiresAt), ms since the epoch; only beside a clientSecret. */
  readonly clientSecretExpiresAt?: number;
  readonly certificate?: CertificateCredential;
  /** Google service account, from `credentialsFile` (then `certificate` is absent). */
  readonly serviceAccountKey?: ServiceAccountKey;
  readonly redirectUri?: string;
  readonly redirectPlatform?: RedirectPlatform;
  /** Resolved: the mailbox's own, else the server's default for this protocol and grant level. */
  readonly scopes: readonly string[];
  readonly username: string;
  readonly password?: Secret;
  readonly sharedMailbox?: string;
  readonly proxy?: ProxyConfig;
}

export type ListenAddress =
  | { readonly kind: 'unix'; readonly path: string; readonly url: string }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number; readonly url: string };

export interface TlsConfig {
  readonly certFile: string;
  readonly keyFile: string;
  readonly clientCaFile?: string;
}

export interface ClientConfig {
  readonly name: string;
  /** The key itself (from `key` or `keyFile`), or only its SHA-256 (`keySha256`, lower-case hex). */
  readonly key?: Secret;
  readonly keySha256?: string;
  /**
   * Instead of a key: the whole subject of the client's mTLS certificate, in
   * the order-free form of canonicalCertificateSubject (`CN=connector-1,O=Acme`).
   */
  readonly certificateSubject?: string;
  readonly mailboxes: readonly string[];
  readonly admin: boolean;
  /** Tokens only for mailboxes of these protocols (an SMTP sender gets no IMAP token); absent: every protocol. */
  readonly protocols?: readonly Protocol[];
  /** May open WatchToken streams; absent: true. */
  readonly watch?: boolean;
  /** WatchToken streams open at once; absent: no limit. */
  readonly maxWatches?: number;
  /** Calls per second (a token bucket holding two seconds' worth); absent: no limit. */
  readonly callsPerSecond?: number;
}

export interface ServerConfig {
  readonly listen: readonly ListenAddress[];
  /** Permission bits for unix sockets, e.g. 0o660. */
  readonly socketMode: number;
  readonly tls?: TlsConfig;
  readonly clients?: readonly ClientConfig[];
  /** Bounds on what one connection may send and hold; absent keys keep the server's defaults. */
  readonly limits?: ServerLimitsConfig;
}

/** server.limits (an addition to the contract); applied at start, a change needs a restart. */
export interface ServerLimitsConfig {
  /** The largest request message; larger ones are RESOURCE_EXHAUSTED. Default 65536. */
  readonly maxRequestBytes?: number;
  /** Calls open at once on one connection. Default 1000. */
  readonly maxStreamsPerConnection?: number;
  /** A connection with no call open this long is closed. Default 300. */
  readonly idleConnectionSeconds?: number;
}

export interface StoreConfig {
  readonly url: string;
  readonly encryptionKeyFile: string;
  /** Old keys, read-only: records still under one are read with it and re-encrypted with the current key on their next write. */
  readonly previousEncryptionKeyFiles?: readonly string[];
}

export interface RefreshConfig {
  readonly leadTimeSeconds: number;
  readonly maxConcurrentPerServer: number;
  /** How often the sweep looks for tokens due for refresh, 1..59 s. */
  readonly sweepIntervalSeconds: number;
  /** A mailbox without a caller (GetToken, a watch, a report) for this long is idle: not refreshed ahead of expiry. */
  readonly idleAfterHours: number;
  /** An idle mailbox's refresh token is redeemed at least this often, 1..80 days (Microsoft drops it after 90 idle days). */
  readonly keepAliveDays: number;
}

/** `metrics`: the Prometheus listener (src/metrics). */
export interface MetricsConfig {
  /** A TCP address (`host:port` or `tcp://`) or a unix socket; `url` is the text as written. */
  readonly listen: ListenAddress;
  /** Series with a `mailbox` label (token and credential expiry); false for very large fleets. Default true. */
  readonly perMailbox: boolean;
}

export interface BrokerConfig {
  /** Absolute path of the file this came from. */
  readonly source: string;
  readonly server: ServerConfig;
  readonly store: StoreConfig;
  /** Absent: no metrics listener. */
  readonly metrics?: MetricsConfig;
  /** Absent: no audit log. */
  readonly audit?: AuditConfig;
  readonly refresh: RefreshConfig;
  readonly authorizationServers: ReadonlyMap<string, AuthorizationServerConfig>;
  readonly proxies: ReadonlyMap<string, ProxyConfig>;
  readonly mailboxes: ReadonlyMap<string, MailboxConfig>;
}

/** One thing wrong (or worth a warning) in a config file. */
export interface ConfigProblem {
  readonly severity: 'error' | 'warning';
  /** Dotted path of the key, e.g. `mailboxes.sales.clientSecret`; empty for the whole file. */
  readonly path: string;
  readonly message: string;
  /** 1-based, where the YAML parser knows it. */
  readonly line?: number;
  readonly column?: number;
}

export type ConfigLoadResult =
  | { readonly ok: true; readonly config: BrokerConfig; readonly warnings: readonly ConfigProblem[] }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

/** Where the audit log goes: exactly one of the two. */
export interface AuditConfig {
  /** Absolute path of the file lines are appended to (created 0600). */
  readonly file?: string;
  /** Lines go to standard output (the broker's log is on stderr). */
  readonly stdout?: boolean;
}
