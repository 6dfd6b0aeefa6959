// The authorization URL's parameters and the checks on a pasted redirect URL.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { authorizationParameters, callbackFor, normalizedRedirectUri } from '../../src/broker/grants/oidc/authorization-request.js';
import { BrokerError } from '../../src/errors/index.js';
import { testMailbox } from '../support/mailbox.js';

const input = { redirectUri: 'http://localhost:8400/callback', scopes: ['https://mail.google.com/', 'openid'], state: 'st', codeChallenge: 'ch', loginHint: 'sales@example.com' };

describe('authorizationParameters', () => {
  test('google: offline access and a fresh consent, so a refresh token always comes back', () => {
    assert.deepEqual(authorizationParameters({ ...input, google: true }), {
      response_type: 'code',
      redirect_uri: 'http://localhost:8400/callback',
      scope: 'https://mail.google.com/ openid',
      state: 'st',
      code_challenge: 'ch',
      code_challenge_method: 'S256',
      login_hint: 'sales@example.com',
      access_type: 'offline',
      prompt: 'consent',
    });
  });

  test('generic: no Google parameters', () => {
    const parameters = authorizationParameters({ ...input, google: false });
    assert.equal(parameters['access_type'], undefined);
    assert.equal(parameters['prompt'], undefined);
    assert.equal(parameters['code_challenge_method'], 'S256');
  });
});

test('normalizedRedirectUri: a bare origin gains the slash URL parsing gives it', () => {
  assert.equal(normalizedRedirectUri('http://LOCALHOST:8400'), 'http://localhost:8400/');
  assert.equal(normalizedRedirectUri('http://localhost:8400/callback'), 'http://localhost:8400/callback');
});

describe('callbackFor', () => {
  const mailbox = testMailbox({ name: 'gmail', grantType: 'authorization-code' });
  const pending = { state: 'expected-state', codeVerifier: 'v', redirectUri: 'http://localhost:8400/callback', expiresAt: 0 };

  test('the pasted parameters on the pending redirect URI', () => {
    const result = callbackFor(mailbox, pending, new URL('http://LOCALHOST:8400/callback/?state=expected-state&code=4/0abc&scope=x'));
    assert.ok(result instanceof URL);
    assert.equal(result.href, 'http://localhost:8400/callback?state=expected-state&code=4/0abc&scope=x');
  });

  test('an error answer passes through, to be classified', () => {
    assert.ok(callbackFor(mailbox, pending, new URL('http://localhost:8400/callback?state=expected-state&error=access_denied')) instanceof URL);
  });

  const refused: [string, string, RegExp][] = [
    ['another state', 'http://localhost:8400/callback?state=forged&code=c', /"state" differs/],
    ['no state', 'http://localhost:8400/callback?code=c', /no "state" parameter/],
    ['no code (the authorization URL itself)', 'https://accounts.google.com/o/oauth2/v2/auth?state=expected-state&client_id=x', /neither an authorization code nor an error/],
  ];
  for (const [name, url, why] of refused) {
    test(`refused: ${name}`, () => {
      const result = callbackFor(mailbox, pending, new URL(url));
      assert.ok(result instanceof BrokerError);
      assert.equal(result.code, 'invalid_request');
      assert.equal(result.permanent, true);
      assert.match(result.message, /^mailbox gmail: the pasted URL does not belong to the authorization that was started/);
      assert.match(result.message, why);
      assert.match(result.remediation ?? '', /token-broker authorize gmail/);
    });
  }
});
