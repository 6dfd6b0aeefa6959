// `token-broker status`: one line per mailbox the caller may read.
import type { BrokerCredentialForecast, BrokerMailboxStatus } from '../../client/index.js';
import { deathLabel } from '../../forecast/index.js';
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

export interface StatusOptions extends ConnectionOptions {
  readonly json?: boolean;
  /** What time it is, for the FORECAST column (ms); default the system clock. */
  readonly now?: () => number;
}

export async function statusCommand(options: StatusOptions, terminal: Terminal): Promise<ExitCode> {
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
  const now = (options.now ?? Date.now)();
  const rows = statuses.map((status) => [
    status.mailbox,
    STATE_LABELS[status.state] ?? status.state,
    status.tokenExpiresAt?.toISOString() ?? '-',
    status.refreshTokenUsedAt?.toISOString() ?? '-',
    forecastCell(status.credentialForecasts, now),
    status.lastErrorCode === '' ? '-' : `${status.lastErrorCode}: ${status.lastErrorMessage}`,
  ]);
  for (const line of table(['MAILBOX', 'STATE', 'TOKEN EXPIRES', 'REFRESH TOKEN USED', 'FORECAST', 'LAST ERROR'], rows)) terminal.out(line);
  return ExitCode.ok;
}

/**
 * The earliest expected credential death, short: "refresh token 6d", "secret
 * 13d !" (one "!" per warning threshold crossed: 14, 7, 1 days); "-" when
 * nothing is known. The others, with dates and reasons, are in --json.
 */
export function forecastCell(forecasts: readonly BrokerCredentialForecast[], now: number): string {
  const earliest = forecasts[0];
  return earliest === undefined ? '-' : deathLabel(earliest.credential, earliest.expectedAt.getTime(), now);
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const format = (row: readonly string[]): string =>
    row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join('  ');
  return [format(header), ...rows.map(format)];
}
