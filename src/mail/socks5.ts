// A minimal SOCKS5 client (RFC 1928 CONNECT, RFC 1929 username/password) for
// the mail login. undici 7 speaks SOCKS5 only inside its Socks5ProxyAgent,
// whose socket it keeps for HTTP; its Socks5Client is not exported (a deep
// import of lib/core/socks5-client.js would break on any undici update), and
// no other dependency does SOCKS. The handshake is four short messages.
import type { Socket } from 'node:net';
import { isIP } from 'node:net';

/** RFC 1928 section 6 reply codes. */
const REPLIES: Readonly<Record<number, string>> = {
  1: 'general SOCKS server failure',
  2: 'connection not allowed by ruleset',
  3: 'network unreachable',
  4: 'host unreachable',
  5: 'connection refused',
  6: 'TTL expired',
  7: 'command not supported',
  8: 'address type not supported',
};

export class Socks5Refusal extends Error {
  override readonly name = 'Socks5Refusal';
  /** True when the proxy refused our credentials (or wants a method we do not offer). */
  readonly authentication: boolean;
  constructor(message: string, authentication: boolean) {
    super(message);
    this.authentication = authentication;
  }
}

interface Credentials {
  readonly username: string;
  readonly password: string;
}

/**
 * Asks the SOCKS5 server on `socket` (already connected) to connect to
 * host:port. The host name goes to the proxy as a name (as socks5h:// does):
 * an office whose DNS only the proxy sees still works.
 */
export async function socks5Connect(socket: Socket, host: string, port: number, credentials: Credentials | undefined): Promise<void> {
  const read = byteReader(socket);
  try {
    socket.write(Buffer.from(credentials === undefined ? [5, 1, 0x00] : [5, 2, 0x00, 0x02]));
    const [version, method] = await read(2);
    if (version !== 5) throw new Socks5Refusal('the proxy does not speak SOCKS5', false);
    if (method === 0xff) throw new Socks5Refusal(credentials === undefined ? 'the proxy wants a user name and password' : 'the proxy accepts none of our authentication methods', true);
    if (method === 0x02) {
      if (credentials === undefined) throw new Socks5Refusal('the proxy wants a user name and password', true);
      const user = Buffer.from(credentials.username);
      const password = Buffer.from(credentials.password);
      socket.write(Buffer.concat([Buffer.from([1, user.length]), user, Buffer.from([password.length]), password]));
      const [, status] = await read(2);
      if (status !== 0) throw new Socks5Refusal('the proxy refused the user name and password', true);
    } else if (method !== 0x00) {
      throw new Socks5Refusal(`the proxy chose authentication method ${method ?? '?'}, which we did not offer`, true);
    }
    socket.write(Buffer.concat([Buffer.from([5, 1, 0]), address(host), Buffer.from([port >> 8, port & 0xff])]));
    const [, reply, , addressType] = await read(4);
    if (reply !== 0) throw new Socks5Refusal(`the proxy could not connect: ${REPLIES[reply ?? 1] ?? `reply ${reply ?? '?'}`}`, false);
    const addressLength = addressType === 1 ? 4 : addressType === 4 ? 16 : ((await read(1))[0] ?? 0);
    await read(addressLength + 2);
  } finally {
    read.stop();
  }
}

function address(host: string): Buffer {
  const family = isIP(host);
  if (family === 4) return Buffer.from([1, ...host.split('.').map(Number)]);
  if (family === 6) {
    const groups = expandIpv6(host);
    return Buffer.concat([Buffer.from([4]), Buffer.from(groups.flatMap((group) => [group >> 8, group & 0xff]))]);
  }
  const name = Buffer.from(host);
  return Buffer.concat([Buffer.from([3, name.length]), name]);
}

function expandIpv6(host: string): number[] {
  const [head = '', tail] = host.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((group) => parseInt(group, 16));
}

/** Reads exact byte counts off the socket during the handshake, then lets go of it (leftovers are the mail server's, put back). */
function byteReader(socket: Socket): ((count: number) => Promise<Buffer>) & { stop(): void } {
  let buffer = Buffer.alloc(0);
  let wake: (() => void) | undefined;
  let ended: Error | undefined;
  const onData = (chunk: Buffer): void => {
    buffer = Buffer.concat([buffer, chunk]);
    wake?.();
  };
  const onEnd = (): void => {
    ended ??= new Socks5Refusal('the proxy closed the connection during the SOCKS5 handshake', false);
    wake?.();
  };
  const onError = (error: Error): void => {
    ended ??= error;
    wake?.();
  };
  socket.on('data', onData);
  socket.on('close', onEnd);
  socket.on('end', onEnd);
  socket.on('error', onError);
  const read = async (count: number): Promise<Buffer> => {
    while (buffer.length < count) {
      if (ended !== undefined) throw ended;
      await new Promise<void>((resolve) => (wake = resolve));
    }
    const bytes = buffer.subarray(0, count);
    buffer = buffer.subarray(count);
    return bytes;
  };
  return Object.assign(read, {
    stop() {
      socket.off('data', onData);
      socket.off('close', onEnd);
      socket.off('end', onEnd);
      socket.off('error', onError);
      socket.pause();
      if (buffer.length > 0) socket.unshift(buffer);
    },
  });
}
