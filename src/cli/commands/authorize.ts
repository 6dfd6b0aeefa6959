// `token-broker authorize MAILBOX`: start an interactive authorization on the daemon.
import { ExitCode } from '../exit-codes.js';
import { connect, explainRpcError } from '../daemon-connection.js';
import type { ConnectionOptions } from '../daemon-connection.js';
import type { Terminal } from '../terminal.js';

export async function authorizeCommand(mailbox: string, options: ConnectionOptions, terminal: Terminal): Promise<ExitCode> {
  const client = connect(options);
  try {
    const started = await client.startAuthorization(mailbox);
    if (started.user_code !== '') {
      terminal.out(`Open ${started.verification_uri} and enter the code ${started.user_code}`);
    } else {
      terminal.out(`Open this URL in a browser and sign in as the mailbox user:\n${started.authorization_url}`);
    }
    return ExitCode.ok;
  } catch (error) {
    throw explainRpcError(error, client);
  } finally {
    client.close();
  }
}
