// Google's device answer names the address verification_url; openid-client needs verification_uri.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withGoogleDeviceResponseFix, withVerificationUri } from '../../src/broker/grants/oidc/google-device-response.js';

test('verification_url is copied to verification_uri', () => {
  const fixed = JSON.parse(withVerificationUri('{"device_code":"d","user_code":"ABCD-EFGH","verification_url":"https://www.google.com/device","expires_in":1800,"interval":5}')) as Record<string, unknown>;
  assert.equal(fixed['verification_uri'], 'https://www.google.com/device');
  assert.equal(fixed['verification_url'], 'https://www.google.com/device');
});

test('a standard answer, or something that is not a JSON object, is left as it is', () => {
  for (const body of ['{"verification_uri":"https://a","verification_url":"https://b"}', '<html>', '[1]', '{"error":"invalid_client"}']) {
    assert.equal(withVerificationUri(body), body);
  }
});

test('only the device endpoint\'s answers are rewritten', async () => {
  const body = '{"verification_url":"https://www.google.com/device"}';
  const fetch = withGoogleDeviceResponseFix(() => Promise.resolve(new Response(body, { status: 200 })), 'https://oauth2.googleapis.com/device/code');
  const options = { method: 'POST', headers: {}, body: undefined, redirect: 'manual' as const };
  const device = (await (await fetch('https://oauth2.googleapis.com/device/code', options)).json()) as Record<string, unknown>;
  assert.equal(device['verification_uri'], 'https://www.google.com/device');
  assert.equal(await (await fetch('https://oauth2.googleapis.com/token', options)).text(), body);
});
