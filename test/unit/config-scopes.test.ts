// Which scopes a mailbox asks for: its own, else its server's default for the
// protocol at the grant's level (DOMAIN.md: delegated vs application, the
// Shared Graph variant, ropc-deprecated's fixed scope, Google's one scope).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { GrantTypeName, Protocol } from '../../src/config/index.js';
import { CLIENT, configOf, loadObject, TENANT } from '../support/config-helpers.js';

const DELEGATED: Record<Protocol, string[]> = {
  imap: ['https://outlook.office.com/IMAP.AccessAsUser.All', 'offline_access'],
  pop3: ['https://outlook.office.com/POP.AccessAsUser.All', 'offline_access'],
  smtp: ['https://outlook.office.com/SMTP.Send', 'offline_access'],
  graph: ['https://graph.microsoft.com/Mail.ReadWrite', 'offline_access'],
};
const APPLICATION: Record<Protocol, string[]> = {
  imap: ['https://outlook.office365.com/.default'],
  pop3: ['https://outlook.office365.com/.default'],
  smtp: ['https://outlook.office365.com/.default'],
  graph: ['https://graph.microsoft.com/.default'],
};

function mailbox(grant: GrantTypeName, protocol: Protocol, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = { protocol, grantType: grant, tenantId: TENANT, clientId: CLIENT, username: 'u@contoso.example' };
  if (grant === 'ropc' || grant === 'ropc-deprecated') base.password = 'pw';
  if (grant === 'client-credentials') base.clientSecret = 's';
  if (grant === 'authorization-code') base.redirectUri = 'http://localhost:8400/callback';
  return { ...base, ...extra };
}

async function scopesOf(m: Record<string, unknown>, top: Record<string, unknown> = {}): Promise<readonly string[] | undefined> {
  return configOf(await loadObject({ ...top, mailboxes: { m } })).mailboxes.get('m')?.scopes;
}

describe('config scopes: Microsoft defaults', () => {
  const protocols: Protocol[] = ['graph', 'imap', 'pop3', 'smtp'];
  for (const protocol of protocols) {
    for (const grant of ['authorization-code', 'device-code'] as const) {
      test(`${grant} / ${protocol}: delegated`, async () => assert.deepEqual(await scopesOf(mailbox(grant, protocol)), DELEGATED[protocol]));
    }
    test(`client-credentials / ${protocol}: application (.default)`, async () => assert.deepEqual(await scopesOf(mailbox('client-credentials', protocol)), APPLICATION[protocol]));
  }
  test('ropc / graph: delegated', async () => assert.deepEqual(await scopesOf(mailbox('ropc', 'graph')), DELEGATED.graph));
  test('ropc-deprecated: the fixed Graph default scope', async () => assert.deepEqual(await scopesOf(mailbox('ropc-deprecated', 'graph')), ['https://graph.microsoft.com/.default']));

  test('graph with a shared mailbox: the Shared variant (delegated only)', async () => {
    for (const grant of ['ropc', 'authorization-code', 'device-code'] as const) {
      assert.deepEqual(await scopesOf(mailbox(grant, 'graph', { sharedMailbox: 'shared@contoso.example' })), ['https://graph.microsoft.com/Mail.ReadWrite.Shared', 'offline_access'], grant);
    }
    assert.deepEqual(await scopesOf(mailbox('client-credentials', 'graph', { sharedMailbox: 'shared@contoso.example' })), APPLICATION.graph);
  });

  test('imap with a shared mailbox keeps its scopes', async () => {
    assert.deepEqual(await scopesOf(mailbox('authorization-code', 'imap', { sharedMailbox: 'shared@contoso.example' })), DELEGATED.imap);
  });

  test("an operator's server default is used as written, also for shared mailboxes", async () => {
    const top = { authorizationServers: { microsoft: { scopes: { graph: ['https://graph.microsoft.com/Mail.Read', 'offline_access'] } } } };
    assert.deepEqual(await scopesOf(mailbox('authorization-code', 'graph', { sharedMailbox: 'shared@contoso.example' }), top), ['https://graph.microsoft.com/Mail.Read', 'offline_access']);
  });

  test("the mailbox's own scopes win, a string split on spaces", async () => {
    assert.deepEqual(await scopesOf(mailbox('client-credentials', 'imap', { scopes: 'a b  c' })), ['a', 'b', 'c']);
    assert.deepEqual(await scopesOf(mailbox('authorization-code', 'imap', { scopes: ['a b', 'c'] })), ['a', 'b', 'c']);
  });
});

describe('config scopes: other servers', () => {
  for (const protocol of ['imap', 'pop3', 'smtp'] as const) {
    test(`google / ${protocol}: https://mail.google.com/`, async () => {
      const m = mailbox('authorization-code', protocol, { authorizationServer: 'google', tenantId: undefined });
      assert.deepEqual(await scopesOf(m), ['https://mail.google.com/']);
    });
  }
  test('generic: the server default for the protocol, at any level', async () => {
    const top = { authorizationServers: { acme: { type: 'generic', issuer: 'https://idp.acme.example', scopes: { pop3: ['pop'] } } } };
    for (const grant of ['authorization-code', 'client-credentials', 'device-code'] as const) {
      assert.deepEqual(await scopesOf(mailbox(grant, 'pop3', { authorizationServer: 'acme', tenantId: undefined }), top), ['pop'], grant);
    }
  });
});
