// The doctor's token checks: Entra JWTs (signed here with a throwaway key;
// the doctor reads claims without checking signatures) per protocol, grant
// and cloud, and opaque tokens (Google, generic servers) by their scopes.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import type { AuthorizationServerConfig, MailboxConfig } from '../../src/config/index.js';
import { checkToken, decodeAccessToken } from '../../src/doctor/index.js';
import type { Finding } from '../../src/doctor/index.js';
import { testMailbox } from '../support/mailbox.js';

const NOW = Date.UTC(2026, 11, 5, 9, 0, 0);
const TENANT = '00000000-0000-0000-0000-000000000001';
const CLIENT = '00000000-0000-0000-0000-000000000002';
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

function jwt(claims: Record<string, unknown>): string {
  const header = Buffer.from(JSON.stringify({ typ: 'JWT', alg: 'RS256', kid: 'throwaway' })).toString('base64url');
  const payload = Buffer.from(JSON.stringify({ iat: NOW / 1000 - 60, nbf: NOW / 1000 - 60, exp: NOW / 1000 + 3600, tid: TENANT, ...claims })).toString('base64url');
  const signature = sign('sha256', Buffer.from(`${header}.${payload}`), privateKey).toString('base64url');
  return `${header}.${payload}.${signature}`;
}

const appToken = (aud: string, roles: string[], extra: Record<string, unknown> = {}): string =>
  jwt({ aud, roles, idtyp: 'app', appid: CLIENT, iss: `https://sts.windows.net/${TENANT}/`, ...extra });
const userToken = (aud: string, scp: string, extra: Record<string, unknown> = {}): string =>
  jwt({ aud, scp, idtyp: 'user', azp: CLIENT, upn: 'sales@contoso.example', iss: `https://login.microsoftonline.com/${TENANT}/v2.0`, ...extra });

const delegated = (overrides: Partial<MailboxConfig> = {}): MailboxConfig =>
  testMailbox({ grantType: 'authorization-code', tenantId: TENANT, clientId: CLIENT, scopes: ['https://outlook.office.com/IMAP.AccessAsUser.All', 'offline_access'], ...overrides });
const application = (overrides: Partial<MailboxConfig> = {}): MailboxConfig => testMailbox({ tenantId: TENANT, clientId: CLIENT, ...overrides });

function findings(mailbox: MailboxConfig, accessToken: string, scopes: readonly string[] = [], expiresAt = NOW + 3_600_000): Finding[] {
  return [...checkToken(mailbox, { accessToken, expiresAt: new Date(expiresAt), scopes, username: mailbox.sharedMailbox ?? mailbox.username }, NOW).findings];
}

function levels(list: readonly Finding[]): Record<string, string> {
  return Object.fromEntries(list.map((finding) => [finding.check, finding.level]));
}

function only(list: readonly Finding[], check: string): Finding {
  const found = list.filter((finding) => finding.check === check);
  assert.equal(found.length, 1, `one ${check} finding expected: ${JSON.stringify(list, null, 2)}`);
  return found[0] as Finding;
}

const usgov: AuthorizationServerConfig = { name: 'gov', type: 'microsoft', authorityHost: 'https://login.microsoftonline.us', cloud: 'usgov', scopes: {}, caCertificates: [] };

describe('doctor token checks (Entra JWTs)', () => {
  test('a good delegated IMAP token: every check ok', () => {
    const list = findings(delegated(), userToken('https://outlook.office.com', 'IMAP.AccessAsUser.All'));
    assert.deepEqual(levels(list), { expiry: 'ok', grant: 'ok', audience: 'ok', permission: 'ok', tenant: 'ok', user: 'ok' });
  });

  test('a Graph token on an IMAP mailbox: the audience is wrong, and the fix names the scope key and the right scope', () => {
    const finding = only(findings(delegated({ name: 'sales' }), userToken('https://graph.microsoft.com', 'Mail.Read')), 'audience');
    assert.equal(finding.level, 'error');
    assert.equal(
      finding.message,
      'the token is for Microsoft Graph (aud https://graph.microsoft.com), but IMAP needs a token for Office 365 Exchange Online (https://outlook.office.com): the server will refuse it.',
    );
    assert.equal(
      finding.fix,
      'Set mailboxes.sales.scopes to [https://outlook.office.com/IMAP.AccessAsUser.All, offline_access] (or remove it for the default), then token-broker reload and token-broker authorize sales.',
    );
  });

  test('an IMAP token on a Graph mailbox is the same mistake the other way round', () => {
    const finding = only(findings(delegated({ protocol: 'graph' }), userToken('https://outlook.office.com', 'IMAP.AccessAsUser.All')), 'audience');
    assert.equal(finding.level, 'error');
    assert.match(finding.fix ?? '', /\[https:\/\/graph\.microsoft\.com\/Mail\.Read, offline_access\]/);
  });

  test('an application token without roles: the permission to add in Entra, per protocol', () => {
    const cases = [
      ['imap', 'IMAP.AccessAsApp', 'https://outlook.office365.com', 'Office 365 Exchange Online'],
      ['pop3', 'POP.AccessAsApp', 'https://outlook.office365.com', 'Office 365 Exchange Online'],
      ['smtp', 'SMTP.SendAsApp', 'https://outlook.office365.com', 'Office 365 Exchange Online'],
      ['graph', 'Mail.Read', 'https://graph.microsoft.com', 'Microsoft Graph'],
    ] as const;
    for (const [protocol, permission, aud, api] of cases) {
      const finding = only(findings(application({ protocol }), appToken(aud, [])), 'permission');
      assert.equal(finding.level, 'error', protocol);
      assert.match(finding.message, new RegExp(`carries no roles, without ${permission.replace(/\./g, '\\.')}`), protocol);
      assert.equal(
        finding.fix,
        `In Entra ID, App registrations > ${CLIENT} > API permissions: add the application permission ${api} / ${permission} (APIs my organization uses > ${api}) and grant admin consent; the next token carries it (token-broker reload).`,
      );
      assert.equal(only(findings(application({ protocol }), appToken(aud, [permission])), 'permission').level, 'ok', protocol);
    }
  });

  test('an application token names no user: the finding says the login needs the service principal and mailbox permission', () => {
    const finding = only(findings(application(), appToken('https://outlook.office365.com', ['IMAP.AccessAsApp'])), 'user');
    assert.equal(finding.level, 'ok');
    assert.match(finding.message, /New-ServicePrincipal.*Add-MailboxPermission/);
  });

  test('delegated permissions per protocol: a POP token on an SMTP mailbox lacks SMTP.Send', () => {
    const finding = only(findings(delegated({ protocol: 'smtp' }), userToken('https://outlook.office.com', 'POP.AccessAsUser.All')), 'permission');
    assert.equal(finding.level, 'error');
    assert.equal(finding.message, "the delegated token's scp is POP.AccessAsUser.All, without SMTP.Send.");
    assert.match(finding.fix ?? '', /delegated permission Office 365 Exchange Online \/ SMTP\.Send.*https:\/\/outlook\.office\.com\/SMTP\.Send in mailboxes\.sales\.scopes/);
  });

  test('Graph on a shared mailbox needs a .Shared permission', () => {
    const shared = delegated({ protocol: 'graph', sharedMailbox: 'team@contoso.example' });
    const without = only(findings(shared, userToken('https://graph.microsoft.com', 'Mail.ReadWrite')), 'permission');
    assert.equal(without.level, 'error');
    assert.match(without.message, /without Mail\.Read\.Shared or Mail\.ReadWrite\.Shared \(a shared mailbox needs a \.Shared permission\)/);
    assert.equal(only(findings(shared, userToken('https://graph.microsoft.com', 'Mail.ReadWrite.Shared')), 'permission').level, 'ok');
  });

  test('the grant level: client-credentials with a user token, authorization-code with an app token', () => {
    assert.equal(only(findings(application(), userToken('https://outlook.office365.com', 'IMAP.AccessAsUser.All')), 'grant').level, 'error');
    const finding = only(findings(delegated(), appToken('https://outlook.office365.com', ['IMAP.AccessAsApp'])), 'grant');
    assert.equal(finding.level, 'error');
    assert.equal(finding.message, 'mailbox sales uses authorization-code, but the token is an application token (no user).');
  });

  test('the tenant, the user and the application must be the configured ones', () => {
    const list = findings(delegated(), userToken('https://outlook.office.com', 'IMAP.AccessAsUser.All', { tid: '99999999-0000-0000-0000-000000000000', upn: 'other@contoso.example', azp: 'another-app' }));
    assert.equal(only(list, 'tenant').level, 'error');
    assert.equal(only(list, 'tenant').fix, "Set mailboxes.sales.tenantId to the mailbox's tenant (Entra ID > Overview > Tenant ID).");
    assert.equal(only(list, 'user').level, 'error');
    assert.equal(only(list, 'user').message, 'the token belongs to other@contoso.example, but mailboxes.sales.username is sales@contoso.example: the login as sales@contoso.example will be refused.');
    assert.equal(only(list, 'app').level, 'warning');
  });

  test('an expired token is an error', () => {
    const finding = only(findings(delegated(), userToken('https://outlook.office.com', 'IMAP.AccessAsUser.All', { exp: NOW / 1000 - 10 })), 'expiry');
    assert.equal(finding.level, 'error');
    assert.match(finding.message, /^the token expired at 2026-12-05T08:59:50\.000Z\.$/);
  });

  describe('national clouds', () => {
    test('usgov: its own Exchange host is right, the global one is the wrong cloud', () => {
      const gov = application({ authorizationServer: usgov });
      assert.deepEqual(levels(findings(gov, appToken('https://outlook.office365.us', ['IMAP.AccessAsApp']))).cloud, undefined);
      assert.equal(only(findings(gov, appToken('https://outlook.office365.us', ['IMAP.AccessAsApp'])), 'audience').level, 'ok');
      const wrong = only(findings(gov, appToken('https://outlook.office365.com', ['IMAP.AccessAsApp'])), 'cloud');
      assert.equal(wrong.level, 'error');
      assert.equal(wrong.message, "the token's audience https://outlook.office365.com belongs to the global cloud, but authorization server gov is set up for usgov.");
      assert.match(wrong.fix ?? '', /authorizationServers\.gov\.cloud/);
    });

    test('a token issued by the China cloud to a global server', () => {
      const list = findings(delegated(), userToken('https://outlook.office.com', 'IMAP.AccessAsUser.All', { iss: `https://login.chinacloudapi.cn/${TENANT}/v2.0` }));
      assert.equal(only(list, 'cloud').level, 'error');
      assert.match(only(list, 'cloud').message, /the china cloud/);
    });

    test('the Exchange app id as audience counts as Exchange in any cloud', () => {
      assert.equal(only(findings(application(), appToken('00000002-0000-0ff1-ce00-000000000000', ['IMAP.AccessAsApp'])), 'audience').level, 'ok');
    });
  });
});

describe('doctor token checks (opaque tokens)', () => {
  const google: AuthorizationServerConfig = { name: 'google', type: 'google', scopes: {}, caCertificates: [] };
  const generic: AuthorizationServerConfig = { name: 'acme', type: 'generic', scopes: {}, caCertificates: [] };

  test('a Google token is opaque; https://mail.google.com/ must be granted', () => {
    const mailbox = delegated({ authorizationServer: google, scopes: ['https://mail.google.com/'] });
    assert.deepEqual(decodeAccessToken('ya29.a0AfB_byC-opaque'), { format: 'opaque' });
    const good = findings(mailbox, 'ya29.a0AfB_byC-opaque', ['https://mail.google.com/']);
    assert.deepEqual(levels(good), { format: 'ok', expiry: 'ok', scopes: 'ok' });
    assert.match(only(good, 'format').message, /opaque \(Google's ya29\.\.\. tokens\)/);
    const bad = only(findings(mailbox, 'ya29.a0AfB_byC-opaque', ['https://www.googleapis.com/auth/gmail.readonly']), 'scopes');
    assert.equal(bad.level, 'error');
    assert.match(bad.fix ?? '', /^Add https:\/\/mail\.google\.com\/ to mailboxes\.sales\.scopes \(or authorizationServers\.google\.scopes\.imap\)/);
  });

  test('a generic server: scopes asked for but not granted are a warning; none listed cannot be checked', () => {
    const mailbox = delegated({ authorizationServer: generic, scopes: ['mail.read', 'offline_access'] });
    assert.equal(only(findings(mailbox, 'opaque-token', ['mail.read']), 'scopes').level, 'ok');
    const missing = only(findings(mailbox, 'opaque-token', ['profile']), 'scopes');
    assert.equal(missing.level, 'warning');
    assert.equal(missing.message, 'acme granted profile, without mail.read asked for in mailboxes.sales.scopes.');
    assert.equal(only(findings(mailbox, 'opaque-token', []), 'scopes').level, 'warning');
  });

  test('an opaque token from Microsoft (a personal account) is a warning, not a guess', () => {
    assert.equal(only(findings(delegated(), 'EwBwA8l6BAAUopaque', ['https://outlook.office.com/IMAP.AccessAsUser.All']), 'format').level, 'warning');
  });
});
