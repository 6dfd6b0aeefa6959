// TCP ports for tests: one free right now on 127.0.0.1 (bound, read back,
// closed), for servers that need their port up front (a loopback redirect
// URI, squid, redis) or for "nothing listens here".
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A server could not bind the port freePort() gave: another process took it meanwhile. */
export class PortTakenError extends Error {}

/**
 * Runs `start` on a free port, again on a new one (up to `attempts` times)
 * when it throws PortTakenError: between freePort() and the server's bind,
 * another process may take the port.
 */
export async function onFreePort<T>(start: (port: number) => Promise<T>, attempts = 3): Promise<T> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      return await start(await freePort());
    } catch (error) {
      lastError = error;
      if (!(error instanceof PortTakenError)) break;
    }
  }
  throw lastError;
}
