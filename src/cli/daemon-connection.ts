// How client commands (token, status, authorize) reach the daemon, and how
// gRPC failures read for a person at a terminal.
import { readFileSync } from 'node:fs';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { TokenBrokerClient } from '../client/index.js';
import { CommandFailure, ExitCode } from './exit-codes.js';

export interface ConnectionOptions {
  readonly socket?: string;
  readonly keyFile?: string;
}

export function connect(options: ConnectionOptions, env: NodeJS.ProcessEnv = process.env): TokenBrokerClient {
  let key: string | undefined = env.TOKEN_BROKER_KEY;
  const keyFile = options.keyFile ?? env.TOKEN_BROKER_KEY_FILE;
  if (keyFile !== undefined) {
    try {
      key = readFileSync(keyFile, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      throw new CommandFailure(`cannot read the client key file ${keyFile}: ${(error as Error).message}`, ExitCode.usage);
    }
  }
  try {
    return new TokenBrokerClient({ address: options.socket, key: key === '' ? undefined : key, deadlineMs: 60_000 });
  } catch (error) {
    throw new CommandFailure((error as Error).message, ExitCode.usage);
  }
}

/** Turns a gRPC error into a message that says what to do. */
export function explainRpcError(error: unknown, client: TokenBrokerClient): CommandFailure {
  const serviceError = error as Partial<ServiceError>;
  if (typeof serviceError.code !== 'number') return new CommandFailure(String(error));
  const where = client.address.display;
  switch (serviceError.code) {
    case GrpcStatus.UNAVAILABLE:
      if (/No connection established|ENOENT|ECONNREFUSED|connect/i.test(serviceError.details ?? '')) {
        return new CommandFailure(
          `cannot reach the token-broker daemon at ${where}: ${serviceError.details ?? 'unavailable'}.\n` +
            'Is it running (systemctl status token-broker)? Point to it with --socket or $TOKEN_BROKER_ADDRESS.',
        );
      }
      return new CommandFailure(serviceError.details ?? 'unavailable');
    case GrpcStatus.UNAUTHENTICATED: {
      // A key was sent but is not one of server.clients: say so plainly, rather than ask for a key.
      const wrongKey = /^unknown client key/.test(serviceError.details ?? '');
      const hint = wrongKey
        ? 'The key is wrong: check the one given with --key-file, $TOKEN_BROKER_KEY_FILE or $TOKEN_BROKER_KEY against server.clients in the daemon\'s config.'
        : 'Give the key with --key-file or $TOKEN_BROKER_KEY.';
      return new CommandFailure(`the daemon at ${where} refused the client key: ${serviceError.details ?? ''}\n${hint}`);
    }
    case GrpcStatus.DEADLINE_EXCEEDED:
      return new CommandFailure(`the daemon at ${where} did not answer in time.`);
    default:
      return new CommandFailure(serviceError.details ?? String(error));
  }
}
