// A TCP relay in front of the sandbox that a test can turn into a black hole:
// connections are accepted and then never answered (no TLS handshake, no
// byte), as a firewall that drops packets after the SYN or a hung server
// does. Cleared, it forwards new connections to the sandbox again, so the
// test sees the mailbox recover by itself. TLS stays end to end (the sandbox
// certificate names localhost), the relay only moves bytes.
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { once } from 'node:events';

export interface FaultsServerRelay {
  readonly port: number;
  /** Connections swallowed since the black hole opened. */
  readonly swallowed: number;
  /** From now on new connections are never answered; open ones are cut so a kept-alive client must reconnect. */
  blackHole(): void;
  /** From now on new connections reach the sandbox again. */
  forward(): void;
  close(): Promise<void>;
}

export async function startRelay(targetPort: number): Promise<FaultsServerRelay> {
  let mode: 'forward' | 'black-hole' = 'forward';
  let swallowed = 0;
  const forwarded = new Set<Socket>();
  const held = new Set<Socket>();
  const server: Server = createServer((socket) => {
    socket.on('error', () => socket.destroy());
    if (mode === 'black-hole') {
      swallowed += 1;
      held.add(socket);
      socket.on('close', () => held.delete(socket));
      // Read and drop whatever comes (the ClientHello), answer nothing.
      socket.resume();
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    upstream.on('error', () => socket.destroy());
    socket.on('close', () => upstream.destroy());
    upstream.on('close', () => socket.destroy());
    forwarded.add(socket);
    socket.on('close', () => forwarded.delete(socket));
    socket.pipe(upstream).pipe(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the relay has no TCP port');
  return {
    port: address.port,
    get swallowed() {
      return swallowed;
    },
    blackHole() {
      mode = 'black-hole';
      swallowed = 0;
      for (const socket of forwarded) socket.destroy();
    },
    forward() {
      mode = 'forward';
    },
    async close() {
      for (const socket of [...forwarded, ...held]) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
