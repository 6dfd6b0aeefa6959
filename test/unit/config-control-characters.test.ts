// A control character in a mailbox's identity (`username`, `sharedMailbox`)
// would inject fields into the SASL XOAUTH2 string
// (`user=...^Aauth=Bearer ...^A^A`): the config refuses it, and the SASL
// builder refuses it again, in case an identity ever reaches it another way.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { saslXoauth2 } from '../../src/broker/index.js';
import { CLIENT, configOf, loadObject, TENANT, triples } from '../support/config-helpers.js';

const controlCharacter = (codePoint: string, position: number): string =>
  `must not contain control characters (${codePoint} at character ${position}): they would inject fields into the SASL XOAUTH2 string; give the plain mailbox address`;

function mailbox(extra: Record<string, unknown>): Record<string, unknown> {
  return { protocol: 'imap', grantType: 'client-credentials', tenantId: TENANT, clientId: CLIENT, clientSecret: 'x', username: 'u@contoso.example', ...extra };
}

describe('config: control characters in username and sharedMailbox', () => {
  const cases: { name: string; key: 'username' | 'sharedMailbox'; value: string; expect: string }[] = [
    { name: 'a ^A that would add an auth field', key: 'username', value: 'u@contoso.example\x01auth=Bearer forged\x01\x01', expect: controlCharacter('U+0001', 18) },
    { name: 'CR LF', key: 'sharedMailbox', value: 'shared@contoso.example\r\nA1 LOGOUT', expect: controlCharacter('U+000D', 23) },
    { name: 'NUL', key: 'username', value: 'u\0@contoso.example', expect: controlCharacter('U+0000', 2) },
    { name: 'a tab', key: 'sharedMailbox', value: 'shared\t@contoso.example', expect: controlCharacter('U+0009', 7) },
    { name: 'DEL', key: 'username', value: 'u@contoso.example\x7f', expect: controlCharacter('U+007F', 18) },
    { name: 'a C1 control (NEL)', key: 'username', value: 'u\u0085@contoso.example', expect: controlCharacter('U+0085', 2) },
  ];
  for (const c of cases) {
    test(`${c.key}: ${c.name} is refused`, async () => {
      const result = await loadObject({ mailboxes: { m: mailbox({ [c.key]: c.value }) } });
      assert.deepEqual(triples(result), [['error', `mailboxes.m.${c.key}`, c.expect]]);
    });
  }

  test('also when the value comes from the environment', async () => {
    const result = await loadObject({ mailboxes: { m: mailbox({ username: '${SALES_USER}' }) } }, { env: { SALES_USER: 'u@contoso.example\x01auth=Bearer forged' } });
    assert.deepEqual(triples(result), [['error', 'mailboxes.m.username', controlCharacter('U+0001', 18)]]);
  });

  test('letters of any script, spaces and punctuation stay allowed', async () => {
    const config = configOf(await loadObject({ mailboxes: { m: mailbox({ username: 'jürgen.o’neil+tag@bücher.example', sharedMailbox: 'Shared Box <box@contoso.example>' }) } }));
    assert.equal(config.mailboxes.get('m')?.username, 'jürgen.o’neil+tag@bücher.example');
    assert.equal(config.mailboxes.get('m')?.sharedMailbox, 'Shared Box <box@contoso.example>');
  });
});

describe('saslXoauth2 refuses control characters too', () => {
  test('in the user name: a config_invalid error naming the character, never the token', () => {
    assert.throws(
      () => saslXoauth2('u@contoso.example\x01auth=Bearer forged', 'the-access-token'),
      (error: unknown) => {
        assert.ok(error instanceof Error && 'code' in error);
        assert.equal(error.code, 'config_invalid');
        assert.equal(
          error.message,
          'the SASL XOAUTH2 user name contains a control character (U+0001 at character 18), which would inject fields into the SASL string; fix username or sharedMailbox in the config',
        );
        return true;
      },
    );
  });

  test('in the access token: an authorization_server_error that does not quote the token', () => {
    assert.throws(
      () => saslXoauth2('u@contoso.example', 'token\x01auth=Bearer forged'),
      (error: unknown) => {
        assert.ok(error instanceof Error && 'code' in error);
        assert.equal(error.code, 'authorization_server_error');
        assert.equal(error.message.includes('forged'), false);
        assert.match(error.message, /access token .* control character \(U\+0001\)/);
        return true;
      },
    );
  });
});
