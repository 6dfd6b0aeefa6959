// `token-broker reload`: the running daemon re-reads its config file (the
// Reload RPC; SIGHUP does the same without a reply). Prints what changed, or
// every problem of the file, which the daemon then does not apply.
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import type { BrokerReloadResult } from '../../client/index.js';
import { CommandFailure, ExitCode } from '../exit-codes.js';
import { connect, explainRpcError } from '../daemon-connection.js';
import type { ConnectionOptions } from '../daemon-connection.js';
import type { Terminal } from '../terminal.js';

export async function reloadCommand(options: ConnectionOptions, terminal: Terminal): Promise<ExitCode> {
  const client = connect(options);
  let result: BrokerReloadResult;
  try {
    result = await client.reload();
  } catch (error) {
    if ((error as Partial<ServiceError>).code === GrpcStatus.UNIMPLEMENTED) {
      throw new CommandFailure(
        `the daemon at ${client.address.display} cannot reload (${(error as ServiceError).details}); restart it to apply the config (systemctl restart token-broker).`,
      );
    }
    throw explainRpcError(error, client);
  } finally {
    client.close();
  }
  if (!result.applied) {
    const count = result.errors.length;
    throw new CommandFailure(
      `configuration not reloaded; the daemon keeps running the previous one. ${count === 1 ? 'The problem' : `The ${count} problems`}:\n${result.errors.join('\n')}`,
    );
  }
  const part = (names: readonly string[], what: string): string => `${names.length} ${what}${names.length === 0 ? '' : ` (${names.join(', ')})`}`;
  terminal.out(
    `configuration reloaded: ${part(result.added, 'added')}, ${part(result.removed, 'removed')}, ${part(result.changed, 'changed')}, ${part(result.reacquiring, 're-acquiring')}`,
  );
  for (const key of result.restartRequired) {
    terminal.err(`token-broker: ${key} changed, but only a restart applies it (systemctl restart token-broker); the daemon keeps the value it started with.`);
  }
  return ExitCode.ok;
}
