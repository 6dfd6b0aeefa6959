// Stands in for the operator's browser: asks the sandbox's authorize
// endpoint (which signs the user in without a UI) and returns where it
// redirects, trusting the sandbox CA as a browser would trust Entra.
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

export { freePort } from './ports.js';
