// `token-broker authorize MAILBOX`: starts an interactive authorization on the
// running daemon and sees it through (a grant that needs no person is
// acquired at once instead, and what the token is for is shown); a device code is shown and awaited; a
// sign-in URL is printed, then the daemon's loopback listener or a pasted
// redirect URL (Google and other servers: copy the browser's address bar)
// completes it.
import { createInterface } from 'node:readline';
import type { BrokerMailboxStatus, TokenBrokerClient } from '../../client/index.js';
// addresses.ts alone, not the config index: `authorize` need not load the YAML and schema modules.
import { loopbackRedirectAddress } from '../../config/addresses.js';
import { CommandFailure, ExitCode } from '../exit-codes.js';
import { connect, explainRpcError } from '../daemon-connection.js';
import type { ConnectionOptions } from '../daemon-connection.js';
import type { Terminal } from '../terminal.js';

const POLL_INTERVAL_MS = 1_000;

export interface AuthorizeOptions extends ConnectionOptions {
  /** Complete with this redirect URL instead of waiting or asking. */
  readonly redirectUrl?: string;
}

export async function authorizeCommand(mailbox: string, options: AuthorizeOptions, terminal: Terminal): Promise<ExitCode> {
  const client = connect(options);
  try {
    const before = await client.getMailboxStatus(mailbox);
    const started = await client.startAuthorization(mailbox);
    if (started.acquired !== undefined) {
      // A grant that needs no person: the daemon acquired a token at once; show what a person checks.
      const { subject, audience, permissions } = started.acquired;
      terminal.out(`Mailbox ${mailbox} (${before.grantType}): a token was acquired; its credentials work.`);
      terminal.out(`  for:          ${subject}`);
      if (audience !== '') terminal.out(`  audience:     ${audience}`);
      terminal.out(`  permissions:  ${permissions.length > 0 ? permissions.join(' ') : '(none stated)'}`);
      terminal.out(`  expires:      ${started.expiresAt?.toISOString() ?? 'unknown'}`);
      return ExitCode.ok;
    }
    const expiresAt = started.expiresAt?.getTime() ?? Date.now() + 600_000;
    if (started.userCode !== '') {
      terminal.out(`To authorize mailbox ${mailbox}, open ${started.verificationUri} and enter the code ${started.userCode}`);
      terminal.out(`(the code expires at ${new Date(expiresAt).toISOString()}). Waiting for the sign-in...`);
      return report(mailbox, await waitForAuthorization(client, mailbox, before, expiresAt, terminal), terminal);
    }
    terminal.out(`Open this URL in a browser and sign in as the mailbox user (${mailbox}):\n\n  ${started.authorizationUrl}\n`);
    if (options.redirectUrl !== undefined) {
      return report(mailbox, await client.completeAuthorization(mailbox, { redirectUrl: options.redirectUrl }), terminal);
    }
    const redirectUri = new URL(started.authorizationUrl).searchParams.get('redirect_uri') ?? '';
    const loopback = isLoopback(redirectUri);
    terminal.out(
      loopback
        ? `Waiting for the browser to come back to ${redirectUri} ... If the browser runs on another machine, paste the address it shows here instead:`
        : 'Then paste the full address the browser shows (it starts with the redirect URI) and press Enter:',
    );
    const pasted = readPastedUrl();
    const finished = loopback ? waitForAuthorization(client, mailbox, before, expiresAt, terminal) : undefined;
    const outcome = await Promise.race([
      pasted.line.then((line) => (line === undefined ? finished : client.completeAuthorization(mailbox, { redirectUrl: line }))),
      ...(finished === undefined ? [] : [finished]),
    ]);
    pasted.close();
    if (outcome === undefined) throw new CommandFailure('no redirect URL was pasted; run token-broker authorize again.');
    return report(mailbox, outcome, terminal);
  } catch (error) {
    if (error instanceof CommandFailure) throw error;
    throw explainRpcError(error, client);
  } finally {
    client.close();
  }
}

/** The daemon listens for this redirect itself (the same answer as its listener: loopbackRedirectAddress). */
function isLoopback(redirectUri: string): boolean {
  return loopbackRedirectAddress(redirectUri) !== undefined;
}

/** Waits until the mailbox has a fresh refresh or a new error, showing progress. */
async function waitForAuthorization(
  client: TokenBrokerClient,
  mailbox: string,
  before: BrokerMailboxStatus,
  expiresAt: number,
  terminal: Terminal,
): Promise<BrokerMailboxStatus> {
  let waited = 0;
  while (Date.now() < expiresAt) {
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
    const status = await client.getMailboxStatus(mailbox);
    const refreshed = status.lastRefreshAt !== undefined && status.lastRefreshAt.getTime() !== before.lastRefreshAt?.getTime();
    if (refreshed && status.state === 'READY') return status;
    if (status.lastErrorMessage !== '' && status.lastErrorMessage !== before.lastErrorMessage) return status;
    waited += POLL_INTERVAL_MS;
    if (waited % 15_000 === 0) terminal.err(`  still waiting (${Math.round((expiresAt - Date.now()) / 1000)} s left)...`);
  }
  throw new CommandFailure(`the authorization of mailbox ${mailbox} expired before the sign-in finished; run token-broker authorize ${mailbox} again.`);
}

function report(mailbox: string, status: BrokerMailboxStatus, terminal: Terminal): ExitCode {
  if (status.state === 'READY') {
    terminal.out(`Mailbox ${mailbox} is authorized; token expires at ${status.tokenExpiresAt?.toISOString() ?? '?'}.`);
    return ExitCode.ok;
  }
  throw new CommandFailure(`mailbox ${mailbox} was not authorized: ${status.lastErrorCode} ${status.lastErrorMessage}`.trim());
}

/** One line from stdin, or undefined when stdin ends without one. */
function readPastedUrl(): { line: Promise<string | undefined>; close(): void } {
  const reader = createInterface({ input: process.stdin, terminal: false });
  const line = new Promise<string | undefined>((resolve) => {
    reader.once('line', (text) => resolve(text.trim() === '' ? undefined : text.trim()));
    reader.once('close', () => resolve(undefined));
  });
  return { line, close: () => reader.close() };
}
