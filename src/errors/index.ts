// Typed errors shared by every layer of the broker.
export { BROKER_ERROR_CODES, BrokerError, isBrokerError, toBrokerError } from './broker-error.js';
export type { BrokerErrorCode, BrokerErrorOptions, OAuthErrorDetails } from './broker-error.js';
export { redactBrokerError } from './redaction.js';
