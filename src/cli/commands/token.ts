// `token-broker token MAILBOX`: the current token from the running daemon, for scripts.
import { ExitCode } from '../exit-codes.js';
import { connect, explainRpcError } from '../daemon-connection.js';
import type { ConnectionOptions } from '../daemon-connection.js';
import type { Terminal } from '../terminal.js';

export async function tokenCommand(
  mailbox: string,
  options: ConnectionOptions & { xoauth2?: boolean; minValidity?: string },
  terminal: Terminal,
): Promise<ExitCode> {
  const client = connect(options);
  try {
    const minValiditySeconds = options.minValidity === undefined ? undefined : Number(options.minValidity);
    const token = await client.getToken(mailbox, { minValiditySeconds });
    terminal.out(options.xoauth2 === true ? token.saslXoauth2 : token.accessToken);
    return ExitCode.ok;
  } catch (error) {
    throw explainRpcError(error, client);
  } finally {
    client.close();
  }
}
