// Tokens against mail logins: `token-broker doctor` run against the real
// daemon and the Entra-shaped sandbox, checking a good IMAP token, a Graph
// token configured on an IMAP mailbox and an application token without
// roles, and logging in (--probe) to a scripted IMAP server over TLS that
// accepts the sandbox's IMAP tokens and answers Exchange's "NO AUTHENTICATE
// failed." to anything else. (Logins to a real Dovecot join this file later.)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { eventually } from '../support/assertions.js';
import { startBrokerEnvironment } from '../support/broker-environment.js';
import type { BrokerEnvironment } from '../support/broker-environment.js';
import { runCliInProcess } from '../support/cli-in-process.js';
import type { CliResult } from '../support/daemon-process.js';
import { makeAuthority } from '../support/pki.js';
import { startScriptedMailServer } from '../support/scripted-mail-server.js';
import type { Conversation, ScriptedMailServer } from '../support/scripted-mail-server.js';

const TENANT = randomUUID();
const PUBLIC_APP = randomUUID();
const DAEMON_APP = randomUUID();
const DAEMON_SECRET = `secret-${randomUUID()}`;
const ALICE = 'alice@contoso.example';

interface DoctorJson {
  readonly mailbox: string;
  readonly token?: { readonly format: string; readonly audience?: string; readonly kind?: string; readonly roles?: string[]; readonly scopes?: string[]; readonly expiresAt: string };
  readonly findings: { readonly level: string; readonly check: string; readonly message: string; readonly fix?: string }[];
  readonly probe?: {
    readonly host: string;
    readonly port: number;
    readonly security: string;
    readonly mechanism?: string;
    readonly accepted: boolean;
    readonly reply: string[];
    readonly explanation?: { readonly id: string; readonly meaning: string; readonly fix: string };
    readonly transcript: string[];
  };
  readonly healthy: boolean;
}

describe('token-broker doctor against the daemon and the sandbox', () => {
  let environment: BrokerEnvironment;
  let imapServer: ScriptedMailServer;
  let caFile: string;
  /** The tokens the scripted IMAP server was offered, decoded from the XOAUTH2 strings. */
  const offered: { user: string; token: string }[] = [];

  const doctor = async (...args: string[]): Promise<CliResult> =>
    runCliInProcess(['doctor', ...args, '--config', environment.configFile, '--socket', environment.address]);
  const doctorJson = async (...args: string[]): Promise<{ code: number | null; report: DoctorJson; stderr: string }> => {
    const result = await doctor(...args, '--json');
    return { code: result.code, report: JSON.parse(result.stdout) as DoctorJson, stderr: result.stderr };
  };
  const finding = (report: DoctorJson, check: string) => {
    const found = report.findings.filter((each) => each.check === check);
    assert.equal(found.length, 1, JSON.stringify(report.findings, null, 2));
    return found[0] as DoctorJson['findings'][number];
  };

  before(async () => {
    environment = await startBrokerEnvironment({
      prefix: 'tb-mail-login-',
      sandbox: { deviceCodeIntervalSeconds: 1 },
      setup: (sandbox) => {
        sandbox.registerApplication({ tenantId: TENANT, clientId: PUBLIC_APP, publicClient: true });
        sandbox.registerApplication({ tenantId: TENANT, clientId: DAEMON_APP, clientSecret: DAEMON_SECRET });
        sandbox.registerUser({ tenantId: TENANT, username: ALICE, password: `pw-${randomUUID()}` });
      },
      config: ({ sandbox, address }) => `server: { listen: ["${address}"] }
store: { url: "memory:" }
authorizationServers:
  microsoft: { authorityHost: "${sandbox.url}", caFile: ca.pem }
mailboxes:
  imap-good:
    protocol: imap
    grantType: device-code
    tenantId: ${TENANT}
    clientId: ${PUBLIC_APP}
    username: ${ALICE}
  imap-graph-scope:
    protocol: imap
    grantType: device-code
    tenantId: ${TENANT}
    clientId: ${PUBLIC_APP}
    username: ${ALICE}
    scopes: [https://graph.microsoft.com/Mail.Read, offline_access]
  imap-app:
    protocol: imap
    grantType: client-credentials
    tenantId: ${TENANT}
    clientId: ${DAEMON_APP}
    clientSecret: ${DAEMON_SECRET}
    username: shared-box@contoso.example
`,
    });
    for (const mailbox of ['imap-good', 'imap-graph-scope']) {
      const started = await environment.client.startAuthorization(mailbox);
      environment.sandbox.approveDeviceCode(started.userCode, ALICE);
      await eventually(async () => assert.equal((await environment.client.getMailboxStatus(mailbox)).state, 'READY'));
    }

    // An IMAP server over TLS (the test CA) that lets in the sandbox's delegated IMAP tokens of the login user.
    const authority = makeAuthority('doctor test mail CA');
    caFile = path.join(environment.directory, 'mail-ca.pem');
    await writeFile(caFile, authority.certificatePem);
    const sandbox = environment.sandbox;
    imapServer = await startScriptedMailServer(
      async (c: Conversation) => {
        c.send('* OK [CAPABILITY IMAP4rev1] scripted Exchange-like IMAP');
        for (;;) {
          const line = await c.readLine();
          const [tag = '', verb = '', mechanism = '', initial = ''] = line.split(' ');
          if (verb === 'CAPABILITY') c.send('* CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR', `${tag} OK CAPABILITY completed.`);
          else if (verb === 'AUTHENTICATE' && mechanism === 'XOAUTH2') {
            const [userField = '', authField = ''] = Buffer.from(initial, 'base64').toString().split('\x01');
            const user = userField.replace(/^user=/, '');
            const token = authField.replace(/^auth=Bearer /, '');
            offered.push({ user, token });
            const claims = sandbox.verifyAccessToken(token) as { scp?: string; upn?: string } | undefined;
            const accepted = claims?.scp?.split(' ').includes('IMAP.AccessAsUser.All') === true && claims.upn === user;
            c.send(accepted ? `${tag} OK AUTHENTICATE completed.` : `${tag} NO AUTHENTICATE failed.`);
          } else if (verb === 'LOGOUT') {
            c.send('* BYE Microsoft Exchange Server IMAP4 server signing off.', `${tag} OK LOGOUT completed.`);
            return c.end();
          } else c.send(`${tag} BAD Command Error. 12`);
        }
      },
      { certificate: authority.issueServer(), implicitTls: true },
    );
  });

  after(async () => {
    await imapServer?.close();
    await environment?.stop();
  });

  test('a good IMAP token: every check passes, exit 0, and the token is never printed', async () => {
    const token = await environment.client.getToken('imap-good');
    const text = await doctor('imap-good');
    assert.equal(text.code, 0, `${text.stdout}\n${text.stderr}`);
    assert.match(text.stdout, /^mailbox imap-good: imap, device-code, server microsoft \(cloud global\), logs in as alice@contoso\.example$/m);
    assert.match(text.stdout, /^token: JWT, delegated \(alice@contoso\.example\), aud https:\/\/outlook\.office\.com, scp .*IMAP\.AccessAsUser\.All/m);
    assert.match(text.stdout, /^result: no errors\.$/m);
    assert.ok(!text.stdout.includes(token.accessToken) && !text.stderr.includes(token.accessToken));

    const { code, report } = await doctorJson('imap-good');
    assert.equal(code, 0);
    assert.equal(report.healthy, true);
    assert.deepEqual(
      report.findings.map((each) => `${each.level} ${each.check}`),
      ['ok expiry', 'ok grant', 'ok audience', 'ok permission', 'ok tenant', 'ok user'],
    );
    assert.equal(report.token?.audience, 'https://outlook.office.com');
  });

  test('a Graph-audience token configured on an IMAP mailbox: an audience error naming the scopes key, exit 1', async () => {
    const { code, report } = await doctorJson('imap-graph-scope');
    assert.equal(code, 1);
    assert.equal(report.healthy, false);
    const audience = finding(report, 'audience');
    assert.equal(audience.level, 'error');
    assert.match(audience.message, /^the token is for Microsoft Graph \(aud https:\/\/graph\.microsoft\.com\), but IMAP needs a token for Office 365 Exchange Online/);
    assert.match(audience.fix ?? '', /^Set mailboxes\.imap-graph-scope\.scopes to \[https:\/\/outlook\.office\.com\/IMAP\.AccessAsUser\.All, offline_access\]/);
    assert.equal(finding(report, 'permission').level, 'error');
  });

  test('an application token without roles: the Entra permission to add, exit 1', async () => {
    const { code, report } = await doctorJson('imap-app');
    assert.equal(code, 1);
    assert.equal(report.token?.kind, 'app');
    assert.deepEqual(report.token?.roles, []);
    const permission = finding(report, 'permission');
    assert.equal(permission.level, 'error');
    assert.match(permission.fix ?? '', new RegExp(`App registrations > ${DAEMON_APP} > API permissions: add the application permission Office 365 Exchange Online / IMAP\\.AccessAsApp`));
  });

  test('--probe logs in to the IMAP server with the mailbox token over TLS (993 by default, here --tls), exit 0', async () => {
    const token = await environment.client.getToken('imap-good');
    const target = `127.0.0.1:${imapServer.port}`;
    const { code, report, stderr } = await doctorJson('imap-good', '--probe', target, '--tls', '--ca-file', caFile);
    assert.equal(code, 0, `${JSON.stringify(report, null, 2)}\n${stderr}`);
    assert.equal(report.probe?.accepted, true);
    assert.equal(report.probe?.mechanism, 'XOAUTH2');
    assert.equal(report.probe?.security, 'tls');
    assert.deepEqual(report.probe?.reply, ['A2 OK AUTHENTICATE completed.']);
    assert.deepEqual(offered.at(-1), { user: ALICE, token: token.accessToken });
    const transcript = report.probe?.transcript.join('\n') ?? '';
    assert.match(transcript, /C: A2 AUTHENTICATE XOAUTH2 <XOAUTH2 string, \d+ bytes>/);
    assert.ok(!JSON.stringify(report).includes(token.accessToken), 'the token is in the report');
    assert.ok(!JSON.stringify(report).includes(token.saslXoauth2), 'the XOAUTH2 string is in the report');
  });

  test('--probe with the app token: the server\'s "NO AUTHENTICATE failed." verbatim, explained (service principal), exit 1', async () => {
    const result = await doctor('imap-app', '--probe', `127.0.0.1:${imapServer.port}`, '--tls', '--ca-file', caFile);
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(result.stdout, new RegExp(`^probe IMAP 127\\.0\\.0\\.1:${imapServer.port} \\(tls, XOAUTH2\\): REFUSED$`, 'm'));
    assert.match(result.stdout, /^ {2}server: A2 NO AUTHENTICATE failed\.$/m);
    assert.match(result.stdout, /^ {2}meaning: Exchange Online refused the application token for shared-box@contoso\.example/m);
    assert.match(result.stdout, new RegExp(`fix: In Exchange Online PowerShell: New-ServicePrincipal -AppId ${DAEMON_APP} .*Add-MailboxPermission -Identity shared-box@contoso\\.example`));
    assert.match(result.stdout, /^result: 1 error\(s\), the login failed\.$/m);
  });

  test('--probe to a server that is not trusted: the TLS error and its fix, exit 1', async () => {
    const { code, report } = await doctorJson('imap-good', '--probe', `127.0.0.1:${imapServer.port}`, '--tls');
    assert.equal(code, 1);
    const probe = report.probe as NonNullable<DoctorJson['probe']> & { error?: { code: string; remediation?: string } };
    assert.equal(probe.accepted, false);
    assert.equal(probe.error?.code, 'tls_untrusted');
    assert.match(probe.error?.remediation ?? '', /--ca-file/);
  });

  test('usage errors exit 2: a bad --probe, --tls without --probe, both --tls and --starttls, an unknown mailbox', async () => {
    assert.equal((await doctor('imap-good', '--probe', 'no-port')).code, 2);
    assert.equal((await doctor('imap-good', '--tls')).code, 2);
    assert.equal((await doctor('imap-good', '--probe', '127.0.0.1:993', '--tls', '--starttls')).code, 2);
    const unknown = await doctor('nope');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no mailbox nope in .*broker\.yaml \(it has: imap-good, imap-graph-scope, imap-app\)/);
  });

  test('an invalid config exits 78', async () => {
    const bad = path.join(environment.directory, 'bad.yaml');
    await writeFile(bad, 'mailboxes:\n  x:\n    protocol: carrier-pigeon\n');
    const result = await runCliInProcess(['doctor', 'x', '--config', bad, '--socket', environment.address]);
    assert.equal(result.code, 78, result.stderr);
  });
});
