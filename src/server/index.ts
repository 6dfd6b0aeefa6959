// The gRPC face of the broker.
export { BrokerGrpcServer } from './grpc-server.js';
export type { GrpcServerOptions } from './grpc-server.js';
export type { BoundAddress } from './listeners.js';
export { clearUnixSocketPath, listenError } from './listeners.js';
export type { CallObserver } from './call-audit.js';
export { DEFAULT_CONNECTION_LIMITS } from './connection-limits.js';
export type { ConnectionLimits } from './connection-limits.js';
export type { ReloadHandler, ReloadOutcome } from './reload-handler.js';
export { toStatus, ERROR_CODE_METADATA_KEY } from './to-status.js';
export { clientText } from './client-text.js';
export { compileGlob, countMatchSteps } from '../config/index.js';
export type { GlobPattern } from '../config/index.js';
export { MailboxAllowList } from './mailbox-allow-list.js';
export { mailboxNameLimit } from './mailbox-request.js';
