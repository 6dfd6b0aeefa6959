#!/usr/bin/env node
// A message connector's IMAP side, on imapflow, with its tokens from the
// broker: log in with the mailbox's current token, list the inbox, and when
// the server refuses the token, tell the broker (ReportRejected), take the new
// token it answers with and log in again, once. In a long-running connector the
// newest token arrives by WatchToken before the old one expires (--watch shows
// it); nothing here ever refreshes a token itself.
//
//   node examples/node/imap-poller.mjs --mailbox sales-imap --host outlook.office365.com --port 993
//
// The broker is found like the CLI finds it: $TOKEN_BROKER_ADDRESS (default
// the unix socket) and $TOKEN_BROKER_KEY. One JSON line per event on stdout.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ImapFlow } from 'imapflow';
import { TokenBrokerClient } from 'mailbox-token-broker/client';

const { values: options } = parseArgs({
  options: {
    mailbox: { type: 'string' },
    host: { type: 'string', default: 'outlook.office365.com' },
    port: { type: 'string', default: '993' },
    // 993 is implicit TLS; on 143 imapflow upgrades with STARTTLS when the server offers it.
    tls: { type: 'boolean' },
    'ca-file': { type: 'string' },
    // Keep running: log in again each time the broker pushes a new token.
    watch: { type: 'boolean', default: false },
    // With --watch: stop after this many logins (for a test; 0 = run forever).
    logins: { type: 'string', default: '0' },
  },
});
if (options.mailbox === undefined) {
  console.error('imap-poller: --mailbox NAME is required (a mailbox name of the broker config)');
  process.exit(2);
}
const mailbox = options.mailbox;
const port = Number(options.port);
const secure = options.tls ?? port === 993;
const ca = options['ca-file'] === undefined ? undefined : readFileSync(options['ca-file']);

function report(event) {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

/** One IMAP session: log in with `token`, list the inbox, log out. */
async function readInbox(token) {
  const client = new ImapFlow({
    host: options.host,
    port,
    secure,
    // token.username is the SASL identity: the shared mailbox when the config sets one.
    auth: { user: token.username, accessToken: token.accessToken },
    tls: ca === undefined ? {} : { ca },
    logger: false,
  });
  // imapflow emits 'error' for a connection lost after login; without a listener it would throw.
  client.on('error', (error) => report({ event: 'connection-error', message: error.message }));
  await client.connect();
  try {
    const lock = await client.getMailboxLock('INBOX');
    try {
      const subjects = [];
      for await (const message of client.fetch('1:*', { envelope: true })) subjects.push(message.envelope?.subject ?? '');
      report({ event: 'inbox', user: token.username, messages: subjects.length, subjects });
    } finally {
      lock.release();
    }
  } finally {
    await client.logout();
  }
}

/** imapflow marks a refused AUTHENTICATE so; anything else (network, TLS) is not the token's fault. */
function isLoginRefused(error) {
  return error?.authenticationFailed === true;
}

/** Logs in with `token`; a refused token is reported to the broker once and the new one tried. */
async function readInboxWith(broker, token) {
  try {
    await readInbox(token);
    return token;
  } catch (error) {
    if (!isLoginRefused(error)) throw error;
    report({ event: 'rejected', user: token.username, server: error.serverResponseCode ?? error.responseText ?? error.message });
    // The broker refreshes (rate limited) and answers with the token to use now.
    const renewed = await broker.reportRejected(mailbox, token.accessToken, 'IMAP AUTHENTICATE refused the token');
    await readInbox(renewed);
    return renewed;
  }
}

const broker = new TokenBrokerClient();
try {
  if (!options.watch) {
    await readInboxWith(broker, await broker.getToken(mailbox));
  } else {
    // Each token the broker pushes (the current one first) is used for the next session.
    const limit = Number(options.logins);
    let logins = 0;
    for await (const token of broker.watchTokens(mailbox)) {
      await readInboxWith(broker, token);
      logins += 1;
      if (limit > 0 && logins >= limit) break;
    }
  }
} catch (error) {
  report({ event: 'failed', message: error instanceof Error ? error.message : String(error) });
  process.exitCode = 1;
} finally {
  broker.close();
}
