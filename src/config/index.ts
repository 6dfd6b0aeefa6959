// The configuration: loading and validating the YAML ops edit, into plain
// resolved data the rest of the broker reads. Knows no other part of the broker.
export { loadConfig, loadConfigFromText } from './load.js';
export type { LoadOptions } from './load.js';
export { formatProblem } from './format.js';
export { DEFAULT_CONFIG_PATH } from './defaults.js';
export { builtinAuthorizationServers } from './builtin-servers.js';
export { MICROSOFT_CLOUD_HOSTS, microsoftAuthority } from './microsoft-clouds.js';
export type { MicrosoftAuthority, MicrosoftCloudHosts } from './microsoft-clouds.js';
export { Secret } from './secret.js';
export { AUTHENTICATION_MODES, AUTHORIZATION_SERVER_TYPES, GRANT_TYPES, MICROSOFT_CLOUDS, PROTOCOLS, REDIRECT_PLATFORMS } from './types.js';
export type {
  AuditConfig,
  AuthenticationMode,
  AuthorizationServerConfig,
  AuthorizationServerType,
  BrokerConfig,
  CertificateCredential,
  ClientConfig,
  ConfigLoadResult,
  ConfigProblem,
  GrantTypeName,
  ListenAddress,
  MailboxConfig,
  MetricsConfig,
  MicrosoftCloud,
  Protocol,
  ProxyConfig,
  RedirectPlatform,
  RefreshConfig,
  ScopesByProtocol,
  ServerConfig,
  ServerLimitsConfig,
  ServiceAccountKey,
  StoreConfig,
  TlsConfig,
} from './types.js';
export { canonicalCertificateSubject, formatCertificateSubject, parseCertificateSubject, subjectAttributesOf } from './certificate-subject.js';
export type { SubjectAttribute } from './certificate-subject.js';
export { ENCRYPTION_KEY_RULE, encryptionKeyProblem } from './sections/store.js';
export { isSystemdCredential } from './file-permissions.js';
export { isLoopbackHost, loopbackRedirectAddress } from './addresses.js';
export { compileGlob, countMatchSteps, globProblem } from './glob-pattern.js';
export type { GlobPattern } from './glob-pattern.js';
export { keyCredentialMissing } from './store-key-credential.js';
export { pemCertificateBlocks } from './pem.js';
