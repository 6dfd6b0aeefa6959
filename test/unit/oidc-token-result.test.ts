// Token endpoint answers as the engine wants them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ASSUMED_LIFETIME_SECONDS, toTokenResult } from '../../src/broker/grants/oidc/token-result.js';

const NOW = Date.UTC(2026, 0, 1);
const base = { now: NOW, requestedScopes: ['https://mail.google.com/'], keepsRefreshToken: true };

test('expiry from the injected time, Bearer capitalized, scopes as granted', () => {
  const result = toTokenResult({ access_token: 'ya29.x', token_type: 'bearer', expires_in: 3599, scope: 'openid  https://mail.google.com/' }, base);
  assert.deepEqual(result, { accessToken: 'ya29.x', tokenType: 'Bearer', expiresAt: NOW + 3_599_000, scopes: ['openid', 'https://mail.google.com/'] });
});

test('without scope in the answer, the requested scopes; without expires_in, an assumed hour', () => {
  const result = toTokenResult({ access_token: 'a', token_type: 'bearer' }, base);
  assert.deepEqual(result.scopes, ['https://mail.google.com/']);
  assert.equal(result.expiresAt, NOW + ASSUMED_LIFETIME_SECONDS * 1000);
});

test('the newest refresh token: a rotated one replaces the one used', () => {
  const result = toTokenResult({ access_token: 'a', token_type: 'bearer', refresh_token: 'new' }, { ...base, previousRefreshToken: 'old' });
  assert.equal(result.refreshToken, 'new');
});

test('the one used is kept when the server does not rotate (Google)', () => {
  const result = toTokenResult({ access_token: 'a', token_type: 'bearer' }, { ...base, previousRefreshToken: 'old' });
  assert.equal(result.refreshToken, 'old');
});

test('application grants keep no refresh token even when one is sent', () => {
  const result = toTokenResult({ access_token: 'a', token_type: 'bearer', refresh_token: 'stray' }, { ...base, keepsRefreshToken: false });
  assert.equal('refreshToken' in result, false);
});

test('other token types are kept as the server said', () => {
  assert.equal(toTokenResult({ access_token: 'a', token_type: 'dpop' }, base).tokenType, 'dpop');
});
