// `token-broker doctor --probe` against the real Dovecot of the mail world:
// Dovecot's oauth2 passdb asks the sandbox (playing Exchange Online) about
// every token by introspection. Good tokens per protocol log in (exit 0, no
// token in the output); wrong ones (a Graph token on IMAP, an IMAP token on
// SMTP, an app token for a mailbox the app was not granted, a revoked token)
// are refused by Dovecot and explained by the findings (exit 1).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runCliInProcess } from '../support/cli-in-process.js';
import type { CliResult } from '../support/daemon-process.js';
import { dovecotBinary } from '../support/dovecot.js';
import { DAEMON_APP, BOB, delegatedProfile, startMailWorld } from '../support/mail-world.js';
import type { MailWorld } from '../support/mail-world.js';

interface DoctorJson {
  readonly findings: { readonly level: string; readonly check: string; readonly message: string; readonly fix?: string }[];
  readonly probe?: {
    readonly mechanism?: string;
    readonly accepted: boolean;
    readonly reply: string[];
    readonly errorDetail?: Record<string, unknown> | string;
    readonly explanation?: { readonly id: string; readonly meaning: string; readonly fix: string };
    readonly error?: { readonly code: string; readonly message: string };
    readonly transcript: string[];
  };
  readonly healthy: boolean;
}

describe('token-broker doctor --probe against Dovecot', { skip: dovecotBinary.skip }, () => {
  let world: MailWorld;

  before(async () => {
    world = await startMailWorld({
      prefix: 'tb-doctor-dovecot-',
      extraProfiles: {
        // An IMAP mailbox asking for Graph's scopes: a token for the wrong audience.
        'alice-imap-graph-scopes': delegatedProfile('imap', { scopes: '[https://graph.microsoft.com/Mail.Read, offline_access]' }),
        // An SMTP mailbox asking for IMAP's scope: a token without SMTP.Send.
        'alice-smtp-imap-scopes': delegatedProfile('smtp', { scopes: '[https://outlook.office.com/IMAP.AccessAsUser.All, offline_access]' }),
        // Its own profile, so revoking its token leaves the other tests' tokens alone.
        'alice-imap-revoked': delegatedProfile('imap'),
      },
    });
  });

  after(async () => {
    await world?.stop();
  });

  const doctor = async (mailbox: string, ...args: string[]): Promise<CliResult> =>
    runCliInProcess(['doctor', mailbox, ...args, '--ca-file', world.mailCaFile, '--config', world.environment.configFile, '--socket', world.environment.address]);
  const probe = (port: number): string[] => ['--probe', `127.0.0.1:${port}`];
  const noToken = async (mailbox: string, result: CliResult): Promise<void> => {
    const token = await world.environment.client.getToken(mailbox);
    const output = result.stdout + result.stderr;
    for (const secret of [token.accessToken, token.saslXoauth2, token.saslOauthbearer]) assert.ok(!output.includes(secret), `a secret of ${mailbox} is in the output`);
  };
  const json = (result: CliResult): DoctorJson => JSON.parse(result.stdout) as DoctorJson;

  test('good tokens log in: IMAP over STARTTLS and TLS, POP3, SMTP submission, the app and the shared mailbox; exit 0, no token printed', async () => {
    const { ports } = world.dovecot;
    const cases: [string, string[]][] = [
      ['alice-imap', [...probe(ports.imap), '--starttls']],
      ['alice-imap', [...probe(ports.imaps), '--tls']],
      ['alice-imap', [...probe(ports.imap), '--mechanism', 'oauthbearer']],
      ['alice-pop3', probe(ports.pop3)],
      ['alice-smtp', probe(ports.submission)],
      ['app-imap', probe(ports.imaps).concat('--tls')],
      ['shared-imap', probe(ports.imap)],
    ];
    for (const [mailbox, args] of cases) {
      const result = await doctor(mailbox, ...args);
      assert.equal(result.code, 0, `${mailbox} ${args.join(' ')}\n${result.stdout}${result.stderr}\n${await world.dovecot.log()}`);
      assert.match(result.stdout, /: logged in$/m, result.stdout);
      assert.match(result.stdout, /^result: no errors.*the login worked\.$/m);
      assert.match(result.stdout, /<(XOAUTH2|OAUTHBEARER) string, \d+ bytes>/);
      await noToken(mailbox, result);
    }
    const forced = json(await doctor('alice-imap', ...probe(world.dovecot.ports.imap), '--mechanism', 'oauthbearer', '--json'));
    assert.equal(forced.probe?.mechanism, 'OAUTHBEARER');
    assert.equal(forced.probe?.accepted, true);
  });

  test('a Graph token on an IMAP mailbox: the audience error, and Dovecot refuses it, explained by that finding (--json)', async () => {
    const result = await doctor('alice-imap-graph-scopes', ...probe(world.dovecot.ports.imap), '--json');
    assert.equal(result.code, 1, result.stdout + result.stderr);
    const report = json(result);
    assert.equal(report.healthy, false);
    assert.equal(report.findings.find((finding) => finding.check === 'audience')?.level, 'error');
    assert.equal(report.probe?.accepted, false);
    assert.match(report.probe?.reply.join('\n') ?? '', /^A\d+ NO \[AUTHENTICATIONFAILED\] Authentication failed\.$/);
    assert.deepEqual(report.probe?.errorDetail, { status: '401', schemes: 'bearer', scope: 'mail' });
    assert.equal(report.probe?.explanation?.id, 'dovecot-authentication-failed');
    assert.match(report.probe?.explanation?.meaning ?? '', /the audience and permission findings above say why/);
    assert.match(report.probe?.explanation?.fix ?? '', /^Fix the audience finding first: Set mailboxes\.alice-imap-graph-scopes\.scopes to /);
    await noToken('alice-imap-graph-scopes', result);
  });

  test('an IMAP token on an SMTP mailbox: the permission error, and 535 5.7.8 explained by it', async () => {
    const result = await doctor('alice-smtp-imap-scopes', ...probe(world.dovecot.ports.submission));
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(result.stdout, /^ {2}error {3}permission: /m);
    assert.match(result.stdout, /^ {2}server: 535 5\.7\.8 Authentication failed\.$/m);
    assert.match(result.stdout, /^ {2}meaning: Dovecot \(or a server like it\) refused the token for alice@contoso\.example \(535 5\.7\.8\).*the permission finding above says why/m);
    assert.match(result.stdout, /^ {10}fix: Fix the permission finding first: .*SMTP\.Send/m);
    assert.match(result.stdout, /^result: 1 error\(s\), the login failed\.$/m);
    await noToken('alice-smtp-imap-scopes', result);
  });

  test('an app token for a mailbox the app was not granted: claims in order, Dovecot refuses, explained as the missing mailbox permission (--json)', async () => {
    const result = await doctor('app-bob-imap', ...probe(world.dovecot.ports.imap), '--json');
    assert.equal(result.code, 1, result.stdout + result.stderr);
    const report = json(result);
    assert.deepEqual(report.findings.filter((finding) => finding.level === 'error'), []);
    assert.equal(report.probe?.accepted, false);
    assert.match(report.probe?.explanation?.meaning ?? '', new RegExp(`no permission on ${BOB.replace('.', '\\.')} for the application`));
    assert.match(report.probe?.explanation?.fix ?? '', new RegExp(`New-ServicePrincipal -AppId ${DAEMON_APP} .*Add-MailboxPermission -Identity ${BOB.replace('.', '\\.')}`));
    const decision = world.environment.sandbox.resourceDecisions.filter((each) => each.mailbox === BOB).at(-1);
    assert.equal(decision?.reason, 'no_mailbox_permission');
  });

  test('a revoked token: claims in order, Dovecot refuses, explained as revoked', async () => {
    const token = await world.environment.client.getToken('alice-imap-revoked');
    world.environment.sandbox.revokeAccessToken(token.accessToken);
    const result = await doctor('alice-imap-revoked', ...probe(world.dovecot.ports.imaps), '--tls');
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.doesNotMatch(result.stdout, /^ {2}error {3}/m);
    assert.match(result.stdout, /: REFUSED$/m);
    assert.match(result.stdout, /^ {2}meaning: .*it was most likely revoked after it was issued/m);
    assert.match(result.stdout, /fix: .*token-broker authorize alice-imap-revoked/);
    assert.equal(world.environment.sandbox.resourceDecisions.at(-1)?.reason, 'revoked');
    await noToken('alice-imap-revoked', result);
  });
});
