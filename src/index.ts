// mailbox-token-broker as a library: the connector client and the config
// loader. The daemon itself is the `token-broker` command.
export { TokenBrokerClient, resolveDaemonAddress, DEFAULT_DAEMON_ADDRESS } from './client/index.js';
export type { BrokerAuthorizationStart, BrokerMailboxStatus, BrokerReloadResult, BrokerToken, TokenBrokerClientOptions } from './client/index.js';
export { loadConfig, formatProblem } from './config/index.js';
export type { BrokerConfig, ConfigProblem, ConfigLoadResult } from './config/index.js';
export { BrokerError } from './errors/index.js';
export type { BrokerErrorCode } from './errors/index.js';
