// Loads proto/tokenbroker/v1/broker.proto once for the server and the client,
// with one set of loader options so both sides see the same message shapes.
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from './generated/broker.js';

/** proto/ at the package root; this file is dist/src/proto/load.js once built. */
export const PROTO_ROOT = fileURLToPath(new URL('../../../proto/', import.meta.url));
export const BROKER_PROTO_FILE = 'tokenbroker/v1/broker.proto';

/** The generated wire types assume these: `npm run generate:proto` passes the same ones to proto-loader-gen-types. */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_ROOT],
};

type Services = ProtoGrpcType['tokenbroker']['v1'];

/** The services with the types generated from the proto (see messages.ts). */
export interface BrokerProto {
  readonly packageDefinition: protoLoader.PackageDefinition;
  readonly tokenBrokerService: Services['TokenBroker']['service'];
  readonly brokerAdminService: Services['BrokerAdmin']['service'];
  readonly TokenBrokerClient: Services['TokenBroker'];
  readonly BrokerAdminClient: Services['BrokerAdmin'];
}

let cached: BrokerProto | undefined;

export function loadBrokerProto(): BrokerProto {
  if (cached !== undefined) return cached;
  const packageDefinition = protoLoader.loadSync(path.join(PROTO_ROOT, BROKER_PROTO_FILE), PROTO_LOADER_OPTIONS);
  // The generator's type of what loadPackageDefinition returns for this proto.
  const loaded = grpc.loadPackageDefinition(packageDefinition) as unknown as ProtoGrpcType;
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
