// `token-broker token MAILBOX`: the current token (or its SASL XOAUTH2 / OAUTHBEARER string) from the running daemon, for scripts.
import { ExitCode } from '../exit-codes.js';
import { connect, explainRpcError } from '../daemon-connection.js';
import type { ConnectionOptions } from '../daemon-connection.js';
import type { Terminal } from '../terminal.js';

export async function tokenCommand(
  mailbox: string,
  options: ConnectionOptions & { xoauth2?: boolean; oauthbearer?: boolean; minValidity?: string },
  terminal: Terminal,
): Promise<ExitCode> {
  const client = connect(options);
  try {
    const minValiditySeconds = options.minValidity === undefined ? undefined : Number(options.minValidity);
    const token = await client.getToken(mailbox, { minValiditySeconds });
    // program.ts refuses --xoauth2 with --oauthbearer before this runs.
    terminal.out(options.oauthbearer === true ? token.saslOauthbearer : options.xoauth2 === true ? token.saslXoauth2 : token.accessToken);
    return ExitCode.ok;
  } catch (error) {
    throw explainRpcError(error, client);
  } finally {
    client.close();
  }
}
