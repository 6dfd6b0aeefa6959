// A proxy that wants NTLM or Negotiate (Kerberos) answers our CONNECT with 407
// whatever Basic credentials we send: the broker names the scheme it asked for
// and the workaround (a local authenticating proxy such as cntlm), instead of
// "check the password". A tiny loopback proxy plays that office proxy.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BrokerError } from '../../src/errors/index.js';
import { HttpTransport } from '../../src/http/index.js';

/** Answers every CONNECT with 407 and the challenges of the path it was opened under (/ntlm, /negotiate, /basic). */
function challengingProxy(challenges: readonly string[]): Promise<Server> {
  const server = createServer((_request, response) => response.writeHead(405).end());
  server.on('connect', (request, socket) => {
    const lines = ['HTTP/1.1 407 Proxy Authentication Required', ...challenges.map((challenge) => `Proxy-Authenticate: ${challenge}`), 'Content-Length: 0', '', ''];
    socket.end(lines.join('\r\n'));
    void request;
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const PASSWORD = 'proxy-pw-not-to-be-shown';

describe('a proxy asking for NTLM or Negotiate', () => {
  const servers = new Map<string, Server>();
  const transport = new HttpTransport();

  before(async () => {
    servers.set('ntlm', await challengingProxy(['NTLM']));
    servers.set('negotiate', await challengingProxy(['Negotiate', 'NTLM']));
    servers.set('basic', await challengingProxy(['Basic realm="corp"']));
  });

  after(async () => {
    await transport.close();
    for (const server of servers.values()) await new Promise((resolve) => server.close(resolve));
  });

  async function failureThrough(kind: string): Promise<BrokerError> {
    const server = servers.get(kind);
    assert.ok(server);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const request = transport.send(
      { method: 'GET', url: 'https://login.example.test/tenant/v2.0/.well-known/openid-configuration' },
      { proxy: { name: 'corp', url, username: 'svc', password: { reveal: () => PASSWORD } }, mailbox: 'sales' },
    );
    const error: unknown = await request.then(
      () => assert.fail('the request must fail'),
      (failure: unknown) => failure,
    );
    assert.ok(error instanceof BrokerError, String(error));
    assert.ok(!error.message.includes(PASSWORD) && !(error.remediation ?? '').includes(PASSWORD), 'no password in the error');
    return error;
  }

  test('NTLM: proxy_auth_failed, permanent, naming NTLM and cntlm', async () => {
    const error = await failureThrough('ntlm');
    assert.equal(error.code, 'proxy_auth_failed');
    assert.equal(error.permanent, true);
    assert.match(error.message, /^mailbox sales: proxy corp \(http:\/\/127\.0\.0\.1:\d+\) asks for NTLM authentication \(HTTP 407\); the broker authenticates to HTTP proxies with Basic only\.$/);
    assert.match(error.remediation ?? '', /cntlm/);
    assert.match(error.remediation ?? '', /proxies\.corp\.url/);
  });

  test('Negotiate (with NTLM offered too): both named', async () => {
    const error = await failureThrough('negotiate');
    assert.equal(error.code, 'proxy_auth_failed');
    assert.match(error.message, /asks for Negotiate or NTLM authentication \(HTTP 407\)/);
    assert.match(error.remediation ?? '', /cntlm/);
  });

  test('Basic: still "refused our credentials", pointing at username and password', async () => {
    const error = await failureThrough('basic');
    assert.equal(error.code, 'proxy_auth_failed');
    assert.match(error.message, /proxy corp \(http:\/\/127\.0\.0\.1:\d+\) refused our credentials \(HTTP 407\)/);
    assert.match(error.remediation ?? '', /Check proxies\.corp\.username and password/);
  });
});
