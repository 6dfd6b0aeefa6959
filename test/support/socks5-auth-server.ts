// A minimal SOCKS5 server (RFC 1928 CONNECT, RFC 1929 username/password) for
// the one case Dante cannot play unprivileged: accepting a username and
// password (Dante checks them against the system's users, and the tests
// create none). It resolves only the names it is given, so a request that
// reached such a name went through it, with the right credentials.
import { connect, createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';

export interface Socks5AuthServerOptions {
  readonly username: string;
  readonly password: string;
  /** Names this server alone resolves, to 127.0.0.1. */
  readonly hostnames: readonly string[];
}

export interface Socks5AuthServer {
  /** socks5://127.0.0.1:PORT */
  readonly url: string;
  /** Targets of accepted CONNECTs, as host:port, with the user that asked. */
  readonly tunnels: { readonly target: string; readonly username: string }[];
  /** Logins refused so far. */
  readonly refusals: number;
  close(): Promise<void>;
}

/** Reads exactly n bytes from a paused-mode queue of chunks. */
class ByteReader {
  #buffer = Buffer.alloc(0);
  #waiting: (() => void) | undefined;
  #ended = false;

  constructor(socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#waiting?.();
    });
    socket.on('close', () => {
      this.#ended = true;
      this.#waiting?.();
    });
  }

  async read(n: number): Promise<Buffer> {
    while (this.#buffer.length < n) {
      if (this.#ended) throw new Error('client went away');
      await new Promise<void>((resolve) => (this.#waiting = resolve));
    }
    const bytes = this.#buffer.subarray(0, n);
    this.#buffer = this.#buffer.subarray(n);
    return bytes;
  }

  /** What arrived after the handshake: the start of the tunnelled bytes. */
  rest(): Buffer {
    return this.#buffer;
  }
}

export async function startSocks5AuthServer(options: Socks5AuthServerOptions): Promise<Socks5AuthServer> {
  const tunnels: { target: string; username: string }[] = [];
  let refusals = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    void serve(client).catch(() => client.destroy());
  });

  async function serve(client: Socket): Promise<void> {
    const reader = new ByteReader(client);
    const [version, methodCount] = await reader.read(2);
    const methods = await reader.read(methodCount ?? 0);
    if (version !== 5 || !methods.includes(0x02)) {
      client.end(Buffer.from([5, 0xff]));
      return;
    }
    client.write(Buffer.from([5, 0x02]));
    const [, userLength] = await reader.read(2);
    const username = (await reader.read(userLength ?? 0)).toString();
    const [passwordLength] = await reader.read(1);
    const password = (await reader.read(passwordLength ?? 0)).toString();
    if (username !== options.username || password !== options.password) {
      refusals++;
      client.end(Buffer.from([1, 1]));
      return;
    }
    client.write(Buffer.from([1, 0]));
    const [, command, , addressType] = await reader.read(4);
    let host: string;
    if (addressType === 3) {
      const [length] = await reader.read(1);
      host = (await reader.read(length ?? 0)).toString();
    } else if (addressType === 1) {
      host = [...(await reader.read(4))].join('.');
    } else {
      await reader.read(16);
      host = '';
    }
    const port = (await reader.read(2)).readUInt16BE(0);
    const reachable = host === '127.0.0.1' || host === 'localhost' || options.hostnames.includes(host);
    if (command !== 1 || !reachable) {
      // 0x04: host unreachable (a name this server does not know).
      client.end(Buffer.from([5, 0x04, 0, 1, 0, 0, 0, 0, 0, 0]));
      return;
    }
    const upstream = connect({ host: '127.0.0.1', port });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    await new Promise<void>((resolve) => upstream.once('connect', () => resolve()));
    tunnels.push({ target: `${host}:${port}`, username });
    client.write(Buffer.from([5, 0, 0, 1, 127, 0, 0, 1, 0, 0]));
    client.removeAllListeners('data');
    const early = reader.rest();
    if (early.length > 0) upstream.write(early);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `socks5://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tunnels,
    get refusals() {
      return refusals;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
