// The SASL initial client responses a Token carries, byte for byte:
// XOAUTH2 (Google's and Microsoft's) and OAUTHBEARER (RFC 7628, whose
// authzid is a GS2 saslname: RFC 5801 escapes ',' and '='). Both are built
// once when a token is issued, refuse control characters alike, and never
// reach a log line.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { issueToken, saslOauthbearer, saslXoauth2 } from '../../src/broker/index.js';
import { captureLogs } from '../support/log-capture.js';
import { testMailbox } from '../support/mailbox.js';

/** The decoded bytes of a base64 SASL string, compared as bytes (not as text, which would hide a stray byte). */
function decoded(value: string): Buffer {
  return Buffer.from(value, 'base64');
}

function bytes(text: string): Buffer {
  return Buffer.from(text, 'utf8');
}

describe('saslOauthbearer (RFC 7628 initial client response)', () => {
  test('is base64 of n,a=USER,^Aauth=Bearer TOKEN^A^A, exactly', () => {
    const value = saslOauthbearer('user@example.com', 'vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==');
    assert.deepEqual(decoded(value), bytes('n,a=user@example.com,\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01'));
    // Plain base64 (RFC 4648 section 4, with padding), as IMAP AUTHENTICATE and SMTP AUTH take it.
    assert.equal(value, 'bixhPXVzZXJAZXhhbXBsZS5jb20sAWF1dGg9QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB');
  });

  test("the authzid is a GS2 saslname: ',' is written =2C and '=' =3D (RFC 5801), everything else as is", () => {
    assert.deepEqual(decoded(saslOauthbearer('ops=desk,eu@contoso.example', 't')), bytes('n,a=ops=3Ddesk=2Ceu@contoso.example,\x01auth=Bearer t\x01\x01'));
    // '=' first: an escape is never escaped again.
    assert.deepEqual(decoded(saslOauthbearer('=2C@x', 't')), bytes('n,a==3D2C@x,\x01auth=Bearer t\x01\x01'));
    // Non-ASCII stays UTF-8, as XOAUTH2 writes it.
    assert.deepEqual(decoded(saslOauthbearer('jürgen+tag@bücher.example', 't')), bytes('n,a=jürgen+tag@bücher.example,\x01auth=Bearer t\x01\x01'));
  });

  test('the XOAUTH2 string of the same user is not escaped (its user= ends at ^A, not at a comma)', () => {
    assert.deepEqual(decoded(saslXoauth2('ops=desk,eu@contoso.example', 't')), bytes('user=ops=desk,eu@contoso.example\x01auth=Bearer t\x01\x01'));
  });

  test('an empty user name leaves the authzid out (n,,), as XOAUTH2 then sends an empty user=', () => {
    assert.deepEqual(decoded(saslOauthbearer('', 't')), bytes('n,,\x01auth=Bearer t\x01\x01'));
    assert.deepEqual(decoded(saslXoauth2('', 't')), bytes('user=\x01auth=Bearer t\x01\x01'));
  });

  test('a control character in the user name is config_invalid, naming the character and the mechanism', () => {
    assert.throws(
      () => saslOauthbearer('u@contoso.example\x01auth=Bearer forged', 'the-access-token'),
      (error: unknown) => {
        assert.ok(error instanceof Error && 'code' in error);
        assert.equal(error.code, 'config_invalid');
        assert.equal(
          error.message,
          'the SASL OAUTHBEARER user name contains a control character (U+0001 at character 18), which would inject fields into the SASL string; fix username or sharedMailbox in the config',
        );
        assert.equal(error.message.includes('the-access-token'), false);
        return true;
      },
    );
  });

  test('a control character in the access token is the server\'s error and the token is not quoted', () => {
    assert.throws(
      () => saslOauthbearer('u@contoso.example', 'token\x01auth=Bearer forged'),
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

describe('issueToken builds both SASL strings once, for the same user', () => {
  const result = { accessToken: 'abc', tokenType: 'Bearer', expiresAt: 10_000, scopes: ['s'] };

  test('sharedMailbox when set', () => {
    const token = issueToken(testMailbox({ username: 'svc@contoso.example', sharedMailbox: 'team,a=b@contoso.example' }), result, 0);
    assert.equal(token.username, 'team,a=b@contoso.example');
    assert.deepEqual(decoded(token.saslXoauth2), bytes('user=team,a=b@contoso.example\x01auth=Bearer abc\x01\x01'));
    assert.deepEqual(decoded(token.saslOauthbearer), bytes('n,a=team=2Ca=3Db@contoso.example,\x01auth=Bearer abc\x01\x01'));
  });

  test('else username', () => {
    const token = issueToken(testMailbox({ username: 'svc@contoso.example' }), result, 0);
    assert.deepEqual(decoded(token.saslOauthbearer), bytes('n,a=svc@contoso.example,\x01auth=Bearer abc\x01\x01'));
    assert.ok(Object.isFrozen(token));
  });
});

describe('the SASL strings never reach a log line', () => {
  test('under their own keys, in either spelling, at the top or one level down', () => {
    const log = captureLogs('info');
    const secret = saslOauthbearer('u@contoso.example', 'the-access-token');
    const xoauth2 = saslXoauth2('u@contoso.example', 'the-access-token');
    log.logger.info({ saslOauthbearer: secret, sasl_oauthbearer: secret, token: { saslOauthbearer: secret, sasl_oauthbearer: secret, saslXoauth2: xoauth2, sasl_xoauth2: xoauth2 } }, 'a token');
    const text = log.text();
    assert.match(text, /"a token"/);
    assert.equal(text.includes(secret), false, text);
    assert.equal(text.includes(xoauth2), false, text);
    assert.equal((text.match(/\[redacted\]/g) ?? []).length, 6, text);
  });
});
