// The doctor's table of mail servers' refusals: each known answer, for an
// application and a delegated token, and answers it does not know.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { explainMailServerAnswer } from '../../src/doctor/index.js';
import type { AnswerContext } from '../../src/doctor/index.js';

const CLIENT = '11111111-1111-1111-1111-111111111111';
const app = (protocol: AnswerContext['protocol']): AnswerContext => ({ protocol, kind: 'app', mailbox: 'sales', loginUser: 'sales@contoso.example', username: 'sales@contoso.example', clientId: CLIENT });
const user = (protocol: AnswerContext['protocol']): AnswerContext => ({ protocol, kind: 'user', mailbox: 'team', loginUser: 'team@contoso.example', username: 'alice@contoso.example', clientId: CLIENT });

describe('mail server answers', () => {
  test('Exchange IMAP "AUTHENTICATE failed." with an app token: the service principal and mailbox permission', () => {
    const explanation = explainMailServerAnswer(['A2 NO AUTHENTICATE failed.'], app('imap'));
    assert.equal(explanation?.id, 'exchange-authenticate-failed');
    assert.match(explanation?.meaning ?? '', /does not know the app's service principal/);
    assert.equal(
      explanation?.fix,
      `In Exchange Online PowerShell: New-ServicePrincipal -AppId ${CLIENT} -ObjectId <object id of the enterprise application>, then Add-MailboxPermission -Identity sales@contoso.example -User <that service principal> -AccessRights FullAccess. Also check the app's IMAP.AccessAsApp permission has admin consent.`,
    );
  });

  test('Exchange IMAP "AUTHENTICATE failed." with a delegated token: IMAP enabled for the mailbox, the scope, Full Access', () => {
    const explanation = explainMailServerAnswer(['A2 NO AUTHENTICATE failed.'], user('imap'));
    assert.equal(explanation?.id, 'exchange-authenticate-failed');
    assert.match(explanation?.fix ?? '', /^Set-CASMailbox -Identity team@contoso\.example -ImapEnabled \$true; .*token-broker authorize team.*Add-MailboxPermission -Identity team@contoso\.example -User alice@contoso\.example -AccessRights FullAccess/);
  });

  test('Exchange POP3 refusal with a delegated token names PopEnabled', () => {
    const explanation = explainMailServerAnswer(['-ERR Authentication failure: unknown user name or bad password.'], user('pop3'));
    assert.equal(explanation?.id, 'exchange-authenticate-failed');
    assert.match(explanation?.fix ?? '', /-PopEnabled \$true/);
  });

  test('SMTP 535 5.7.139: SMTP AUTH disabled, for the mailbox and for the tenant', () => {
    for (const scope of ['Tenant', 'Mailbox']) {
      const explanation = explainMailServerAnswer([`535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the ${scope}. Visit https://aka.ms/smtp_auth_disabled for more information.`], user('smtp'));
      assert.equal(explanation?.id, 'exchange-smtp-auth-disabled', scope);
      assert.match(explanation?.fix ?? '', /^For this mailbox: Set-CASMailbox -Identity team@contoso\.example -SmtpClientAuthenticationDisabled \$false; for the whole tenant: Set-TransportConfig -SmtpClientAuthenticationDisabled \$false/);
    }
  });

  test('SMTP 535 5.7.3: service principal for an app, SMTP.Send or Send As for a user', () => {
    const reply = ['535 5.7.3 Authentication unsuccessful [SN4PR0501CA0054.namprd05.prod.outlook.com]'];
    assert.match(explainMailServerAnswer(reply, app('smtp'))?.fix ?? '', /New-ServicePrincipal -AppId 11111111.*SMTP\.SendAsApp/);
    const delegated = explainMailServerAnswer(reply, user('smtp'));
    assert.equal(delegated?.id, 'exchange-smtp-5.7.3');
    assert.match(delegated?.fix ?? '', /Add-RecipientPermission -Identity team@contoso\.example -Trustee alice@contoso\.example -AccessRights SendAs/);
  });

  test('SMTP 550 5.7.30: basic authentication, not OAuth', () => {
    const explanation = explainMailServerAnswer(['550 5.7.30 Basic authentication is not supported for Client Submission.'], user('smtp'));
    assert.equal(explanation?.id, 'exchange-basic-auth-not-supported');
    assert.match(explanation?.fix ?? '', /AUTH XOAUTH2.*token-broker token --xoauth2/);
  });

  test("Dovecot's [AUTHENTICATIONFAILED] (IMAP) and [AUTH] (POP3), with the error challenge's status", () => {
    const imap = explainMailServerAnswer(['A2 NO [AUTHENTICATIONFAILED] Authentication failed.'], user('imap'), { status: '401', schemes: 'bearer' });
    assert.equal(imap?.id, 'dovecot-authentication-failed');
    assert.match(imap?.meaning ?? '', /The server's error challenge says status 401 \(the token is not valid for it\)\.$/);
    assert.equal(explainMailServerAnswer(['-ERR [AUTH] Authentication failed.'], user('pop3'))?.id, 'dovecot-authentication-failed');
  });

  test('SMTP 535 5.7.8 (Dovecot submission and others)', () => {
    assert.equal(explainMailServerAnswer(['535 5.7.8 Authentication failed'], app('smtp'))?.id, 'smtp-5.7.8');
  });

  describe("Dovecot's refusal read with the token findings (its oauth2 passdb asked introspection: the token is not active for this mailbox and protocol)", () => {
    const own = (protocol: AnswerContext['protocol']): AnswerContext => ({ ...user(protocol), loginUser: 'alice@contoso.example' });
    const audienceFix = 'Set mailboxes.team.scopes to [https://outlook.office.com/IMAP.AccessAsUser.All, offline_access] (or remove it for the default), then token-broker authorize team.';

    test('a token the findings already fault: the refusal is that, and the fix is the finding\'s', () => {
      const context = { ...user('imap'), tokenProblems: [{ check: 'audience', fix: audienceFix }, { check: 'permission', fix: 'add the permission' }] };
      const explanation = explainMailServerAnswer(['A2 NO [AUTHENTICATIONFAILED] Authentication failed.'], context, { status: '401', schemes: 'bearer', scope: 'mail' });
      assert.equal(explanation?.id, 'dovecot-authentication-failed');
      assert.match(explanation?.meaning ?? '', /introspection/);
      assert.match(explanation?.meaning ?? '', /the audience and permission findings above/);
      assert.match(explanation?.meaning ?? '', /status 401 \(the token is not valid for it\)/);
      assert.equal(explanation?.fix, `Fix the audience finding first: ${audienceFix}`);
    });

    test('an application token in order: no mailbox permission for the app, with the same fix as Exchange\'s "AUTHENTICATE failed."', () => {
      const explanation = explainMailServerAnswer(['A2 NO [AUTHENTICATIONFAILED] Authentication failed.'], { ...app('imap'), tokenProblems: [] }, { status: '401' });
      assert.match(explanation?.meaning ?? '', /the token itself is in order/);
      assert.match(explanation?.meaning ?? '', /no permission on sales@contoso\.example for the application/);
      assert.equal(explanation?.fix, explainMailServerAnswer(['A2 NO AUTHENTICATE failed.'], app('imap'))?.fix);
    });

    test('a delegated token in order for another mailbox: Full Access (and Send As for SMTP)', () => {
      const imap = explainMailServerAnswer(['-ERR [AUTH] Authentication failed.'], { ...user('pop3'), tokenProblems: [] }, { status: 'invalid_token' });
      assert.match(imap?.meaning ?? '', /alice@contoso\.example may not open team@contoso\.example/);
      assert.match(imap?.meaning ?? '', /status invalid_token \(the token is not valid for it\)/);
      assert.equal(imap?.fix, 'Add-MailboxPermission -Identity team@contoso.example -User alice@contoso.example -AccessRights FullAccess (Exchange Online PowerShell).');
      const smtp = explainMailServerAnswer(['535 5.7.8 Authentication failed.'], { ...user('smtp'), tokenProblems: [] }, { status: '401' });
      assert.equal(smtp?.id, 'smtp-5.7.8');
      assert.match(smtp?.fix ?? '', /Add-RecipientPermission -Identity team@contoso\.example -Trustee alice@contoso\.example -AccessRights SendAs/);
    });

    test("the user's own token in order: revoked since it was issued, or the protocol disabled for the mailbox", () => {
      const explanation = explainMailServerAnswer(['A2 NO [AUTHENTICATIONFAILED] Authentication failed.'], { ...own('imap'), tokenProblems: [] });
      assert.match(explanation?.meaning ?? '', /revoked/);
      assert.match(explanation?.fix ?? '', /token-broker authorize team/);
      assert.match(explanation?.fix ?? '', /Set-CASMailbox -Identity alice@contoso\.example -ImapEnabled \$true/);
    });
  });

  test('Gmail: invalid credentials', () => {
    assert.equal(explainMailServerAnswer(['A2 NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)'], user('imap'))?.id, 'gmail-invalid-credentials');
    assert.equal(explainMailServerAnswer(['535-5.7.8 Username and Password not accepted. For more information, go to', '535 5.7.8  https://support.google.com/mail/?p=BadCredentials'], user('smtp'))?.id, 'gmail-invalid-credentials');
  });

  test('an answer of another protocol, or one nobody documented, is not explained', () => {
    assert.equal(explainMailServerAnswer(['A2 NO AUTHENTICATE failed.'], user('smtp')), undefined);
    assert.equal(explainMailServerAnswer(['A2 NO [UNAVAILABLE] Temporary authentication failure.'], user('imap')), undefined);
    assert.equal(explainMailServerAnswer(['454 4.7.0 Temporary authentication failure'], user('smtp')), undefined);
  });
});
