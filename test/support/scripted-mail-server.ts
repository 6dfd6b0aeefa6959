// A mail server that follows a script: for tests of the mail client's
// parsing and of what a command makes of a server's answers. Each
// connection runs the script with a line-based conversation (plain TCP,
// implicit TLS, or upgraded in place after STARTTLS) on 127.0.0.1.
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { TLSSocket, createSecureContext } from 'node:tls';
import type { SecureContext } from 'node:tls';

export interface Conversation {
  /** Sends lines, each with CRLF. */
  send(...lines: string[]): void;
  /** The client's next line, without CRLF. */
  readLine(): Promise<string>;
  /** Starts TLS on the connection as the server (after answering STARTTLS). */
  startTls(): Promise<void>;
  /** Every line the client sent on this connection. */
  readonly received: readonly string[];
  /** Closes the connection. */
  end(): void;
}

export interface ScriptedMailServer {
  readonly host: string;
  readonly port: number;
  /** The lines each connection received, in connection order. */
  readonly conversations: (readonly string[])[];
  /** Scripts that threw (an unexpected client line), to assert none did. */
  readonly failures: unknown[];
  close(): Promise<void>;
}

export interface ScriptedMailServerOptions {
  /** Certificate and key (PEM) for implicit TLS and STARTTLS. */
  readonly certificate?: { readonly certificatePem: string; readonly keyPem: string };
  /** TLS from the first byte (993, 995, 465). */
  readonly implicitTls?: boolean;
}

export async function startScriptedMailServer(
  script: (conversation: Conversation) => Promise<void> | void,
  options: ScriptedMailServerOptions = {},
): Promise<ScriptedMailServer> {
  const secureContext: SecureContext | undefined =
    options.certificate === undefined ? undefined : createSecureContext({ cert: options.certificate.certificatePem, key: options.certificate.keyPem });
  const conversations: string[][] = [];
  const failures: unknown[] = [];
  const sockets = new Set<Socket>();

  const server: Server = createServer((raw) => {
    sockets.add(raw);
    raw.on('close', () => sockets.delete(raw));
    raw.on('error', () => undefined);
    const received: string[] = [];
    conversations.push(received);
    void (async () => {
      const conversation = lineConversation(raw, received, secureContext);
      if (options.implicitTls === true) await conversation.startTls();
      await script(conversation);
    })().catch((error: unknown) => {
      failures.push(error);
      raw.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: '127.0.0.1',
    port: (server.address() as AddressInfo).port,
    conversations,
    failures,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function lineConversation(raw: Socket, received: string[], secureContext: SecureContext | undefined): Conversation {
  let socket: Socket = raw;
  let buffer = '';
  let wake: (() => void) | undefined;
  let ended = false;
  const onData = (chunk: Buffer): void => {
    buffer += chunk.toString('utf8');
    wake?.();
  };
  const onEnd = (): void => {
    ended = true;
    wake?.();
  };
  const attach = (target: Socket): void => {
    target.on('data', onData);
    target.on('close', onEnd);
    target.on('error', onEnd);
  };
  attach(raw);
  return {
    received,
    send(...lines) {
      socket.write(lines.map((line) => `${line}\r\n`).join(''));
    },
    async readLine() {
      for (;;) {
        const end = buffer.indexOf('\r\n');
        if (end >= 0) {
          const line = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          received.push(line);
          return line;
        }
        if (ended) throw new Error(`client closed the connection; received so far:\n${received.join('\n')}`);
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
    async startTls() {
      if (secureContext === undefined) throw new Error('the scripted server has no certificate');
      raw.off('data', onData);
      raw.off('close', onEnd);
      raw.off('error', onEnd);
      buffer = '';
      const secure = new TLSSocket(raw, { isServer: true, secureContext });
      attach(secure);
      await new Promise<void>((resolve, reject) => {
        secure.once('secure', resolve);
        secure.once('error', reject);
      });
      socket = secure;
    },
    end() {
      socket.end();
    },
  };
}
