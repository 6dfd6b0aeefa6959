#!/usr/bin/env node
// A message connector's SMTP side, on nodemailer, with its tokens from the
// broker: send one message as the mailbox over SMTP submission with SASL
// XOAUTH2. When the server refuses the token, tell the broker (ReportRejected)
// and send again with the token it answers with, once.
//
//   node examples/node/smtp-sender.mjs --mailbox sales-smtp --to someone@example.com \
//     --host smtp.office365.com --port 587
//
// Why the custom XOAUTH2 handler: nodemailer's built-in XOAUTH2 sends the
// whole SASL string on the AUTH line (`AUTH XOAUTH2 <initial response>`). An
// Entra token makes that line well over 1,000 bytes, and servers cap command
// lines (Dovecot's submission answers `500 5.5.2 Line too long`). Sending
// `AUTH XOAUTH2` alone, waiting for `334`, then the string, works everywhere.
//
// The broker is found like the CLI finds it: $TOKEN_BROKER_ADDRESS and
// $TOKEN_BROKER_KEY. One JSON line per event on stdout.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import nodemailer from 'nodemailer';
import { TokenBrokerClient } from 'mailbox-token-broker/client';

const { values: options } = parseArgs({
  options: {
    mailbox: { type: 'string' },
    to: { type: 'string' },
    subject: { type: 'string', default: 'sent with a token from mailbox-token-broker' },
    host: { type: 'string', default: 'smtp.office365.com' },
    port: { type: 'string', default: '587' },
    // 465 is implicit TLS; on 587 STARTTLS is required (never AUTH in clear text).
    tls: { type: 'boolean' },
    'ca-file': { type: 'string' },
  },
});
if (options.mailbox === undefined || options.to === undefined) {
  console.error('smtp-sender: --mailbox NAME and --to ADDRESS are required');
  process.exit(2);
}
const mailbox = options.mailbox;
const port = Number(options.port);
const secure = options.tls ?? port === 465;
const ca = options['ca-file'] === undefined ? undefined : readFileSync(options['ca-file']);

function report(event) {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

/** An Error nodemailer reports as EAUTH carries the server's reply; 535 is a refused token. */
class TokenRefused extends Error {}

/**
 * SASL XOAUTH2 in two steps (see the file comment). `saslXoauth2` is the
 * broker's ready base64 string. On a refused token the server first sends a
 * 334 error challenge (base64 JSON); the client answers with an empty line and
 * the server then sends its 535.
 */
function twoStepXoauth2(saslXoauth2) {
  return async ({ sendCommand }) => {
    const ready = await sendCommand('AUTH XOAUTH2');
    if (ready.status !== 334) throw new Error(`the server refused AUTH XOAUTH2: ${ready.response}`);
    let answer = await sendCommand(saslXoauth2);
    if (answer.status === 334) answer = await sendCommand('');
    if (answer.status !== 235) throw new TokenRefused(answer.response);
  };
}

async function send(token) {
  const transport = nodemailer.createTransport({
    host: options.host,
    port,
    secure,
    requireTLS: !secure,
    tls: ca === undefined ? {} : { ca },
    auth: { type: 'custom', method: 'XOAUTH2', user: token.username },
    customAuth: { XOAUTH2: twoStepXoauth2(token.saslXoauth2) },
  });
  try {
    const info = await transport.sendMail({
      // The sender is the SASL identity: the shared mailbox when the config sets one.
      from: token.username,
      to: options.to,
      subject: options.subject,
      text: 'This message was sent by examples/node/smtp-sender.mjs.\n',
    });
    report({ event: 'sent', from: token.username, to: options.to, messageId: info.messageId, response: info.response });
  } finally {
    transport.close();
  }
}

function isTokenRefused(error) {
  return error?.code === 'EAUTH' && (error.responseCode === 535 || error instanceof TokenRefused || /^535/.test(error.response ?? ''));
}

const broker = new TokenBrokerClient();
try {
  const token = await broker.getToken(mailbox);
  try {
    await send(token);
  } catch (error) {
    if (!isTokenRefused(error)) throw error;
    report({ event: 'rejected', user: token.username, server: error.response ?? error.message });
    await send(await broker.reportRejected(mailbox, token.accessToken, 'SMTP AUTH refused the token'));
  }
} catch (error) {
  report({ event: 'failed', message: error instanceof Error ? error.message : String(error), response: error?.response });
  process.exitCode = 1;
} finally {
  broker.close();
}
