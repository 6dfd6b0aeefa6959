// Stands in for the operator's browser: asks the sandbox's authorize
// endpoint (which signs the user in without a UI) and returns where it
// redirects, trusting the sandbox CA as a browser would trust Entra.
import { createServer } from 'node:net';
import { Agent, fetch } from 'undici';

export async function signInRedirect(authorizationUrl: string, caCertificatePem: string): Promise<string> {
  const dispatcher = new Agent({ connect: { ca: caCertificatePem } });
  try {
    const response = await fetch(authorizationUrl, { redirect: 'manual', dispatcher });
    const location = response.headers.get('location');
    await response.text();
    if (response.status !== 302 || location === null) {
      throw new Error(`expected a 302 from the authorize endpoint, got ${response.status}`);
    }
    return location;
  } finally {
    await dispatcher.close();
  }
}

/** A TCP port free right now on 127.0.0.1 (for a loopback redirect URI). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
