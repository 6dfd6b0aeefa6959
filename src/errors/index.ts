// Typed errors shared by every layer of the broker.
export { BrokerError, isBrokerError, toBrokerError } from './broker-error.js';
export type { BrokerErrorCode, BrokerErrorOptions, OAuthErrorDetails } from './broker-error.js';
export { redactBrokerError } from './redaction.js';
