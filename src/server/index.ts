// The gRPC face of the broker.
export { BrokerGrpcServer } from './grpc-server.js';
export type { GrpcServerOptions } from './grpc-server.js';
export type { BoundAddress } from './listeners.js';
export type { ReloadHandler, ReloadOutcome } from './reload-handler.js';
export { toStatus, ERROR_CODE_METADATA_KEY } from './to-status.js';
export { globToRegExp } from './client-auth.js';
