// The sandbox's resource-server rules as tables: who may open which mailbox
// over which protocol on Exchange, read which inbox on Graph, which roles an
// app token carries, and how mailboxes, grants and messages are kept.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseApplicationPermissions, rolesFor } from '../../src/sandbox/application-permissions.js';
import { requireTenantId } from '../../src/sandbox/directory.js';
import { MessageStore } from '../../src/sandbox/mail-messages.js';
import { MailboxPermissions } from '../../src/sandbox/mailbox-permissions.js';
import { exchangeAccess, exchangeTokenValidity, graphMailAccess } from '../../src/sandbox/resource-access.js';
import { consentResourceKey, isExchangeAudience, isGraphAudience } from '../../src/sandbox/resource-audiences.js';
import type { AccessTokenClaims, MailProtocol } from '../../src/sandbox/index.js';

const ALICE = 'alice@contoso.example';
const BOB = 'bob@contoso.example';
const CAROL = 'carol@contoso.example';
const SHARED = 'support@contoso.example';
const APP = 'd4d4d4d4-0000-4000-8000-00000000000d';
const EXO = 'https://outlook.office.com';
const GRAPH = 'https://graph.microsoft.com';

const base = {
  iss: 'https://sts.windows.net/t/',
  iat: 0,
  nbf: 0,
  exp: 1,
  appidacr: '1',
  tid: 't',
  oid: 'o',
  sub: 's',
  ver: '1.0' as const,
  uti: 'u',
  jti: 'j',
};

function userClaims(upn: string, aud: string, scp: string): AccessTokenClaims {
  return { ...base, aud, appid: 'public', azp: 'public', idtyp: 'user', upn, scp };
}

function appClaims(aud: string, roles: string[]): AccessTokenClaims {
  return { ...base, aud, appid: APP, azp: APP, idtyp: 'app', roles };
}

function mailboxes(): MailboxPermissions {
  const users = new Set([ALICE, BOB, CAROL]);
  const permissions = new MailboxPermissions((address) => users.has(address.toLowerCase()));
  permissions.grant(SHARED, BOB);
  permissions.grant('SUPPORT@contoso.example', 'Carol@Contoso.example', ['FullAccess']);
  permissions.grant(SHARED, APP.toUpperCase(), ['FullAccess']);
  return permissions;
}

describe('exchangeAccess', () => {
  const all = 'IMAP.AccessAsUser.All POP.AccessAsUser.All SMTP.Send';
  const roles = ['IMAP.AccessAsApp', 'POP.AccessAsApp', 'SMTP.SendAsApp'];
  const cases: [string, AccessTokenClaims, MailProtocol, string | undefined, boolean, string][] = [
    ['own mailbox, imap', userClaims(ALICE, EXO, all), 'imap', ALICE, true, 'own_mailbox'],
    ['own mailbox, any case', userClaims('Alice@Contoso.example', EXO, all), 'smtp', ALICE, true, 'own_mailbox'],
    ['scope names compare case-insensitively', userClaims(ALICE, EXO, 'imap.accessasuser.all'), 'imap', ALICE, true, 'own_mailbox'],
    ['national cloud audience', userClaims(ALICE, 'https://partner.outlook.cn/', all), 'pop3', ALICE, true, 'own_mailbox'],
    ['Exchange app id as audience', userClaims(ALICE, '00000002-0000-0ff1-ce00-000000000000', all), 'imap', ALICE, true, 'own_mailbox'],
    ['Graph audience', userClaims(ALICE, GRAPH, all), 'imap', ALICE, false, 'wrong_audience'],
    ['IMAP scope only, on SMTP', userClaims(ALICE, EXO, 'IMAP.AccessAsUser.All'), 'smtp', ALICE, false, 'missing_scope'],
    ['SMTP scope only, on POP3', userClaims(ALICE, EXO, 'SMTP.Send'), 'pop3', ALICE, false, 'missing_scope'],
    ['another user', userClaims(ALICE, EXO, all), 'imap', BOB, false, 'no_mailbox_permission'],
    ['catch-all passdb', userClaims(ALICE, EXO, all), 'imap', undefined, false, 'unknown_mailbox'],
    ['nobody has it', userClaims(ALICE, EXO, all), 'imap', 'nobody@contoso.example', false, 'unknown_mailbox'],
    ['delegate with both rights, smtp', userClaims(BOB, EXO, all), 'smtp', SHARED, true, 'delegated_access'],
    ['delegate with FullAccess, imap', userClaims(CAROL, EXO, all), 'imap', SHARED, true, 'delegated_access'],
    ['delegate without SendAs, smtp', userClaims(CAROL, EXO, all), 'smtp', SHARED, false, 'no_send_as_permission'],
    ['app granted, smtp', appClaims(EXO, roles), 'smtp', SHARED, true, 'application_access'],
    ['app not granted', appClaims(EXO, roles), 'imap', ALICE, false, 'no_mailbox_permission'],
    ['app without the role', appClaims(EXO, ['IMAP.AccessAsApp']), 'pop3', SHARED, false, 'missing_role'],
    ['app with delegated-looking roles', appClaims(EXO, ['IMAP.AccessAsUser.All']), 'imap', SHARED, false, 'missing_role'],
    ['app token for Graph', appClaims(GRAPH, roles), 'imap', SHARED, false, 'wrong_audience'],
  ];
  for (const [name, claims, protocol, mailbox, allowed, reason] of cases) {
    test(name, () => {
      assert.deepEqual(exchangeAccess(claims, protocol, mailbox, mailboxes()), { allowed, reason });
    });
  }

  test('validity only: the audience decides', () => {
    assert.deepEqual(exchangeTokenValidity(appClaims(EXO, [])), { allowed: true, reason: 'valid_token' });
    assert.deepEqual(exchangeTokenValidity(userClaims(ALICE, GRAPH, 'Mail.Read')), { allowed: false, reason: 'wrong_audience' });
  });
});

describe('graphMailAccess', () => {
  const cases: [string, AccessTokenClaims, string | undefined, boolean, string][] = [
    ['own inbox with Mail.Read', userClaims(ALICE, GRAPH, 'Mail.Read'), ALICE, true, 'own_mailbox'],
    ['own inbox with Mail.ReadWrite.Shared', userClaims(ALICE, GRAPH, 'Mail.ReadWrite.Shared'), ALICE, true, 'own_mailbox'],
    ['own inbox with User.Read', userClaims(ALICE, GRAPH, 'User.Read'), ALICE, false, 'missing_scope'],
    ['national Graph', userClaims(ALICE, 'https://dod-graph.microsoft.us', 'Mail.Read'), ALICE, true, 'own_mailbox'],
    ['Exchange audience', userClaims(ALICE, EXO, 'Mail.Read'), ALICE, false, 'wrong_audience'],
    ['shared inbox with Mail.Read only', userClaims(BOB, GRAPH, 'Mail.Read'), SHARED, false, 'missing_scope'],
    ['shared inbox with Mail.Read.Shared and FullAccess', userClaims(BOB, GRAPH, 'Mail.Read.Shared'), SHARED, true, 'delegated_access'],
    ['another inbox with Mail.Read.Shared, no FullAccess', userClaims(ALICE, GRAPH, 'Mail.Read.Shared'), BOB, false, 'no_mailbox_permission'],
    ['unknown mailbox', userClaims(ALICE, GRAPH, 'Mail.Read'), 'nobody@contoso.example', false, 'unknown_mailbox'],
    ['unresolved id', userClaims(ALICE, GRAPH, 'Mail.Read'), undefined, false, 'unknown_mailbox'],
    ['app with Mail.Read, granted', appClaims(GRAPH, ['Mail.Read']), SHARED, true, 'application_access'],
    ['app with Mail.ReadWrite, not granted', appClaims(GRAPH, ['Mail.ReadWrite']), ALICE, false, 'no_mailbox_permission'],
    ['app with Mail.Send only', appClaims(GRAPH, ['Mail.Send']), SHARED, false, 'missing_role'],
  ];
  for (const [name, claims, mailbox, allowed, reason] of cases) {
    test(name, () => {
      assert.deepEqual(graphMailAccess(claims, mailbox, mailboxes()), { allowed, reason });
    });
  }
});

describe('resources and application permissions', () => {
  test('audiences: Exchange and Graph of every cloud, any case, trailing slash', () => {
    for (const audience of [EXO, 'https://OUTLOOK.office365.com/', 'https://outlook.office365.us', 'https://outlook-dod.office365.us', 'https://partner.outlook.cn']) {
      assert.equal(isExchangeAudience(audience), true, audience);
      assert.equal(isGraphAudience(audience), false, audience);
    }
    for (const audience of [GRAPH, 'https://graph.microsoft.us/', 'https://dod-graph.microsoft.us', 'https://microsoftgraph.chinacloudapi.cn']) {
      assert.equal(isGraphAudience(audience), true, audience);
      assert.equal(isExchangeAudience(audience), false, audience);
    }
    assert.equal(isExchangeAudience('https://outlook.office.com.evil.example'), false);
    assert.equal(isExchangeAudience(undefined), false);
  });

  test('the two public Exchange host names are one consent', () => {
    assert.equal(consentResourceKey('https://Outlook.Office.com/'), consentResourceKey('https://outlook.office365.com'));
    assert.notEqual(consentResourceKey(EXO), consentResourceKey('https://outlook.office365.us'));
  });

  test('roles per resource, spellings merged, none by default', () => {
    const consented = parseApplicationPermissions({
      'https://outlook.office.com/': ['IMAP.AccessAsApp'],
      'https://OUTLOOK.office365.com': ['POP.AccessAsApp', 'IMAP.AccessAsApp'],
      [GRAPH]: ['Mail.Read'],
    });
    assert.deepEqual(rolesFor(consented, 'https://outlook.office365.com/'), ['IMAP.AccessAsApp', 'POP.AccessAsApp']);
    assert.deepEqual(rolesFor(consented, 'https://graph.microsoft.com/'), ['Mail.Read']);
    assert.deepEqual(rolesFor(consented, 'https://graph.microsoft.us'), []);
    assert.deepEqual(rolesFor(parseApplicationPermissions(undefined), EXO), []);
  });

  const bad: [unknown, string][] = [
    [['IMAP.AccessAsApp'], '"applicationPermissions" must be an object of resource URL to permission names'],
    [{ 'outlook.office.com': ['IMAP.AccessAsApp'] }, '"applicationPermissions["outlook.office.com"]" must be keyed by an absolute resource URL'],
    [{ [EXO]: 'IMAP.AccessAsApp' }, `"applicationPermissions["${EXO}"]" must be an array of permission names without whitespace`],
    [{ [EXO]: ['IMAP.AccessAsApp POP.AccessAsApp'] }, `"applicationPermissions["${EXO}"]" must be an array of permission names without whitespace`],
  ];
  for (const [value, message] of bad) {
    test(`refuses ${JSON.stringify(value)}`, () => {
      assert.throws(() => parseApplicationPermissions(value), { name: 'TypeError', message });
    });
  }

  test('no tenant may be named like a resource server path', () => {
    for (const name of ['exchange', 'V1.0']) {
      assert.throws(() => requireTenantId(name), {
        name: 'TypeError',
        message: `"tenantId" must not be '${name}': the sandbox serves its resource endpoints under that path`,
      });
    }
  });
});

describe('mailboxes and messages', () => {
  test('a grant names a shared mailbox into existence; users have theirs; addresses ignore case', () => {
    const permissions = mailboxes();
    assert.equal(permissions.exists('Support@CONTOSO.example'), true);
    assert.equal(permissions.exists(ALICE.toUpperCase()), true);
    assert.equal(permissions.exists('nobody@contoso.example'), false);
    assert.deepEqual([...permissions.rightsOf(SHARED, 'CAROL@contoso.example')], ['FullAccess']);
    assert.deepEqual([...permissions.rightsOf(SHARED, APP)], ['FullAccess']);
    assert.deepEqual([...permissions.rightsOf(ALICE, BOB)], []);
    permissions.grant(SHARED, CAROL, ['SendAs']);
    assert.deepEqual([...permissions.rightsOf(SHARED, CAROL)].sort(), ['FullAccess', 'SendAs']);
  });

  test('grants refuse a bad address or right', () => {
    const permissions = mailboxes();
    assert.throws(() => permissions.grant('support', BOB), { name: 'TypeError', message: `"mailbox" must be an address like name@domain, got 'support'` });
    assert.throws(() => permissions.grant(SHARED, BOB, []), { name: 'TypeError', message: '"rights" must be a non-empty list of FullAccess, SendAs' });
    assert.throws(() => permissions.grant(SHARED, BOB, ['ReadPermission' as 'SendAs']), { name: 'TypeError' });
  });

  test('messages: newest first, Graph-shaped, a 255-character whitespace-folded preview', () => {
    const store = new MessageStore();
    const first = store.deliver('Alice@contoso.example', { subject: 'one', from: BOB, body: ' a\n\n b ' }, Date.UTC(2026, 0, 1, 0, 0, 0, 250));
    const second = store.deliver(ALICE, { subject: 'two', from: CAROL, body: 'y'.repeat(256) }, Date.UTC(2026, 0, 1, 0, 0, 1));
    assert.notEqual(first, second);
    assert.deepEqual(store.inbox(ALICE.toUpperCase()), [
      { id: second, subject: 'two', receivedDateTime: '2026-01-01T00:00:01Z', bodyPreview: 'y'.repeat(255), from: { emailAddress: { address: CAROL } } },
      { id: first, subject: 'one', receivedDateTime: '2026-01-01T00:00:00Z', bodyPreview: 'a b', from: { emailAddress: { address: BOB } } },
    ]);
    assert.deepEqual(store.inbox(BOB), []);
  });
});
