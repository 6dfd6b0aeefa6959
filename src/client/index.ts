// The connector-side client of the broker (also exported as mailbox-token-broker/client).
export { TokenBrokerClient } from './token-broker-client.js';
export type { TokenBrokerClientOptions } from './token-broker-client.js';
export type { BrokerAuthorizationStart, BrokerCredentialForecast, BrokerMailboxStatus, BrokerReloadResult, BrokerToken } from './messages.js';
export type { ReconnectOptions, TokenWatch, WatchTokenOptions } from './token-watch.js';
export { resolveDaemonAddress, DEFAULT_DAEMON_ADDRESS } from './address.js';
export type { DaemonAddress } from './address.js';
