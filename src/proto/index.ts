// The wire contract shared by the gRPC server and client.
export * from './messages.js';
export { loadBrokerProto, PROTO_ROOT, BROKER_PROTO_FILE, PROTO_LOADER_OPTIONS, TOKEN_BROKER_SERVICE_NAME, BROKER_ADMIN_SERVICE_NAME } from './load.js';
export type { BrokerProto } from './load.js';
