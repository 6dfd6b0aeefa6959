// The baseline of the GetToken benchmark: a bare grpc-js server with the
// broker's proto whose GetToken answers one constant message, nothing else.
import * as grpc from '@grpc/grpc-js';
import { loadBrokerProto, toTimestamp } from '../src/proto/index.js';
import type { TokenMessage } from '../src/proto/index.js';

const socketPath = process.argv[2];
if (socketPath === undefined) throw new Error('usage: bare-server.js SOCKET');

const token: TokenMessage = {
  mailbox: 'bench',
  access_token: 'x'.repeat(1400),
  token_type: 'Bearer',
  expires_at: toTimestamp(Date.now() + 3_600_000),
  scopes: ['https://outlook.office365.com/.default'],
  username: 'bench@contoso.example',
  sasl_xoauth2: 'y'.repeat(1900),
  protocol: 'IMAP',
};

const server = new grpc.Server();
server.addService(loadBrokerProto().tokenBrokerService, {
  GetToken: (_call: grpc.ServerUnaryCall<unknown, TokenMessage>, callback: grpc.sendUnaryData<TokenMessage>) => callback(null, token),
});
server.bindAsync(`unix://${socketPath}`, grpc.ServerCredentials.createInsecure(), (error) => {
  if (error !== null) throw error;
  process.stdout.write('ready\n');
});
process.on('SIGTERM', () => server.forceShutdown());
