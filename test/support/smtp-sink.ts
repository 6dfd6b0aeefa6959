// A tiny SMTP server on 127.0.0.1 that keeps every message it is given: the
// relay behind the tests' Dovecot submission service, so a test can see that
// a message sent with a broker token really left the submission server.
// Hand-written on node:net rather than a library: no SMTP server package is a
// dependency, and the few commands a relay client sends fit in a page.
import { EventEmitter } from 'node:events';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';

export interface SinkMessage {
  /** The MAIL FROM address, without the angle brackets ('' for the null sender). */
  readonly from: string;
  /** The RCPT TO addresses, in order. */
  readonly to: readonly string[];
  /** The message as sent after DATA, dot-unstuffed, lines ending in CRLF, without the final "." line. */
  readonly data: string;
}

export interface SmtpSink {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** Messages received so far, oldest first. */
  messages(): readonly SinkMessage[];
  /**
   * The first message (already received or yet to come) that `predicate` accepts.
   * Rejects after `timeoutMs` naming what did arrive, so a lost message fails the test with a reason.
   */
  waitForMessage(predicate: (message: SinkMessage) => boolean, timeoutMs?: number): Promise<SinkMessage>;
  /** Closes the listener and every open connection. Safe to call twice. */
  stop(): Promise<void>;
}

const DEFAULT_WAIT_MS = 60_000;
const MESSAGE_EVENT = 'message';

export async function startSmtpSink(): Promise<SmtpSink> {
  const received: SinkMessage[] = [];
  const events = new EventEmitter();
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    serveSession(socket, (message) => {
      received.push(message);
      events.emit(MESSAGE_EVENT, message);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('smtp sink: no TCP address after listen');

  let stopped: Promise<void> | undefined;
  return {
    host: '127.0.0.1',
    port: address.port,
    messages: () => [...received],
    waitForMessage(predicate, timeoutMs = DEFAULT_WAIT_MS) {
      const found = received.find(predicate);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise<SinkMessage>((resolve, reject) => {
        const onMessage = (message: SinkMessage): void => {
          if (!predicate(message)) return;
          clearTimeout(timer);
          events.off(MESSAGE_EVENT, onMessage);
          resolve(message);
        };
        const timer = setTimeout(() => {
          events.off(MESSAGE_EVENT, onMessage);
          const seen = received.map((message) => `from <${message.from}> to ${message.to.map((to) => `<${to}>`).join(', ')}`);
          reject(new Error(`smtp sink on port ${address.port}: no matching message within ${timeoutMs} ms; received ${received.length}: ${seen.join('; ') || '(none)'}`));
        }, timeoutMs);
        events.on(MESSAGE_EVENT, onMessage);
      });
    },
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return stopped;
    },
  };
}

/** One SMTP session: a line-by-line state machine (RFC 5321), so pipelined commands are answered in order. */
function serveSession(socket: Socket, onMessage: (message: SinkMessage) => void): void {
  let buffered = '';
  let from: string | undefined;
  let to: string[] = [];
  let dataLines: string[] | undefined;
  const reply = (text: string): void => {
    if (!socket.destroyed) socket.write(`${text}\r\n`);
  };
  const reset = (): void => {
    from = undefined;
    to = [];
    dataLines = undefined;
  };

  const onLine = (line: string): void => {
    if (dataLines !== undefined) {
      if (line === '.') {
        onMessage({ from: from ?? '', to, data: dataLines.map((text) => `${text}\r\n`).join('') });
        reset();
        reply('250 2.0.0 Ok: queued');
        return;
      }
      // Dot-unstuffing (RFC 5321 4.5.2): the client doubled every leading dot.
      dataLines.push(line.startsWith('.') ? line.slice(1) : line);
      return;
    }
    const verb = (/^\S*/.exec(line)?.[0] ?? '').toUpperCase();
    const argument = line.slice(verb.length).trim();
    switch (verb) {
      case 'EHLO':
        reply('250-token-broker-test-sink');
        reply('250-PIPELINING');
        reply('250-ENHANCEDSTATUSCODES');
        reply('250 8BITMIME');
        return;
      case 'HELO':
        reply('250 token-broker-test-sink');
        return;
      case 'MAIL': {
        const address = pathArgument(argument, 'FROM');
        if (address === undefined) return reply('501 5.5.4 Syntax: MAIL FROM:<address>');
        reset();
        from = address;
        return reply('250 2.1.0 Ok');
      }
      case 'RCPT': {
        const address = pathArgument(argument, 'TO');
        if (address === undefined) return reply('501 5.5.4 Syntax: RCPT TO:<address>');
        if (from === undefined) return reply('503 5.5.1 MAIL first');
        to.push(address);
        return reply('250 2.1.5 Ok');
      }
      case 'DATA':
        if (from === undefined || to.length === 0) return reply('503 5.5.1 MAIL and RCPT first');
        dataLines = [];
        return reply('354 End data with <CR><LF>.<CR><LF>');
      case 'RSET':
        reset();
        return reply('250 2.0.0 Ok');
      case 'NOOP':
        return reply('250 2.0.0 Ok');
      case 'QUIT':
        reply('221 2.0.0 Bye');
        socket.end();
        return;
      default:
        return reply(`502 5.5.2 ${verb === '' ? 'Empty command' : `${verb} not implemented`}`);
    }
  };

  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    for (let end = buffered.indexOf('\n'); end !== -1; end = buffered.indexOf('\n')) {
      const line = buffered.slice(0, end).replace(/\r$/, '');
      buffered = buffered.slice(end + 1);
      onLine(line);
    }
  });
  // A client that drops the connection mid-session is the client's business, not the test's.
  socket.on('error', () => socket.destroy());
  reply('220 token-broker-test-sink ESMTP');
}

/** `FROM:<a@b> BODY=8BITMIME` -> 'a@b'; undefined when the keyword or the angle brackets are missing. */
function pathArgument(argument: string, keyword: 'FROM' | 'TO'): string | undefined {
  const match = new RegExp(`^${keyword}:\\s*<([^>]*)>`, 'i').exec(argument);
  return match?.[1];
}
