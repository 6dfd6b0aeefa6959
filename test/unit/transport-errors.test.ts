// undici failures turned into BrokerErrors ops can act on.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyTransportError } from '../../src/http/index.js';

function fetchFailed(cause: Error & { code?: string }): TypeError {
  return new TypeError('fetch failed', { cause });
}

function coded(message: string, code: string): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}

describe('classifyTransportError', () => {
  const context = { target: 'login.example:443', mailbox: 'sales', authorizationServer: 'microsoft' };

  test('connection refused is server_unreachable and transient', () => {
    const error = classifyTransportError(fetchFailed(coded('connect ECONNREFUSED 127.0.0.1:443', 'ECONNREFUSED')), context);
    assert.equal(error.code, 'server_unreachable');
    assert.equal(error.permanent, false);
    assert.equal(error.message, 'mailbox sales: cannot reach login.example:443 (ECONNREFUSED).');
  });

  test('an untrusted certificate is tls_untrusted and points to caFile', () => {
    const error = classifyTransportError(fetchFailed(coded('self-signed certificate in certificate chain', 'SELF_SIGNED_CERT_IN_CHAIN')), context);
    assert.equal(error.code, 'tls_untrusted');
    assert.match(error.remediation ?? '', /caFile/);
  });

  test('a 407 from the proxy is proxy_auth_failed, naming the proxy and never a password', () => {
    const error = classifyTransportError(
      fetchFailed(coded('Proxy response (407) !== 200 when HTTP Tunneling', 'UND_ERR_ABORTED')),
      { ...context, proxyName: 'corp', proxyUrl: 'http://proxy.corp:3128' },
    );
    assert.equal(error.code, 'proxy_auth_failed');
    assert.equal(error.message, 'mailbox sales: proxy corp (http://proxy.corp:3128) refused our credentials (HTTP 407).');
    assert.match(error.remediation ?? '', /proxies\.corp\.username/);
  });

  test('a dead proxy is proxy_unreachable', () => {
    const error = classifyTransportError(fetchFailed(coded('connect ECONNREFUSED', 'ECONNREFUSED')), { ...context, proxyName: 'corp', proxyUrl: 'http://p:1' });
    assert.equal(error.code, 'proxy_unreachable');
  });

  test('timeouts are timeout', () => {
    const abort = Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' });
    assert.equal(classifyTransportError(abort, context).code, 'timeout');
    assert.equal(classifyTransportError(fetchFailed(coded('Connect Timeout Error', 'UND_ERR_CONNECT_TIMEOUT')), context).code, 'timeout');
  });
});
