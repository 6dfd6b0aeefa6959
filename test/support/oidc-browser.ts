// The browser of an authorization-code test: opens the authorization URL
// and returns where the server redirects it, which is what an operator
// copies from the address bar and pastes back.
import assert from 'node:assert/strict';
import { Agent, fetch } from 'undici';

export async function followAuthorization(authorizationUrl: string, caCertificatePem?: string): Promise<URL> {
  const dispatcher = new Agent(caCertificatePem === undefined ? {} : { connect: { ca: caCertificatePem } });
  try {
    const response = await fetch(authorizationUrl, { redirect: 'manual', dispatcher });
    const body = await response.text();
    assert.equal(response.status, 302, `authorization endpoint answered ${response.status}: ${body}`);
    const location = response.headers.get('location');
    assert.ok(location !== null, 'redirect has a Location');
    return new URL(location);
  } finally {
    await dispatcher.close();
  }
}
