// Which failures are permanent (a person must act: the pause is an hour)
// and which are transient (backoff, seconds): the rule, table by table, for
// what undici throws, what msal-node and openid-client make of it, and what
// a server answers. Only a refusal someone must act on is permanent; the
// transport, TLS, and any answer that is no OAuth answer are transient.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthError, ClientAuthError } from '@azure/msal-node';
import { ClientError } from 'openid-client';
import { fromMsalError } from '../../src/broker/grants/msal/errors.js';
import { MsalNetworkClient } from '../../src/broker/grants/msal/network-client.js';
import { classifyOAuthError } from '../../src/broker/grants/oauth-errors.js';
import { fromOpenIdClientError } from '../../src/broker/grants/oidc/errors.js';
import { HttpTransport } from '../../src/http/index.js';
import type { HttpRequest, HttpResponse, RouteOptions } from '../../src/http/index.js';
import { classifyTransportError } from '../../src/http/index.js';
import { ManualClock } from '../../src/time/index.js';

const where = { target: 'login.example:443', mailbox: 'sales', authorizationServer: 'microsoft' };
const context = { mailbox: 'sales', authorizationServer: 'microsoft', grantType: 'client-credentials' };

function coded(message: string, code: string, fields: object = {}): Error {
  return Object.assign(new Error(message), { code }, fields);
}

/** What undici's fetch throws: a generic TypeError with the reason as its cause. */
function fetchFailed(cause: Error, message = 'fetch failed'): TypeError {
  return new TypeError(message, { cause });
}

/** undici's SocketError for a connection the other side closed, with the bytes it had moved. */
function otherSideClosed(bytesWritten: number, bytesRead: number): Error {
  return Object.assign(new Error('other side closed'), { name: 'SocketError', code: 'UND_ERR_SOCKET', socket: { bytesWritten, bytesRead } });
}

describe('TLS failures are transient', () => {
  for (const code of ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID']) {
    test(`${code}: tls_untrusted, retried with backoff, caFile named`, () => {
      const error = classifyTransportError(fetchFailed(coded('certificate problem', code)), where);
      assert.deepEqual([error.code, error.permanent], ['tls_untrusted', false]);
      assert.match(error.remediation ?? '', /caFile/);
    });
  }
});

describe('transport failures are named for what happened, and transient', () => {
  const cases: { what: string; error: Error; code: string; wording: RegExp }[] = [
    { what: 'connection refused', error: fetchFailed(coded('connect ECONNREFUSED 127.0.0.1:443', 'ECONNREFUSED', { syscall: 'connect' })), code: 'server_unreachable', wording: /^mailbox sales: cannot reach login\.example:443 \(ECONNREFUSED\)\.$/ },
    { what: 'a reset while connecting', error: fetchFailed(coded('connect ECONNRESET 127.0.0.1:443', 'ECONNRESET', { syscall: 'connect' })), code: 'server_unreachable', wording: /cannot reach login\.example:443/ },
    {
      what: 'a close during the TLS handshake',
      error: fetchFailed(coded('Client network socket disconnected before secure TLS connection was established', 'ECONNRESET')),
      code: 'server_unreachable',
      wording: /cannot reach login\.example:443/,
    },
    {
      what: 'a close after the request was sent, before any answer',
      error: fetchFailed(otherSideClosed(240, 0)),
      code: 'authorization_server_error',
      wording: /^mailbox sales: login\.example:443 closed the connection after the request was sent, without answering \(UND_ERR_SOCKET\)\.$/,
    },
    {
      what: 'a reset after the request was sent',
      error: fetchFailed(coded('read ECONNRESET', 'ECONNRESET', { syscall: 'read' })),
      code: 'authorization_server_error',
      wording: /^mailbox sales: login\.example:443 reset the connection after the request was sent, without answering \(ECONNRESET\)\.$/,
    },
    {
      what: 'an answer cut short',
      error: fetchFailed(otherSideClosed(240, 84), 'terminated'),
      code: 'authorization_server_error',
      wording: /^mailbox sales: the answer from login\.example:443 was cut short: the connection closed before all of it arrived \(UND_ERR_SOCKET\)\.$/,
    },
  ];
  for (const entry of cases) {
    test(`${entry.what}: ${entry.code}`, () => {
      const error = classifyTransportError(entry.error, where);
      assert.equal(error.code, entry.code, error.message);
      assert.equal(error.permanent, false);
      assert.match(error.message, entry.wording);
      if (entry.code !== 'server_unreachable') assert.doesNotMatch(error.describe(), /cannot reach|DNS|firewall/);
    });
  }

  test('through a proxy, a close after the request names the proxy too and is not "proxy unreachable"', () => {
    const error = classifyTransportError(fetchFailed(otherSideClosed(240, 0)), { ...where, proxyName: 'corp', proxyUrl: 'http://proxy.corp:3128' });
    assert.deepEqual([error.code, error.permanent], ['authorization_server_error', false]);
    assert.match(error.message, /login\.example:443 \(through proxy corp\) closed the connection after the request was sent/);
  });
});

describe('transport failures a library wrapped in its own words', () => {
  test('msal-node: an AuthError that carries only the text of an untrusted certificate is tls_untrusted, transient', () => {
    const error = fromMsalError(new AuthError('network_error', '', 'request to https://login.example failed, reason: unable to verify the first certificate (UNABLE_TO_VERIFY_LEAF_SIGNATURE)'), context);
    assert.deepEqual([error.code, error.permanent, error.mailbox], ['tls_untrusted', false, 'sales']);
  });

  test('msal-node: its own network_error (the reason lost) is transient and not "internal"', () => {
    const error = fromMsalError(new ClientAuthError('network_error', ''), context);
    assert.equal(error.permanent, false);
    assert.equal(error.code, 'server_unreachable');
  });

  test('openid-client: a fetch failure that is not ours, wrapped in "something went wrong", is classified by its cause', async () => {
    const wrapped = new ClientError('something went wrong', { cause: fetchFailed(coded('self-signed certificate in certificate chain', 'SELF_SIGNED_CERT_IN_CHAIN')) });
    const error = await fromOpenIdClientError(wrapped, context);
    assert.deepEqual([error.code, error.permanent, error.mailbox], ['tls_untrusted', false, 'sales']);
  });
});

describe('answers that are no OAuth answer are transient', () => {
  /** As openid-client builds them (its typings leave `code` out of the constructor options). */
  const clientError = (message: string, code: string, cause?: unknown): ClientError => new ClientError(message, { cause, code } as ErrorOptions);
  const html = (status: number): Response => new Response('<html><body>Down for maintenance</body></html>', { status, headers: { 'content-type': 'text/html' } });

  const openIdCases: [string, ClientError][] = [
    ['a 200 HTML page (OAUTH_RESPONSE_IS_NOT_JSON)', clientError('unexpected response content-type', 'OAUTH_RESPONSE_IS_NOT_JSON', html(200))],
    ['a 400 HTML page (OAUTH_RESPONSE_IS_NOT_CONFORM)', clientError('unexpected HTTP response status code', 'OAUTH_RESPONSE_IS_NOT_CONFORM', html(400))],
    ['a 404 HTML page (OAUTH_RESPONSE_IS_NOT_CONFORM)', clientError('unexpected HTTP response status code', 'OAUTH_RESPONSE_IS_NOT_CONFORM', html(404))],
    ['a garbled JSON body (OAUTH_PARSE_ERROR)', clientError('parsing error occured', 'OAUTH_PARSE_ERROR', new SyntaxError('Unexpected end of JSON input'))],
    ['a JSON answer without access_token (OAUTH_INVALID_RESPONSE)', clientError('invalid response encountered', 'OAUTH_INVALID_RESPONSE')],
  ];
  for (const [what, error] of openIdCases) {
    test(`openid-client, ${what}: authorization_server_error, transient`, async () => {
      const mapped = await fromOpenIdClientError(error, context);
      assert.deepEqual([mapped.code, mapped.permanent], ['authorization_server_error', false], mapped.describe());
      assert.match(mapped.describe(), /retries/);
    });
  }

  class AnsweringTransport extends HttpTransport {
    constructor(readonly answer: HttpResponse) {
      super();
    }
    override send(_request: HttpRequest, _route: RouteOptions): Promise<HttpResponse> {
      return Promise.resolve(this.answer);
    }
  }
  for (const status of [200, 400, 404]) {
    test(`msal-node, a ${status} HTML page: authorization_server_error (the server was reached), transient`, async () => {
      const client = new MsalNetworkClient(new AnsweringTransport({ status, headers: { 'content-type': 'text/html' }, body: '<html>maintenance</html>' }), { mailbox: 'sales', authorizationServer: 'microsoft' }, new ManualClock());
      const thrown = await client.sendPostRequestAsync('https://login.example/tenant/oauth2/v2.0/token', { body: 'grant_type=client_credentials' }).then(
        () => assert.fail('expected a rejection'),
        (error: unknown) => error,
      );
      const mapped = fromMsalError(thrown, context);
      assert.deepEqual([mapped.code, mapped.permanent], ['authorization_server_error', false], mapped.describe());
      assert.match(mapped.message, new RegExp(`answered HTTP ${status} with a body that is not JSON`));
    });
  }
});

describe('server refusals: permanent only when a person must act', () => {
  const permanent: [string, number][] = [
    ['invalid_grant', 400],
    ['invalid_client', 401],
    ['unauthorized_client', 400],
    ['invalid_request', 400],
    ['invalid_scope', 400],
    ['unsupported_grant_type', 400],
    ['consent_required', 400],
    ['interaction_required', 400],
    ['login_required', 400],
    ['access_denied', 400],
  ];
  for (const [error, status] of permanent) {
    test(`${error}: permanent`, () => {
      const mapped = classifyOAuthError({ error, errorDescription: 'refused', httpStatus: status }, context);
      assert.equal(mapped.permanent, true, mapped.describe());
    });
  }

  const transient: [string, number | undefined][] = [
    ['server_error', 500],
    ['temporarily_unavailable', 503],
    ['an_error_nobody_documented', 400],
    ['server_error', 400],
    ['an_error_nobody_documented', undefined],
  ];
  for (const [error, status] of transient) {
    test(`${error} (HTTP ${String(status)}): transient`, () => {
      const mapped = classifyOAuthError({ error, errorDescription: 'odd', httpStatus: status }, context);
      assert.deepEqual([mapped.code, mapped.permanent], ['authorization_server_error', false], mapped.describe());
      assert.match(mapped.describe(), /retries/);
    });
  }
});
