// Loads proto/tokenbroker/v1/broker.proto once for the server and the client,
// with one set of loader options so both sides see the same message shapes.
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** proto/ at the package root; this file is dist/src/proto/load.js once built. */
export const PROTO_ROOT = fileURLToPath(new URL('../../../proto/', import.meta.url));
export const BROKER_PROTO_FILE = 'tokenbroker/v1/broker.proto';

export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_ROOT],
};

export interface BrokerProto {
  readonly packageDefinition: protoLoader.PackageDefinition;
  readonly tokenBrokerService: grpc.ServiceDefinition;
  readonly brokerAdminService: grpc.ServiceDefinition;
  readonly TokenBrokerClient: grpc.ServiceClientConstructor;
  readonly BrokerAdminClient: grpc.ServiceClientConstructor;
}

let cached: BrokerProto | undefined;

export function loadBrokerProto(): BrokerProto {
  if (cached !== undefined) return cached;
  const packageDefinition = protoLoader.loadSync(path.join(PROTO_ROOT, BROKER_PROTO_FILE), PROTO_LOADER_OPTIONS);
  const loaded = grpc.loadPackageDefinition(packageDefinition) as unknown as {
    tokenbroker: { v1: { TokenBroker: grpc.ServiceClientConstructor; BrokerAdmin: grpc.ServiceClientConstructor } };
  };
  const { TokenBroker, BrokerAdmin } = loaded.tokenbroker.v1;
  cached = {
    packageDefinition,
    tokenBrokerService: TokenBroker.service,
    brokerAdminService: BrokerAdmin.service,
    TokenBrokerClient: TokenBroker,
    BrokerAdminClient: BrokerAdmin,
  };
  return cached;
}

export const TOKEN_BROKER_SERVICE_NAME = 'tokenbroker.v1.TokenBroker';
export const BROKER_ADMIN_SERVICE_NAME = 'tokenbroker.v1.BrokerAdmin';
