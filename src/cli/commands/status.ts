// `token-broker status`: one line per mailbox the caller may read.
import type { BrokerMailboxStatus } from '../../client/index.js';
import { ExitCode } from '../exit-codes.js';
import { connect, explainRpcError } from '../daemon-connection.js';
import type { ConnectionOptions } from '../daemon-connection.js';
import type { Terminal } from '../terminal.js';

const STATE_LABELS: Readonly<Record<string, string>> = {
  STATE_UNSPECIFIED: 'idle',
  READY: 'ready',
  ACQUIRING: 'acquiring',
  NEEDS_AUTHORIZATION: 'needs-authorization',
  FAILING: 'failing',
};

export async function statusCommand(options: ConnectionOptions & { json?: boolean }, terminal: Terminal): Promise<ExitCode> {
  const client = connect(options);
  let statuses: BrokerMailboxStatus[];
  try {
    statuses = await client.listMailboxes();
  } catch (error) {
    throw explainRpcError(error, client);
  } finally {
    client.close();
  }
  if (options.json === true) {
    terminal.out(JSON.stringify(statuses, null, 2));
    return ExitCode.ok;
  }
  const rows = statuses.map((status) => [
    status.mailbox,
    STATE_LABELS[status.state] ?? status.state,
    status.tokenExpiresAt?.toISOString() ?? '-',
    status.refreshTokenUsedAt?.toISOString() ?? '-',
    status.lastErrorCode === '' ? '-' : `${status.lastErrorCode}: ${status.lastErrorMessage}`,
  ]);
  for (const line of table(['MAILBOX', 'STATE', 'TOKEN EXPIRES', 'REFRESH TOKEN USED', 'LAST ERROR'], rows)) terminal.out(line);
  return ExitCode.ok;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const format = (row: readonly string[]): string =>
    row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join('  ');
  return [format(header), ...rows.map(format)];
}
