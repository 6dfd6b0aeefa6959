// A standalone, Entra-ID-shaped HTTPS authorization server for the broker's
// tests and `token-broker demo`. It imports nothing from the broker.
export { startSandbox } from './server.js';
export type {
  AccessTokenClaims,
  InjectedFailure,
  Sandbox,
  SandboxApplication,
  SandboxClock,
  SandboxOptions,
  SandboxStats,
  SandboxStatsSnapshot,
} from './types.js';
