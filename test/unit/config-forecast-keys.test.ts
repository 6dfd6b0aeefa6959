// The two keys the token-death forecast reads: mailboxes.*.clientSecretExpiresAt
// and authorizationServers.*.testingApp; exact messages, table-driven.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { configOf, loadObject, loadText, triples } from '../support/config-helpers.js';
import type { Expected } from '../support/config-helpers.js';

const TENANT = '00000000-0000-0000-0000-000000000000';
const CLIENT = '11111111-1111-1111-1111-111111111111';
const app = { protocol: 'imap', grantType: 'client-credentials', tenantId: TENANT, clientId: CLIENT, username: 'sales@contoso.example', clientSecret: 's' };
const DATE_RULE = 'must be an ISO 8601 date or date-time such as 2027-03-31 or 2027-03-31T00:00:00Z';

describe('config: clientSecretExpiresAt', () => {
  const accepted: [string, string, number][] = [
    ['a date: 00:00 UTC that day', 'clientSecretExpiresAt: 2027-03-31', Date.UTC(2027, 2, 31)],
    ['a quoted date', 'clientSecretExpiresAt: "2027-03-31"', Date.UTC(2027, 2, 31)],
    ['a date-time in UTC', 'clientSecretExpiresAt: 2027-03-31T12:30:00Z', Date.UTC(2027, 2, 31, 12, 30)],
    ['a date-time with an offset', 'clientSecretExpiresAt: 2027-03-31T12:30:00+02:00', Date.UTC(2027, 2, 31, 10, 30)],
  ];
  for (const [what, line, expected] of accepted) {
    test(`accepts ${what}`, async () => {
      const yaml = `mailboxes:\n  sales:\n${Object.entries(app).map(([key, value]) => `    ${key}: "${value}"`).join('\n')}\n    ${line}\n`;
      assert.equal(configOf(await loadText(yaml)).mailboxes.get('sales')?.clientSecretExpiresAt, expected);
    });
  }

  const refused: [string, unknown, Record<string, unknown>, Expected[]][] = [
    ['a day that does not exist', '2027-02-30', {}, [['error', 'mailboxes.sales.clientSecretExpiresAt', `${DATE_RULE} (a day that exists; a time needs its zone, Z or +01:00)`]]],
    ['a time without its zone', '2027-03-31T00:00:00', {}, [['error', 'mailboxes.sales.clientSecretExpiresAt', `${DATE_RULE} (a day that exists; a time needs its zone, Z or +01:00)`]]],
    ['an American date', '03/31/2027', {}, [['error', 'mailboxes.sales.clientSecretExpiresAt', `${DATE_RULE} (a day that exists; a time needs its zone, Z or +01:00)`]]],
    ['a number', 20270331, {}, [['error', 'mailboxes.sales.clientSecretExpiresAt', `${DATE_RULE}, not a number`]]],
    [
      'no client secret to date (certificate mode)',
      '2027-03-31',
      { clientSecret: undefined, authenticationMode: 'certificate', certificate: { file: '/nonexistent/app.pem', thumbprint: 'A'.repeat(40) } },
      [['error', 'mailboxes.sales.clientSecretExpiresAt', 'applies only where a client secret is used (clientSecret or clientSecretFile), and this mailbox has none; remove it, or set the secret it dates']],
    ],
  ];
  for (const [what, value, overrides, expected] of refused) {
    test(`refuses ${what}`, async () => {
      const result = await loadObject({ mailboxes: { sales: { ...app, ...overrides, clientSecretExpiresAt: value } } });
      assert.deepEqual(triples(result).filter(([, path]) => path.endsWith('clientSecretExpiresAt')), expected);
    });
  }

  test('a public client (device code without a secret) has no secret to date', async () => {
    const result = await loadObject({
      mailboxes: { u: { protocol: 'imap', grantType: 'device-code', tenantId: TENANT, clientId: CLIENT, username: 'u@contoso.example', clientSecretExpiresAt: '2027-03-31' } },
    });
    assert.deepEqual(triples(result), [
      ['error', 'mailboxes.u.clientSecretExpiresAt', 'applies only where a client secret is used (clientSecret or clientSecretFile), and this mailbox has none; remove it, or set the secret it dates'],
    ]);
  });
});

describe('config: testingApp', () => {
  test('on the built-in google server and on a google server of the file', async () => {
    const config = configOf(
      await loadObject({ authorizationServers: { google: { testingApp: true }, 'google-test': { type: 'google', testingApp: 'true' }, 'google-live': { type: 'google', testingApp: false } } }),
    );
    assert.equal(config.authorizationServers.get('google')?.testingApp, true);
    assert.equal(config.authorizationServers.get('google-test')?.testingApp, true);
    assert.equal(config.authorizationServers.get('google-live')?.testingApp, false);
  });

  test('is an error on other server types, and must be true or false', async () => {
    const result = await loadObject({
      authorizationServers: { microsoft: { testingApp: true }, acme: { type: 'generic', issuer: 'https://idp.acme.example', testingApp: true }, g: { type: 'google', testingApp: 'yes' } },
    });
    assert.deepEqual(triples(result).filter(([severity]) => severity === 'error'), [
      ['error', 'authorizationServers.microsoft.testingApp', 'applies only to type google (a Google app\'s consent screen in "Testing" status); remove it'],
      ['error', 'authorizationServers.acme.testingApp', 'applies only to type google (a Google app\'s consent screen in "Testing" status); remove it'],
      ['error', 'authorizationServers.g.testingApp', 'must be true or false, not a string'],
    ]);
  });
});
