// The HTTP seam's connections, against real HTTPS servers started here with
// certificates from throwaway CAs: one TLS context per trust configuration
// however many connections, the extra CA trusted and no other, idle
// connections kept across a sweep interval (undici's clock advanced, no
// sleep), and a bounded number of connections per origin.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import tls from 'node:tls';
import { Agent, fetch as undiciFetch } from 'undici';
import { HttpTransport } from '../../src/http/index.js';
import type { RouteOptions } from '../../src/http/index.js';
import { makeAuthority } from '../support/pki.js';
import type { IssuedCertificate } from '../support/pki.js';

/** Longer than the longest sweep interval (59 s) and than undici's default keep-alive (4 s). */
const IDLE_GAP_MS = 60_000;

interface CountingServer {
  readonly url: string;
  /** TCP connections accepted. */
  connections: number;
  /** TLS handshakes completed. */
  handshakes: number;
  /** `/hold` answers wait until this many are waiting (or `holdTotal` have come). */
  holdBatch: number;
  holdTotal: number;
  close(): Promise<void>;
}

async function startCountingServer(certificate: IssuedCertificate): Promise<CountingServer> {
  const held: (() => void)[] = [];
  let heldSeen = 0;
  const server: Server = createServer({ key: certificate.keyPem, cert: certificate.certificatePem }, (request, response) => {
    const answer = (): void => {
      response.setHeader('content-type', 'application/json');
      response.end('{"ok":true}');
    };
    if (request.url === '/close') {
      // Every request on a fresh connection, as before this change between two sweeps.
      response.setHeader('connection', 'close');
      answer();
    } else if (request.url === '/hold') {
      held.push(answer);
      heldSeen++;
      if (held.length >= state.holdBatch || heldSeen === state.holdTotal) for (const release of held.splice(0)) release();
    } else {
      answer();
    }
  });
  // No `Keep-Alive: timeout=5` header: the client's own keep-alive setting decides, and the server never closes idle connections.
  server.keepAliveTimeout = 0;
  server.on('connection', () => state.connections++);
  server.on('secureConnection', () => state.handshakes++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const state: CountingServer = {
    url: `https://127.0.0.1:${port}`,
    connections: 0,
    handshakes: 0,
    holdBatch: Number.POSITIVE_INFINITY,
    holdTotal: Number.POSITIVE_INFINITY,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return state;
}

describe('HttpTransport connections', () => {
  const extraCa = makeAuthority('extra CA of a caFile');
  const otherCa = makeAuthority('some other CA');
  let trustedServer: CountingServer;
  let otherServer: CountingServer;
  const trusted: RouteOptions = { caCertificates: [extraCa.certificatePem], mailbox: 'sales', authorizationServer: 'private' };

  before(async () => {
    trustedServer = await startCountingServer(extraCa.issueServer());
    otherServer = await startCountingServer(otherCa.issueServer());
  });

  after(async () => {
    await trustedServer.close();
    await otherServer.close();
  });

  test('one TLS context per trust configuration, however many connections', async (t) => {
    const contexts = t.mock.method(tls, 'createSecureContext');
    const transport = new HttpTransport();
    t.after(() => transport.close());
    const handshakes = trustedServer.handshakes;
    for (const mailbox of ['a', 'b', 'c', 'd', 'e']) {
      const response = await transport.send({ method: 'GET', url: `${trustedServer.url}/close` }, { ...trusted, mailbox });
      assert.equal(response.status, 200);
    }
    assert.equal(trustedServer.handshakes - handshakes, 5, 'each request on a fresh TLS connection');
    assert.equal(contexts.mock.callCount(), 1, 'one context for five connections with the same CAs');
    // tls.connect got the context: made with the system roots and the extra CA, not per connection.
    assert.equal(contexts.mock.calls[0]?.arguments[0]?.ca?.length, tls.rootCertificates.length + 1);

    const other: RouteOptions = { caCertificates: [otherCa.certificatePem] };
    await transport.send({ method: 'GET', url: `${otherServer.url}/close` }, other);
    await transport.send({ method: 'GET', url: `${otherServer.url}/close` }, other);
    assert.equal(contexts.mock.callCount(), 2, 'a second CA set is a second trust configuration, built once');
  });

  test('a certificate from the extra CA is trusted, one from another CA is refused', async (t) => {
    const transport = new HttpTransport();
    t.after(() => transport.close());
    const response = await transport.send({ method: 'GET', url: `${trustedServer.url}/` }, trusted);
    assert.equal(response.status, 200);
    await assert.rejects(transport.send({ method: 'GET', url: `${otherServer.url}/` }, trusted), { code: 'tls_untrusted' });
    // The system roots alone trust neither.
    await assert.rejects(transport.send({ method: 'GET', url: `${trustedServer.url}/` }, {}), { code: 'tls_untrusted' });
  });

  test('an idle connection outlives a sweep interval', async (t) => {
    // undici's keep-alive timer is a plain setTimeout: advance it instead of waiting.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const idleGap = async (): Promise<void> => {
      // undici arms the idle timer once the answer is read, a turn after the caller has it.
      await nextTurn();
      t.mock.timers.tick(IDLE_GAP_MS);
      // A connection whose timer fired is destroyed on the next turn.
      await nextTurn();
      await nextTurn();
    };

    // Control: undici's defaults drop the connection within the gap, so the clock does reach the timer.
    const defaults = new Agent({ connect: { ca: extraCa.certificatePem } });
    t.after(() => defaults.close());
    let connections = trustedServer.connections;
    await (await undiciFetch(`${trustedServer.url}/`, { dispatcher: defaults })).text();
    await idleGap();
    await (await undiciFetch(`${trustedServer.url}/`, { dispatcher: defaults })).text();
    assert.equal(trustedServer.connections - connections, 2, 'undici defaults: a new connection after the gap');

    const transport = new HttpTransport();
    t.after(() => transport.close());
    connections = trustedServer.connections;
    const handshakes = trustedServer.handshakes;
    await transport.send({ method: 'POST', url: `${trustedServer.url}/`, body: 'grant_type=refresh_token' }, trusted);
    await idleGap();
    await transport.send({ method: 'POST', url: `${trustedServer.url}/`, body: 'grant_type=refresh_token' }, trusted);
    assert.equal(trustedServer.connections - connections, 1, 'the second sweep reuses the first one\'s connection');
    assert.equal(trustedServer.handshakes - handshakes, 1);
  });

  test('at most connectionsPerOrigin connections to an origin', async (t) => {
    const transport = new HttpTransport({ connectionsPerOrigin: 2 });
    t.after(() => transport.close());
    trustedServer.holdBatch = 2;
    trustedServer.holdTotal = 6;
    t.after(() => {
      trustedServer.holdBatch = Number.POSITIVE_INFINITY;
      trustedServer.holdTotal = Number.POSITIVE_INFINITY;
    });
    const connections = trustedServer.connections;
    const responses = await Promise.all(
      Array.from({ length: 6 }, () => transport.send({ method: 'GET', url: `${trustedServer.url}/hold` }, trusted)),
    );
    assert.deepEqual(responses.map((response) => response.status), [200, 200, 200, 200, 200, 200]);
    assert.equal(trustedServer.connections - connections, 2, 'six requests at once share two connections');
  });

  test('connectionsPerOrigin must be a positive integer', () => {
    assert.throws(() => new HttpTransport({ connectionsPerOrigin: 0 }), { name: 'RangeError', message: 'connectionsPerOrigin must be a positive integer, got 0' });
  });
});
