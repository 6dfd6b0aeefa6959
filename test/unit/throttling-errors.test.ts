// Throttling and server failures as every grant sees them: the shared
// classifier, msal-node's network seam (which keeps such answers from msal's
// own throttle cache) and discovery through openid-client, each with a fake
// HTTP layer so status, body and Retry-After are exact.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthError } from '@azure/msal-node';
import type { CustomFetch } from 'openid-client';
import { fromMsalError } from '../../src/broker/grants/msal/errors.js';
import { errorAnswerOf, MsalNetworkClient } from '../../src/broker/grants/msal/network-client.js';
import { classifyErrorAnswer, isThrottling } from '../../src/broker/grants/oauth-errors.js';
import { discoverServerMetadata } from '../../src/broker/grants/oidc/discovery.js';
import { BrokerError } from '../../src/errors/index.js';
import { HttpTransport } from '../../src/http/index.js';
import type { HttpRequest, HttpResponse, RouteOptions } from '../../src/http/index.js';
import { ManualClock } from '../../src/time/index.js';

const context = { mailbox: 'sales', authorizationServer: 'microsoft', grantType: 'client-credentials' };
const clock = new ManualClock(Date.UTC(2026, 10, 29, 12, 0, 0));

const entraThrottle = {
  error: 'temporarily_unavailable',
  error_description: 'AADSTS90055: There are too many incoming requests.\r\nTrace ID: 1\r\nCorrelation ID: 2\r\nTimestamp: 2026-11-29 12:00:00Z',
  error_codes: [90055],
};

/** An HttpTransport that answers every request with `answer` and records what was asked. */
class FakeTransport extends HttpTransport {
  readonly requests: HttpRequest[] = [];
  constructor(readonly answer: HttpResponse) {
    super();
  }
  override send(request: HttpRequest, _route: RouteOptions): Promise<HttpResponse> {
    this.requests.push(request);
    return Promise.resolve(this.answer);
  }
}

function networkClient(status: number, headers: Record<string, string>, body: string): MsalNetworkClient {
  return new MsalNetworkClient(new FakeTransport({ status, headers, body }), { mailbox: 'sales', authorizationServer: 'microsoft' }, clock);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => assert.fail('expected a rejection'),
    (error: unknown) => error,
  );
}

describe('isThrottling', () => {
  test('every 429; a 503 only with a Retry-After', () => {
    assert.equal(isThrottling(429, undefined), true);
    assert.equal(isThrottling(429, 7_000), true);
    assert.equal(isThrottling(503, 7_000), true);
    assert.equal(isThrottling(503, 0), true);
    assert.equal(isThrottling(503, undefined), false);
    assert.equal(isThrottling(500, 7_000), false);
    assert.equal(isThrottling(400, 7_000), false);
    assert.equal(isThrottling(undefined, 7_000), false);
  });
});

describe('classifyErrorAnswer', () => {
  test('a 429 names mailbox, server, status, wait and the AADSTS number, with a remediation', () => {
    const error = classifyErrorAnswer({ error: 'temporarily_unavailable', errorDescription: entraThrottle.error_description, httpStatus: 429, retryAfterMs: 7_000 }, context);
    assert.equal(error.code, 'throttled');
    assert.equal(error.permanent, false);
    assert.equal(error.retryAfterMs, 7_000);
    assert.deepEqual(error.oauth, { error: 'temporarily_unavailable', errorDescription: entraThrottle.error_description, httpStatus: 429, aadsts: '90055' });
    assert.equal(error.displayCode, 'AADSTS90055');
    assert.equal(error.mailbox, 'sales');
    assert.equal(error.authorizationServer, 'microsoft');
    assert.equal(error.message, 'mailbox sales: authorization server microsoft throttled the client-credentials token request (HTTP 429, Retry-After 7 s): AADSTS90055: There are too many incoming requests.');
    assert.equal(
      error.remediation,
      'The broker waits as the server asked (7 s), then retries. If throttling recurs, fewer token requests to microsoft help: lower refresh.maxConcurrentPerServer, and look for other programs requesting tokens with the same client id in a loop.',
    );
  });

  test('a long Retry-After is shown in minutes', () => {
    const error = classifyErrorAnswer({ httpStatus: 429, retryAfterMs: 1_800_000 }, context);
    assert.match(error.message, /\(HTTP 429, Retry-After 30 min\): Too Many Requests$/);
  });

  test('a 503 with Retry-After: throttled, worded as unavailability', () => {
    const error = classifyErrorAnswer({ error: 'temporarily_unavailable', errorDescription: 'AADSTS90033: A transient error has occurred.', httpStatus: 503, retryAfterMs: 120_000 }, context);
    assert.deepEqual([error.code, error.permanent, error.retryAfterMs, error.oauth?.aadsts], ['throttled', false, 120_000, '90033']);
    assert.match(error.message, /^mailbox sales: authorization server microsoft is unavailable for the client-credentials token request \(HTTP 503, Retry-After 2 min\): AADSTS90033/);
    assert.equal(error.remediation, 'The broker waits as the server asked (2 min), then retries. If it lasts, check the status page of microsoft.');
  });

  test('a 503 without Retry-After stays authorization_server_error (transient); so does a 500', () => {
    for (const status of [503, 500]) {
      const error = classifyErrorAnswer({ error: 'temporarily_unavailable', httpStatus: status }, context);
      assert.deepEqual([error.code, error.permanent, error.retryAfterMs], ['authorization_server_error', false, undefined], String(status));
    }
  });

  test('a 5xx without an OAuth error says so', () => {
    const error = classifyErrorAnswer({ httpStatus: 502 }, context);
    assert.deepEqual([error.code, error.permanent], ['authorization_server_error', false]);
    assert.equal(error.message, 'mailbox sales: authorization server microsoft answered the client-credentials token request with HTTP 502 and no OAuth error.');
  });

  test('a refusal with Retry-After stays what it is', () => {
    const error = classifyErrorAnswer({ error: 'invalid_client', errorDescription: 'AADSTS7000215: Invalid client secret provided.', httpStatus: 401, retryAfterMs: 5_000 }, context);
    assert.deepEqual([error.code, error.permanent, error.retryAfterMs], ['invalid_client', true, undefined]);
  });
});

describe('msal-node network client', () => {
  test('a 429 never reaches msal: it is carried out with status, OAuth body and Retry-After', async () => {
    const thrown = await rejection(networkClient(429, { 'retry-after': '7' }, JSON.stringify(entraThrottle)).sendPostRequestAsync('https://login.example/t/oauth2/v2.0/token', { body: 'x' }));
    assert.ok(thrown instanceof AuthError, 'msal-common rethrows an AuthError from the network client as is');
    assert.deepEqual(errorAnswerOf(thrown), {
      error: 'temporarily_unavailable',
      errorDescription: entraThrottle.error_description,
      aadsts: '90055',
      httpStatus: 429,
      retryAfterMs: 7_000,
    });
    const error = fromMsalError(thrown, context);
    assert.deepEqual([error.code, error.retryAfterMs, error.oauth?.httpStatus, error.displayCode], ['throttled', 7_000, 429, 'AADSTS90055']);
  });

  test('Retry-After as an HTTP-date is read against the injected clock', async () => {
    const thrown = await rejection(networkClient(503, { 'retry-after': 'Sun, 29 Nov 2026 12:00:45 GMT' }, JSON.stringify(entraThrottle)).sendPostRequestAsync('https://login.example/t/token'));
    assert.equal(errorAnswerOf(thrown)?.retryAfterMs, 45_000);
    assert.equal(fromMsalError(thrown, context).code, 'throttled');
  });

  test('a 5xx (an HTML page from a gateway) is kept from msal too: authorization_server_error, transient', async () => {
    const thrown = await rejection(networkClient(502, {}, '<html>Bad Gateway</html>').sendPostRequestAsync('https://login.example/t/token'));
    assert.deepEqual(errorAnswerOf(thrown), { error: undefined, errorDescription: undefined, aadsts: undefined, httpStatus: 502, retryAfterMs: undefined });
    const error = fromMsalError(thrown, context);
    assert.deepEqual([error.code, error.permanent], ['authorization_server_error', false]);
    assert.match(error.message, /with HTTP 502 and no OAuth error\.$/);
  });

  test('a 4xx with Retry-After (msal would cache it as a throttle) is carried and classified on its body', async () => {
    const body = JSON.stringify({ error: 'invalid_grant', error_description: 'AADSTS50173: The provided grant has expired.', error_codes: [50173] });
    const thrown = await rejection(networkClient(400, { 'retry-after': '60' }, body).sendPostRequestAsync('https://login.example/t/token'));
    const error = fromMsalError(thrown, context);
    assert.deepEqual([error.code, error.permanent, error.oauth?.aadsts], ['needs_authorization', true, '50173']);
  });

  test('other answers go to msal as before', async () => {
    const body = { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' };
    const response = await networkClient(401, {}, JSON.stringify(body)).sendPostRequestAsync('https://login.example/t/token');
    assert.deepEqual(response, { status: 401, headers: {}, body });
  });

  test('transport failures still come out as the BrokerError the transport threw', async () => {
    const failing = new (class extends HttpTransport {
      override send(): Promise<HttpResponse> {
        return Promise.reject(new BrokerError('cannot reach login.example (ECONNREFUSED).', { code: 'server_unreachable' }));
      }
    })();
    const thrown = await rejection(new MsalNetworkClient(failing, {}, clock).sendPostRequestAsync('https://login.example/t/token'));
    assert.equal(errorAnswerOf(thrown), undefined);
    const error = fromMsalError(thrown, context);
    assert.equal(error.code, 'server_unreachable');
    assert.equal(error.message, 'mailbox sales: cannot reach login.example (ECONNREFUSED).');
  });
});

describe('discovery (openid-client)', () => {
  const generic = { mailbox: 'acme-imap', authorizationServer: 'acme', grantType: 'client-credentials' };
  const answering = (response: () => Response): CustomFetch => () => Promise.resolve(response());

  test('a throttled discovery request is throttled, naming the discovery request', async () => {
    const fetch = answering(() => new Response('Too Many Requests', { status: 429, headers: { 'retry-after': '5' } }));
    const error = await rejection(discoverServerMetadata(new URL('https://idp.acme.example'), fetch, generic, clock));
    assert.ok(error instanceof BrokerError);
    assert.deepEqual([error.code, error.permanent, error.retryAfterMs, error.oauth?.httpStatus], ['throttled', false, 5_000, 429]);
    assert.equal(error.message, 'mailbox acme-imap: authorization server acme throttled the discovery request to idp.acme.example (HTTP 429, Retry-After 5 s): Too Many Requests');
  });

  test('a 503 without Retry-After at discovery keeps pointing at the issuer setting', async () => {
    const error = await rejection(discoverServerMetadata(new URL('https://idp.acme.example'), answering(() => new Response('', { status: 503 })), generic, clock));
    assert.ok(error instanceof BrokerError);
    assert.deepEqual([error.code, error.permanent], ['authorization_server_error', false]);
    assert.match(error.remediation ?? '', /authorizationServers\.acme\.issuer/);
  });
});
