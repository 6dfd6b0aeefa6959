// createOidcGrant: which grant each google/generic mailbox gets, what the
// combinations Google cannot do answer, and the need for authorization when
// no refresh token exists yet. No server is contacted here.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Secret } from '../../src/config/index.js';
import { BrokerError } from '../../src/errors/index.js';
import { makeCertificate } from '../support/certificates.js';
import { configFolder, grantHarness, loadMailboxes } from '../support/oidc-config.js';
import type { GrantHarness } from '../support/oidc-config.js';
import type { MailboxConfig } from '../../src/config/index.js';

const certificate = makeCertificate(Date.now() - 60_000, Date.now() + 86_400_000);
let mailboxes: ReadonlyMap<string, MailboxConfig>;
let harness: GrantHarness;

before(async () => {
  const folder = await configFolder({ 'app.pem': certificate.certificatePem + certificate.keyPem });
  const base = { protocol: 'imap', clientId: 'client-1', username: 'sales@example.com' };
  mailboxes = await loadMailboxes(
    {
      authorizationServers: { acme: { type: 'generic', issuer: 'https://idp.example', scopes: { imap: ['mail.read'] } } },
      mailboxes: {
        'google-code': { ...base, authorizationServer: 'google', grantType: 'authorization-code', clientSecret: 'x', redirectUri: 'http://localhost:8400/' },
        'google-device': { ...base, authorizationServer: 'google', grantType: 'device-code', scopes: ['email'] },
        'google-service-account': { ...base, authorizationServer: 'google', grantType: 'client-credentials', authenticationMode: 'certificate', certificate: { file: 'app.pem', thumbprint: certificate.sha1 } },
        'acme-code': { ...base, authorizationServer: 'acme', grantType: 'authorization-code', clientSecret: 'x', redirectUri: 'http://localhost:8400/' },
        'acme-device': { ...base, authorizationServer: 'acme', grantType: 'device-code' },
        'acme-app': { ...base, authorizationServer: 'acme', grantType: 'client-credentials', clientSecret: 'x' },
      },
    },
    folder,
  );
  harness = grantHarness();
});

after(() => harness.close());

const mailbox = (name: string): MailboxConfig => {
  const found = mailboxes.get(name);
  assert.ok(found !== undefined, name);
  return found;
};

describe('grant per mailbox', () => {
  const expected: [string, string, boolean][] = [
    ['google-code', 'authorization-code', true],
    ['google-device', 'device-code', true],
    ['google-service-account', 'client-credentials', false],
    ['acme-code', 'authorization-code', true],
    ['acme-device', 'device-code', true],
    ['acme-app', 'client-credentials', false],
  ];
  for (const [name, type, interactive] of expected) {
    test(`${name}: ${type}, interactive=${String(interactive)}`, () => {
      const grant = harness.grant(mailbox(name));
      assert.equal(grant.type, type);
      assert.equal(grant.interactive, interactive);
      assert.equal(grant.startAuthorization !== undefined, interactive);
      assert.equal(grant.completeAuthorization !== undefined, type === 'authorization-code');
    });
  }
});

// The config loader refuses these combinations (config-google.test.ts); the
// grants still guard against them, for configs built without the loader.
describe('what Google cannot do fails every acquisition with what to configure', () => {
  const unvalidated: Record<string, () => MailboxConfig> = {
    'google-app-secret': () => ({ ...mailbox('google-service-account'), name: 'google-app-secret', authenticationMode: 'client-secret', certificate: undefined, clientSecret: new Secret('x', 'test') }),
    'google-code-cert': () => ({ ...mailbox('google-code'), name: 'google-code-cert', authenticationMode: 'certificate', certificate: mailbox('google-service-account').certificate, clientSecret: undefined }),
  };
  const cases: [string, RegExp, RegExp][] = [
    ['google-app-secret', /Google has no client-credentials grant for OAuth clients/, /authenticationMode: certificate with the service account's key/],
    ['google-code-cert', /Google OAuth clients cannot authenticate with a certificate/, /authenticationMode client-secret/],
  ];
  for (const [name, message, remediation] of cases) {
    test(name, async () => {
      const grant = harness.grant(unvalidated[name]?.() ?? mailbox(name));
      assert.equal(grant.interactive, false, 'nothing to authorize');
      const error = await grant.acquire({}).then(() => undefined, (failure: unknown) => failure);
      assert.ok(error instanceof BrokerError);
      assert.equal(error.code, 'config_invalid');
      assert.equal(error.permanent, true);
      assert.match(error.message, message);
      assert.match(error.remediation ?? '', remediation);
    });
  }
});

test('user-level grants without a refresh token need authorization, and ask nobody', async () => {
  for (const name of ['google-code', 'google-device', 'acme-code', 'acme-device']) {
    const error = await harness.grant(mailbox(name)).acquire({}).then(() => undefined, (failure: unknown) => failure);
    assert.ok(error instanceof BrokerError, name);
    assert.equal(error.code, 'needs_authorization');
    assert.equal(error.permanent, true);
    assert.match(error.message, new RegExp(`^mailbox ${name} has no refresh token`));
    assert.equal(error.remediation, `Run: token-broker authorize ${name}`);
  }
  assert.deepEqual(harness.requested, [], 'no request was made');
});
