// openid-client failures as BrokerErrors: server answers classified on their
// OAuth error, our transport's BrokerError unwrapped from openid-client's
// wrapping, and non-OAuth answers told apart by status.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthorizationResponseError, ClientError, ResponseBodyError, WWWAuthenticateChallengeError } from 'openid-client';
import { brokerErrorIn, fromOpenIdClientError } from '../../src/broker/grants/oidc/errors.js';
import { BrokerError } from '../../src/errors/index.js';

const context = { mailbox: 'acme-imap', authorizationServer: 'acme', grantType: 'client-credentials' };

/** As openid-client builds them (its typings leave `code` out of the constructor options). */
const clientError = (message: string, code: string, cause?: unknown): ClientError => new ClientError(message, { cause, code } as ErrorOptions);

describe('fromOpenIdClientError', () => {
  test('our transport error inside openid-client\'s "something went wrong" comes out as it was', async () => {
    const transport = new BrokerError('mailbox acme-imap: proxy corp refused our credentials (HTTP 407).', { code: 'proxy_auth_failed', permanent: true });
    const wrapped = new ClientError('something went wrong', { cause: transport });
    assert.equal(brokerErrorIn(wrapped), transport);
    assert.equal(await fromOpenIdClientError(wrapped, context), transport);
  });

  test('an OAuth error body goes through the classifier with status and description', async () => {
    const error = new ResponseBodyError('server responded with an error in the response body', {
      cause: { error: 'invalid_client', error_description: 'Invalid client credentials' },
      response: new Response('', { status: 401 }),
    });
    const mapped = await fromOpenIdClientError(error, context);
    assert.equal(mapped.code, 'invalid_client');
    assert.deepEqual(mapped.oauth, { error: 'invalid_client', errorDescription: 'Invalid client credentials', httpStatus: 401, aadsts: undefined });
    assert.equal(mapped.message, 'mailbox acme-imap: authorization server acme refused the client-credentials token request: Invalid client credentials');
  });

  test('an error in the redirect (user declined) means authorize again', async () => {
    const error = new AuthorizationResponseError('authorization response from the server is an error', { cause: new URLSearchParams({ error: 'access_denied', error_description: 'The user denied access' }) });
    const mapped = await fromOpenIdClientError(error, { ...context, grantType: 'authorization-code' });
    assert.equal(mapped.code, 'needs_authorization');
    assert.match(mapped.remediation ?? '', /token-broker authorize acme-imap/);
  });

  test('a 401 with WWW-Authenticate: the OAuth error is read from the unread body', async () => {
    const response = new Response(JSON.stringify({ error: 'invalid_client', error_description: 'bad secret' }), { status: 401, headers: { 'www-authenticate': 'Basic realm="acme"' } });
    const error = new WWWAuthenticateChallengeError('server responded with a challenge', { cause: [{ scheme: 'basic', parameters: { realm: 'acme' } }], response });
    const mapped = await fromOpenIdClientError(error, context);
    assert.equal(mapped.code, 'invalid_client');
    assert.equal(mapped.oauth?.errorDescription, 'bad secret');
    assert.equal(mapped.oauth?.httpStatus, 401);
  });

  // An answer that is no OAuth answer needs no person yet, whatever its status: retried with backoff (issue 12).
  const nonOAuth: [number, boolean][] = [
    [502, false],
    [503, false],
    [404, false],
  ];
  for (const [status, permanent] of nonOAuth) {
    test(`HTTP ${status} without an OAuth error: authorization_server_error, permanent=${String(permanent)}`, async () => {
      const error = clientError('unexpected HTTP response status code', 'OAUTH_RESPONSE_IS_NOT_CONFORM', new Response('<html>', { status }));
      const mapped = await fromOpenIdClientError(error, context);
      assert.equal(mapped.code, 'authorization_server_error');
      assert.equal(mapped.permanent, permanent);
      assert.match(mapped.message, new RegExp(`HTTP ${status} and no OAuth error`));
    });
  }

  test('a 429 with an OAuth body and Retry-After: throttled, whatever the body says, with the wait', async () => {
    const response = new Response('', { status: 429, headers: { 'retry-after': '7' } });
    const error = new ResponseBodyError('server responded with an error in the response body', { cause: { error: 'invalid_grant', error_description: 'Rate Limit Exceeded' }, response });
    const mapped = await fromOpenIdClientError(error, context, undefined, Date.UTC(2026, 0, 1));
    assert.deepEqual([mapped.code, mapped.permanent, mapped.retryAfterMs, mapped.oauth?.httpStatus, mapped.oauth?.error], ['throttled', false, 7_000, 429, 'invalid_grant']);
    assert.equal(mapped.message, 'mailbox acme-imap: authorization server acme throttled the client-credentials token request (HTTP 429, Retry-After 7 s): Rate Limit Exceeded');
    assert.match(mapped.remediation ?? '', /^The broker waits as the server asked \(7 s\), then retries\. If throttling recurs, .*refresh\.maxConcurrentPerServer/);
  });

  test('a 429 that is not JSON (oauth4webapi leaves it unread): throttled, Retry-After as an HTTP-date', async () => {
    const now = Date.UTC(2026, 0, 1, 12, 0, 0);
    const response = new Response('<html>slow down</html>', { status: 429, headers: { 'retry-after': 'Thu, 01 Jan 2026 12:01:30 GMT', 'content-type': 'text/html' } });
    const mapped = await fromOpenIdClientError(clientError('unexpected response content-type', 'OAUTH_RESPONSE_IS_NOT_JSON', response), context, undefined, now);
    assert.deepEqual([mapped.code, mapped.retryAfterMs, mapped.oauth?.httpStatus], ['throttled', 90_000, 429]);
    assert.match(mapped.message, /\(HTTP 429, Retry-After 90 s\): Too Many Requests$/);
  });

  test('a 503 with Retry-After is throttled and reads the OAuth error from the unread body', async () => {
    const response = new Response(JSON.stringify({ error: 'internal_failure' }), { status: 503, headers: { 'retry-after': '30', 'content-type': 'application/json' } });
    const mapped = await fromOpenIdClientError(clientError('unexpected HTTP response status code', 'OAUTH_RESPONSE_IS_NOT_CONFORM', response), context);
    assert.deepEqual([mapped.code, mapped.permanent, mapped.retryAfterMs, mapped.oauth?.error], ['throttled', false, 30_000, 'internal_failure']);
    assert.match(mapped.message, /acme is unavailable for the client-credentials token request \(HTTP 503, Retry-After 30 s\): internal_failure$/);
  });

  test('a 503 without Retry-After is an outage, not throttling: authorization_server_error, transient, no wait', async () => {
    const response = new Response(JSON.stringify({ error: 'internal_failure' }), { status: 503, headers: { 'content-type': 'application/json' } });
    const mapped = await fromOpenIdClientError(clientError('unexpected HTTP response status code', 'OAUTH_RESPONSE_IS_NOT_CONFORM', response), context);
    assert.deepEqual([mapped.code, mapped.permanent, mapped.retryAfterMs, mapped.oauth?.httpStatus, mapped.oauth?.error], ['authorization_server_error', false, undefined, 503, 'internal_failure']);
  });

  test('a garbage Retry-After is ignored: a 503 with one stays an outage, a 429 stays throttled without a wait', async () => {
    const answer = (status: number): ClientError =>
      clientError('unexpected HTTP response status code', 'OAUTH_RESPONSE_IS_NOT_CONFORM', new Response('', { status, headers: { 'retry-after': 'soon' } }));
    const outage = await fromOpenIdClientError(answer(503), context);
    assert.deepEqual([outage.code, outage.retryAfterMs], ['authorization_server_error', undefined]);
    const throttled = await fromOpenIdClientError(answer(429), context);
    assert.deepEqual([throttled.code, throttled.retryAfterMs], ['throttled', undefined]);
    assert.match(throttled.remediation ?? '', /^The broker backs off and retries\./);
  });

  test('a transient error answer keeps its Retry-After; a permanent one does not need it', async () => {
    const response = (status: number): Response => new Response('', { status, headers: { 'retry-after': '12' } });
    const busy = new ResponseBodyError('error body', { cause: { error: 'temporarily_unavailable' }, response: response(400) });
    assert.deepEqual(await fromOpenIdClientError(busy, context).then((e) => [e.code, e.permanent, e.retryAfterMs]), ['authorization_server_error', false, 12_000]);
    const refused = new ResponseBodyError('error body', { cause: { error: 'invalid_client' }, response: response(401) });
    assert.deepEqual(await fromOpenIdClientError(refused, context).then((e) => [e.code, e.permanent, e.retryAfterMs]), ['invalid_client', true, undefined]);
  });

  test('openid-client\'s own timeout', async () => {
    const mapped = await fromOpenIdClientError(clientError('operation timed out', 'OAUTH_TIMEOUT'), context);
    assert.equal(mapped.code, 'timeout');
    assert.equal(mapped.permanent, false);
  });

  test('an ID token from another issuer names the issuer to configure', async () => {
    const inner = new Error('unexpected JWT "iss" (issuer) claim value', { cause: { expected: 'http://localhost:1/token', claims: { iss: 'http://localhost:1' }, claim: 'iss' } });
    const mapped = await fromOpenIdClientError(clientError('unexpected JWT claim value encountered', 'OAUTH_JWT_CLAIM_COMPARISON_FAILED', inner), context);
    assert.equal(mapped.code, 'config_invalid');
    assert.match(mapped.remediation ?? '', /^Set authorizationServers\.acme\.issuer to http:\/\/localhost:1,/);
  });

  test('a malformed success answer: the library\'s reason, retried', async () => {
    const inner = new Error('"response" body "access_token" property must be a string');
    const mapped = await fromOpenIdClientError(clientError('invalid response encountered', 'OAUTH_INVALID_RESPONSE', inner), context);
    assert.equal(mapped.code, 'authorization_server_error');
    assert.equal(mapped.permanent, false);
    assert.match(mapped.message, /does not follow OAuth 2\.0: invalid response encountered \("response" body "access_token" property must be a string\)$/);
  });

  test('an endpoint the server lacks (thrown uncoated by buildAuthorizationUrl) names the setting', async () => {
    const missing = Object.assign(new Error('authorization server metadata does not contain a valid "as.device_authorization_endpoint"'), { code: 'OAUTH_MISSING_SERVER_METADATA' });
    const mapped = await fromOpenIdClientError(missing, { ...context, grantType: 'device-code' });
    assert.equal(mapped.code, 'config_invalid');
    assert.equal(mapped.permanent, true);
    assert.match(mapped.message, /has no device_authorization_endpoint, neither configured nor in its discovered metadata; grant type device-code needs it\.$/);
    assert.equal(mapped.remediation, 'Set authorizationServers.acme.deviceAuthorizationEndpoint, or use a grant type this server supports.');
  });

  test('anything else is internal, with the original as cause', async () => {
    const original = new RangeError('boom');
    const mapped = await fromOpenIdClientError(original, context);
    assert.equal(mapped.code, 'internal');
    assert.equal(mapped.cause, original);
  });
});
