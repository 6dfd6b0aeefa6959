// A standalone, Google-shaped HTTPS authorization server (OAuth clients,
// service accounts, device flow) for the broker's tests. Imports nothing
// from the broker.
export { startGoogleSandbox } from './server.js';
export type {
  GoogleAccessTokenInfo,
  GoogleClientRegistration,
  GoogleInjectedFailure,
  GoogleInjectedThrottle,
  GoogleSandbox,
  GoogleSandboxClock,
  GoogleSandboxOptions,
  GoogleSandboxStats,
  GoogleServiceAccountRegistration,
  TokenRequestEvent,
} from './types.js';
