// The token-death forecast: when each credential a mailbox depends on (and
// the broker's own TLS certificates) is expected to stop working, and why;
// the warnings at 14, 7 and 1 days ahead; the short form `status` shows.
export { WARNING_DAYS } from './credential-death.js';
export type { CredentialDeath, CredentialKind, DeathBasis } from './credential-death.js';
export type { RefreshTokenFacts, StatedMaxLifetime } from './facts.js';
export { mailboxCredentialDeaths } from './mailbox-forecast.js';
export { serverTlsCertificateDeaths } from './server-tls.js';
export { parseSignInFrequency } from './server-stated-lifetime.js';
export { ENTRA_INACTIVITY_DAYS } from './entra-inactivity.js';
export { GOOGLE_TESTING_APP_DAYS } from './google-testing-app.js';
export { DeathWarnings } from './death-warnings.js';
export type { ForecastSubject } from './death-warnings.js';
export { credentialLabel, deathLabel, warningLevel } from './warning-level.js';
export type { WarningLevel } from './warning-level.js';
