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
