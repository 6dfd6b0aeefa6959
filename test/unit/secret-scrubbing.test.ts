// Text an authorization server or proxy sends back (error_description,
// bodies, library messages) is scrubbed of every secret the broker knows for
// the mailbox, in every encoding a request carries it, and of anything
// shaped like a secret parameter, before it becomes part of a BrokerError.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import type { AuthorizationStart, Grant, GrantState, PendingAuthorization, TokenResult } from '../../src/broker/grants/index.js';
import { withSecretsScrubbed } from '../../src/broker/grants/scrubbed-grant.js';
import { SecretScrubber } from '../../src/broker/grants/secret-scrubber.js';
import { Secret } from '../../src/config/secret.js';
import { BrokerError, redactBrokerError } from '../../src/errors/index.js';
import { testMailbox } from '../support/mailbox.js';

const SECRET = 'Qx8~s3cr3t.value_with-marks+/=&ü (1)';
const REDACTED = '[redacted]';

function formEncoded(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}

/** As oauth4webapi encodes the parts of a Basic header. */
function strictlyEncoded(value: string): string {
  return encodeURIComponent(value)
    .replace(/[-_.!~*'()]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`)
    .replaceAll('%20', '+');
}

describe('SecretScrubber: known secrets in every encoding', () => {
  const scrubber = new SecretScrubber([SECRET]);
  const forms: [string, string][] = [
    ['as is', SECRET],
    ['URL-encoded', encodeURIComponent(SECRET)],
    ['URL-encoded, lower-case hex', encodeURIComponent(SECRET).replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase())],
    ['form-encoded', formEncoded(SECRET)],
    ['form-encoded, all but letters and digits escaped (openid-client\'s Basic header)', strictlyEncoded(SECRET)],
    ['base64', Buffer.from(SECRET).toString('base64')],
    ['base64url', Buffer.from(SECRET).toString('base64url')],
    ['JSON-escaped', JSON.stringify(SECRET).slice(1, -1)],
  ];
  for (const [what, form] of forms) {
    test(`${what}`, () => {
      const scrubbed = scrubber.scrub(`before ${form} after`);
      assert.ok(!scrubbed.includes(form), scrubbed);
      assert.match(scrubbed, /^before .*\[redacted\].* after$/);
    });
  }

  test('inside a longer base64 text at any offset: an HTTP Basic header of id and form-encoded secret', () => {
    for (const id of ['a', 'ab', 'abc', '00000000-0000-0000-0000-000000000002']) {
      for (const encode of [formEncoded, strictlyEncoded]) {
        const credentials = Buffer.from(`${encode(id)}:${encode(SECRET)}`).toString('base64');
        const scrubbed = scrubber.scrub(`(Authorization: Basic ${credentials})`);
        assert.ok(!scrubbed.includes(credentials), `${id}: ${scrubbed}`);
        assert.match(scrubbed, /^\(Authorization: Basic [A-Za-z0-9+/]*\[redacted\][A-Za-z0-9+/=]*\)$/);
      }
    }
  });

  test('several secrets, one of them inside another, and the text around them kept', () => {
    const both = new SecretScrubber(['refresh-token-0123456789', 'token-0123', undefined, '']);
    assert.equal(both.scrub('rt refresh-token-0123456789, then token-0123.'), `rt ${REDACTED}, then ${REDACTED}.`);
  });

  test('a secret too short to find safely is left to the parameter rule', () => {
    const short = new SecretScrubber(['ab']);
    assert.equal(short.scrub('a tab and a cab'), 'a tab and a cab');
    assert.equal(short.scrub('password=ab&x=1'), `password=${REDACTED}&x=1`);
  });
});

describe('SecretScrubber: secret parameters by name, whatever their value', () => {
  const scrubber = new SecretScrubber([]);
  const names = ['client_secret', 'password', 'refresh_token', 'client_assertion', 'code', 'code_verifier', 'access_token', 'assertion'];
  for (const name of names) {
    test(`${name}=... in a form body, URL-encoded, and in JSON`, () => {
      assert.equal(scrubber.scrub(`grant_type=x&${name}=abc%2Bdef~1&scope=openid`), `grant_type=x&${name}=${REDACTED}&scope=openid`);
      assert.equal(scrubber.scrub(`request=grant_type%3Dx%26${name}%3Dabc%252Bdef%26scope%3Dopenid`), `request=grant_type%3Dx%26${name}%3D${REDACTED}%26scope%3Dopenid`);
      assert.equal(scrubber.scrub(`{"${name}": "abc\\"def", "scope":"openid"}`), `{"${name}": "${REDACTED}", "scope":"openid"}`);
      assert.equal(scrubber.scrub(`${name.toUpperCase()}=abc`), `${name.toUpperCase()}=${REDACTED}`);
    });
  }

  test('names that only end like a secret parameter are left alone, and so are the server\'s codes', () => {
    const text = 'AADSTS900144: error_code=50173 grant_type=refresh_token&client_id=abc Trace ID: 1';
    assert.equal(scrubber.scrub(text), text);
  });

  test('a JWT anywhere (an assertion the broker never saw, msal-node signs its own) is scrubbed', () => {
    const jwt = `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from('{"sub":"app"}').toString('base64url')}.c2lnbmF0dXJl_-x`;
    assert.equal(scrubber.scrub(`assertion ${jwt} was refused`), `assertion ${REDACTED} was refused`);
  });
});

describe('redactBrokerError', () => {
  test('every text it carries is redacted, the cause chain included; codes and timings kept', () => {
    const body = new Error(`HTTP 400: {"error_description":"echo client_secret=${SECRET}"}`);
    const cause = Object.assign(new TypeError(`request failed: ${SECRET}`, { cause: body }), { code: 'E_TEST' });
    const error = new BrokerError(`mailbox sales: refused: ${SECRET}`, {
      code: 'invalid_client',
      permanent: true,
      mailbox: 'sales',
      authorizationServer: 'microsoft',
      oauth: { error: 'invalid_client', errorDescription: `AADSTS7000215: bad secret ${SECRET}`, aadsts: '7000215', httpStatus: 401 },
      remediation: `Check ${SECRET}`,
      retryAfterMs: 7_000,
      cause,
    });
    const redacted = redactBrokerError(error, (text) => text.replaceAll(SECRET, REDACTED));
    assert.ok(!inspect(redacted, { depth: Infinity }).includes(SECRET), inspect(redacted, { depth: Infinity }));
    assert.equal(redacted.message, `mailbox sales: refused: ${REDACTED}`);
    assert.equal(redacted.remediation, `Check ${REDACTED}`);
    assert.deepEqual(redacted.oauth, { error: 'invalid_client', errorDescription: `AADSTS7000215: bad secret ${REDACTED}`, aadsts: '7000215', httpStatus: 401 });
    assert.deepEqual([redacted.code, redacted.permanent, redacted.mailbox, redacted.authorizationServer, redacted.retryAfterMs, redacted.displayCode], ['invalid_client', true, 'sales', 'microsoft', 7_000, 'AADSTS7000215']);
    const redactedCause = redacted.cause as Error & { code?: string; cause?: Error };
    assert.deepEqual([redactedCause.name, redactedCause.message, redactedCause.code], ['TypeError', `request failed: ${REDACTED}`, 'E_TEST']);
    assert.equal(redactedCause.cause?.message, `HTTP 400: {"error_description":"echo client_secret=${REDACTED}"}`);
  });
});

describe('withSecretsScrubbed: every grant failure, whichever call', () => {
  const mailbox = testMailbox({
    grantType: 'authorization-code',
    clientSecret: new Secret('client-secret-0123456789', 'mailboxes.sales.clientSecret'),
    password: new Secret('password-0123456789', 'mailboxes.sales.password'),
    proxy: { name: 'corp', url: 'http://proxy.corp:3128', username: 'svc', password: new Secret('proxy-password-0123', 'proxies.corp.password') },
  });
  const echo = (texts: readonly string[]): BrokerError =>
    new BrokerError(`mailbox sales: the server said: ${texts.join(' ')}`, { code: 'authorization_server_error', mailbox: 'sales', oauth: { error: 'invalid_request', errorDescription: texts.join(' '), aadsts: '900144' } });

  /** A grant whose every call fails with `fail` (given what the call knew); device-code completion included. */
  function failingGrant(fail: (known: readonly string[]) => Error): Grant {
    return {
      type: 'authorization-code',
      interactive: true,
      acquire: (state: GrantState): Promise<TokenResult> => Promise.reject(fail([state.refreshToken ?? ''])),
      startAuthorization: (): Promise<AuthorizationStart> =>
        Promise.resolve({ kind: 'device-code', userCode: 'ABCD-EFGH', verificationUri: 'https://example/device', expiresAt: 0, completion: Promise.reject(fail(['device_code=dc-0123456789'])), cancel: () => undefined }),
      completeAuthorization: (pending: PendingAuthorization, callbackUrl: URL): Promise<TokenResult> => Promise.reject(fail([pending.codeVerifier, callbackUrl.searchParams.get('code') ?? ''])),
    };
  }

  async function shown(promise: Promise<unknown>): Promise<string> {
    const error = await promise.then(() => assert.fail('expected a rejection'), (thrown: unknown) => thrown);
    assert.ok(error instanceof BrokerError, String(error));
    return `${error.describe()}\n${inspect(error, { depth: Infinity })}`;
  }

  const configured = ['client-secret-0123456789', 'password-0123456789', 'proxy-password-0123'];

  test('acquire: the configured secrets and the refresh token handed in', async () => {
    const grant = withSecretsScrubbed(failingGrant((known) => echo([...configured, ...known])), mailbox);
    const text = await shown(grant.acquire({ refreshToken: 'refresh-token-0123456789' }));
    for (const secret of [...configured, 'refresh-token-0123456789']) assert.ok(!text.includes(secret), `${secret} in ${text}`);
    assert.match(text, /AADSTS900144|invalid_request/);
  });

  test('completeAuthorization: the PKCE verifier and the code of the redirect', async () => {
    const grant = withSecretsScrubbed(failingGrant((known) => echo(known)), mailbox);
    const pending = { state: 'st', codeVerifier: 'verifier-0123456789-abcdef', redirectUri: 'https://broker.example/cb', expiresAt: 0 };
    const completing = grant.completeAuthorization?.(pending, new URL('https://broker.example/cb?code=the-code-0123456789&state=st'));
    assert.ok(completing !== undefined);
    const text = await shown(completing);
    for (const secret of ['verifier-0123456789-abcdef', 'the-code-0123456789']) assert.ok(!text.includes(secret), `${secret} in ${text}`);
  });

  test('device-code completion: a device_code parameter', async () => {
    const grant = withSecretsScrubbed(failingGrant((known) => echo(known)), mailbox);
    const start = await grant.startAuthorization?.();
    assert.ok(start?.kind === 'device-code');
    const text = await shown(start.completion);
    assert.ok(!text.includes('dc-0123456789'), text);
  });

  test('a failure that is no BrokerError becomes one, scrubbed, with the mailbox named', async () => {
    const grant = withSecretsScrubbed(failingGrant(() => new Error('library says client-secret-0123456789')), mailbox);
    const text = await shown(grant.acquire({}));
    assert.ok(!text.includes('client-secret-0123456789'), text);
    assert.match(text, /^mailbox sales: /);
  });

  test('what the grant returns is untouched, and type and interactivity are the grant\'s', async () => {
    const token: TokenResult = { accessToken: 'client-secret-0123456789', tokenType: 'Bearer', expiresAt: 1, scopes: [] };
    const grant = withSecretsScrubbed({ type: 'client-credentials', interactive: false, acquire: () => Promise.resolve(token) }, mailbox);
    assert.equal(await grant.acquire({}), token);
    assert.deepEqual([grant.type, grant.interactive, 'startAuthorization' in grant, 'completeAuthorization' in grant], ['client-credentials', false, false, false]);
  });
});
