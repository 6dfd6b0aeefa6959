// Issue 15, point 4: the real `token-broker serve` at trace level (its most
// talkative) through every grant (ROPC and its deprecated variant,
// authorization code, device code, client credentials with a secret and with
// a PFX certificate, a Google service account, a generic OpenID server) and
// every failure the sandboxes and test/support can provoke (a wrong secret,
// revoked refresh tokens, consent missing, throttling, a server that quotes
// the request back, one unreachable, one with an untrusted certificate, a
// proxy refusing its password, a client key refused, the store gone), plus
// the CLI (authorize, token, status). Everything the daemon and the CLI
// printed is then searched for every secret: those of the config (client
// secrets, passwords, the PFX password, the certificate and service-account
// keys, the proxy and redis passwords, the client keys, the store key) and
// those the sandboxes issued or received (tokens, codes, device codes, PKCE
// verifiers, assertions: Sandbox.secretsSeen), in every encoding, SASL
// strings included. Each state change is checked to be logged, too.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ServiceError } from '@grpc/grpc-js';
import { saslOauthbearer, saslXoauth2 } from '../../src/broker/sasl-strings.js';
import { TokenBrokerClient } from '../../src/client/index.js';
import type { BrokerMailboxStatus, BrokerToken } from '../../src/client/index.js';
import { startSandbox } from '../../src/sandbox/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { startGoogleSandbox } from '../../src/sandbox/google/index.js';
import type { GoogleSandbox } from '../../src/sandbox/google/index.js';
import { eventually } from '../support/assertions.js';
import { signInRedirect } from '../support/browser.js';
import { makeCertificate, pfx } from '../support/certificates.js';
import { runCli, startCli, startDaemonProcess } from '../support/daemon-process.js';
import type { CliResult, DaemonProcess } from '../support/daemon-process.js';
import { freePort } from '../support/ports.js';
import { redisServerBinary, startRedis } from '../support/redis.js';
import type { RedisServer } from '../support/redis.js';
import { squidBinary, startSquid } from '../support/squid.js';
import type { Squid } from '../support/squid.js';
import { basicCredentials, SeenSecrets } from '../faults/support/faults-server-secrets.js';

const TENANT = randomUUID();
const ALICE = 'alice@contoso.example';
/** Characters that URL-encoding, form-encoding and base64 all write differently. */
const secret = (prefix: string): string => `${prefix}~${randomBytes(12).toString('base64')}+/=ü._-`;
const ALICE_PASSWORD = secret('pw');
const PFX_PASSWORD = secret('pfx');
const PROXY_USER = 'broker';
const PROXY_PASSWORD = secret('proxy');
const WRONG_PROXY_PASSWORD = secret('wrong-proxy');
const REDIS_PASSWORD = `redis${randomBytes(16).toString('hex')}`;
const ADMIN_KEY = `admin-${randomBytes(16).toString('hex')}`;
const CONNECTOR_KEY = `connector-${randomBytes(16).toString('hex')}`;
const WRONG_KEY = `wrong-${randomBytes(16).toString('hex')}`;
const WEB_REDIRECT = 'https://broker.contoso.example/oauth/callback';
const GOOGLE_SERVICE_ACCOUNT = 'broker@project.iam.gserviceaccount.com';
const GMAIL_USER = 'ada@example.com';
const IMAP_APP_SCOPE = 'https://outlook.office365.com/.default';

interface App {
  readonly clientId: string;
  readonly secret: string;
}

const app = (): App => ({ clientId: randomUUID(), secret: secret('s3cr3t') });
/** One application per client-credentials mailbox: mailboxes of one application would share a token line. */
const APPS = {
  ccSecret: app(),
  generic: app(),
  wrongSecret: app(),
  throttled: app(),
  unreachable: app(),
  untrusted: app(),
  viaProxy: app(),
  badProxy: app(),
  web: app(),
} as const;
const WRONG_SECRET = secret('not-the-secret');
const PUBLIC_APP = randomUUID();
const CERT_APP = randomUUID();

/** What is expected of each mailbox once the daemon has warmed it (or failed to). */
const WARM: Record<string, 'READY' | 'FAILING' | 'NEEDS_AUTHORIZATION' | 'IDLE'> = {
  'cc-secret': 'READY',
  'cc-certificate': 'READY',
  'generic-oidc': 'READY',
  'google-service-account': 'READY',
  ropc: 'READY',
  'consent-user': 'READY',
  throttled: 'READY',
  'via-proxy': 'READY',
  // ropc-deprecated is on demand: not warmed at start.
  'ropc-legacy': 'IDLE',
  'code-user': 'NEEDS_AUTHORIZATION',
  'device-user': 'NEEDS_AUTHORIZATION',
  'wrong-secret': 'FAILING',
  unreachable: 'FAILING',
  untrusted: 'FAILING',
  'bad-proxy': 'FAILING',
};

const quoted = (value: string): string => JSON.stringify(value);

describe('the daemon at trace level, through every grant and failure, prints no secret', { skip: squidBinary.skip || redisServerBinary.skip }, () => {
  let directory: string;
  let sandbox: Sandbox;
  let google: GoogleSandbox;
  let squid: Squid;
  let redis: RedisServer;
  let daemon: DaemonProcess;
  let address: string;
  let client: TokenBrokerClient;
  let adminKeyFile: string;
  const secrets = new SeenSecrets();
  /** What the CLI and the clients were shown, by where: searched with the daemon's output at the end. */
  const seen = new Map<string, string>();
  /** Tokens the clients received, with their SASL strings: secrets too, wherever else they show. */
  const received: BrokerToken[] = [];

  const cli = async (args: readonly string[], input?: string): Promise<CliResult> => {
    const result = await runCli([...args, '--socket', address, '--key-file', adminKeyFile], {}, 60_000, input);
    seen.set(`token-broker ${args.join(' ')} (${seen.size})`, `${result.stdout}\n${result.stderr}`);
    return result;
  };
  const getToken = async (mailbox: string): Promise<BrokerToken> => {
    const token = await client.getToken(mailbox);
    received.push(token);
    return token;
  };
  const failure = async (promise: Promise<unknown>): Promise<ServiceError> => {
    const error = await promise.then(
      () => assert.fail('expected a failure'),
      (thrown: unknown) => thrown as ServiceError,
    );
    seen.set(`gRPC error ${seen.size}`, `${error.details}\n${JSON.stringify(error.metadata?.getMap() ?? {})}`);
    return error;
  };
  const statusOf = async (mailbox: string): Promise<BrokerMailboxStatus> => {
    const status = await client.getMailboxStatus(mailbox);
    seen.set(`status of ${mailbox} (${seen.size})`, JSON.stringify(status));
    return status;
  };
  /** Waits until the mailbox has left `state` (an acquisition in flight, a failure being retried). */
  const waitForState = (mailbox: string, state: string): Promise<BrokerMailboxStatus> =>
    eventually(async () => {
      const status = await statusOf(mailbox);
      // The gRPC face has no IDLE: STATE_UNSPECIFIED stands for it.
      assert.equal(status.state, state === 'IDLE' ? 'STATE_UNSPECIFIED' : state, `${mailbox}: ${status.lastErrorCode} ${status.lastErrorMessage}`);
      return status;
    }, 90_000);
  /** A mail server refused the mailbox's token: the daemon refreshes once, into whatever the sandbox was told to answer. */
  const forceRefresh = async (mailbox: string): Promise<void> => {
    const token = await getToken(mailbox);
    // Connectors quote freely: the refused command (its SASL string) and the token may both be in the reason.
    const reason = `A1 NO AUTHENTICATE failed (sent: AUTHENTICATE XOAUTH2 ${token.saslXoauth2}; token ${token.accessToken})`;
    await client.reportRejected(mailbox, token.accessToken, reason).then(
      (fresh) => void received.push(fresh),
      (error: unknown) => void seen.set(`ReportRejected ${mailbox}`, (error as ServiceError).details),
    );
  };

  before(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'tb-log-secrets-'));
    sandbox = await startSandbox({ deviceCodeIntervalSeconds: 1 });
    google = await startGoogleSandbox();
    squid = await startSquid({ username: PROXY_USER, password: PROXY_PASSWORD });
    redis = await startRedis({ password: REDIS_PASSWORD });

    const certificate = makeCertificate(Date.now() - 3_600_000, Date.now() + 365 * 86_400_000, 'broker-app-pfx');
    const serviceAccountKey = makeCertificate(Date.now() - 60_000, Date.now() + 86_400_000, 'service-account');
    for (const { clientId, secret: clientSecret } of Object.values(APPS)) {
      sandbox.registerApplication({ tenantId: TENANT, clientId, clientSecret, redirectUris: [WEB_REDIRECT] });
    }
    sandbox.registerApplication({ tenantId: TENANT, clientId: PUBLIC_APP, publicClient: true });
    sandbox.registerApplication({ tenantId: TENANT, clientId: CERT_APP, certificates: [certificate.certificatePem] });
    sandbox.registerUser({ tenantId: TENANT, username: ALICE, password: ALICE_PASSWORD });
    google.registerUser(GMAIL_USER);
    google.registerServiceAccount({ clientId: GOOGLE_SERVICE_ACCOUNT, certificatePem: serviceAccountKey.certificatePem });

    await writeFile(path.join(directory, 'ca.pem'), sandbox.caCertificatePem);
    await writeFile(path.join(directory, 'google-ca.pem'), google.caCertificatePem);
    await writeFile(path.join(directory, 'alice-password'), `${ALICE_PASSWORD}\n`, { mode: 0o600 });
    await writeFile(path.join(directory, 'proxy-password'), `${PROXY_PASSWORD}\n`, { mode: 0o600 });
    await writeFile(path.join(directory, 'app.pfx'), pfx(certificate, PFX_PASSWORD), { mode: 0o600 });
    await writeFile(path.join(directory, 'service-account.pem'), serviceAccountKey.certificatePem + serviceAccountKey.keyPem, { mode: 0o600 });
    adminKeyFile = path.join(directory, 'admin.key');
    await writeFile(adminKeyFile, `${ADMIN_KEY}\n`, { mode: 0o600 });
    const closedPort = await freePort();
    address = `unix://${path.join(directory, 'broker.sock')}`;

    const clientCredentials = (name: string, owner: App, extra = ''): string => `  ${name}:
    protocol: imap
    grantType: client-credentials
    tenantId: ${TENANT}
    clientId: ${owner.clientId}
    clientSecret: ${quoted(owner.secret)}
    username: ${name}@contoso.example
${extra}`;
    const configFile = path.join(directory, 'broker.yaml');
    await writeFile(
      configFile,
      `server:
  listen: ["${address}"]
  clients:
    - { name: ops, key: "${ADMIN_KEY}", mailboxes: ["*"], admin: true }
    - { name: connector, key: "${CONNECTOR_KEY}", mailboxes: ["*"] }
store:
  url: "redis://:\${REDIS_PASSWORD}@127.0.0.1:${redis.port}/0"
  encryptionKeyFile: store.key
audit: { file: audit.jsonl }
proxies:
  corp: { url: "${squid.url}", username: ${PROXY_USER}, passwordFile: proxy-password }
  corp-bad: { url: "${squid.url}", username: ${PROXY_USER}, password: ${quoted(WRONG_PROXY_PASSWORD)} }
authorizationServers:
  microsoft: { authorityHost: "${sandbox.url}", caFile: ca.pem }
  entra-untrusted: { type: microsoft, authorityHost: "${sandbox.url}" }
  entra-generic: { type: generic, tokenEndpoint: "${sandbox.url}/${TENANT}/oauth2/v2.0/token", caFile: ca.pem }
  nowhere: { type: generic, tokenEndpoint: "https://127.0.0.1:${closedPort}/token" }
  google:
    authorizationEndpoint: ${google.endpoints.authorizationEndpoint}
    tokenEndpoint: ${google.endpoints.tokenEndpoint}
    deviceAuthorizationEndpoint: ${google.endpoints.deviceAuthorizationEndpoint}
    caFile: google-ca.pem
mailboxes:
${clientCredentials('cc-secret', APPS.ccSecret)}${clientCredentials('wrong-secret', { clientId: APPS.wrongSecret.clientId, secret: WRONG_SECRET })}${clientCredentials('throttled', APPS.throttled)}${clientCredentials('untrusted', APPS.untrusted, '    authorizationServer: entra-untrusted\n')}${clientCredentials('via-proxy', APPS.viaProxy, '    proxy: corp\n')}${clientCredentials('bad-proxy', APPS.badProxy, '    proxy: corp-bad\n')}  generic-oidc:
    protocol: imap
    authorizationServer: entra-generic
    grantType: client-credentials
    scopes: ["${IMAP_APP_SCOPE}"]
    clientId: ${APPS.generic.clientId}
    clientSecret: ${quoted(APPS.generic.secret)}
    username: generic@contoso.example
  unreachable:
    protocol: imap
    authorizationServer: nowhere
    grantType: client-credentials
    scopes: ["${IMAP_APP_SCOPE}"]
    clientId: ${APPS.unreachable.clientId}
    clientSecret: ${quoted(APPS.unreachable.secret)}
    username: unreachable@contoso.example
  cc-certificate:
    protocol: imap
    grantType: client-credentials
    tenantId: ${TENANT}
    clientId: ${CERT_APP}
    authenticationMode: certificate
    certificate: { file: app.pfx, thumbprint: "${certificate.sha256}", password: ${quoted(PFX_PASSWORD)} }
    username: shared-box@contoso.example
  google-service-account:
    protocol: imap
    authorizationServer: google
    grantType: client-credentials
    clientId: ${GOOGLE_SERVICE_ACCOUNT}
    authenticationMode: certificate
    certificate: { file: service-account.pem, thumbprint: "${serviceAccountKey.sha1}" }
    username: ${GMAIL_USER}
  ropc:
    protocol: graph
    grantType: ropc
    tenantId: ${TENANT}
    clientId: ${PUBLIC_APP}
    username: ${ALICE}
    passwordFile: alice-password
  consent-user:
    protocol: graph
    grantType: ropc
    tenantId: ${TENANT}
    clientId: ${PUBLIC_APP}
    username: ${ALICE}
    password: ${quoted(ALICE_PASSWORD)}
  ropc-legacy:
    protocol: graph
    grantType: ropc-deprecated
    tenantId: ${TENANT}
    clientId: ${PUBLIC_APP}
    username: ${ALICE}
    passwordFile: alice-password
  code-user:
    protocol: imap
    grantType: authorization-code
    tenantId: ${TENANT}
    clientId: ${APPS.web.clientId}
    clientSecret: ${quoted(APPS.web.secret)}
    redirectUri: ${WEB_REDIRECT}
    redirectPlatform: web
    username: ${ALICE}
  device-user:
    protocol: smtp
    grantType: device-code
    tenantId: ${TENANT}
    clientId: ${PUBLIC_APP}
    username: ${ALICE}
`,
    );
    daemon = await startDaemonProcess(configFile, address, { REDIS_PASSWORD }, ['--log-level', 'trace', '--no-watch-config']);
    client = new TokenBrokerClient({ address, key: ADMIN_KEY });

    // The secrets of the config, with the forms a request carries them in.
    for (const [name, { clientId, secret: clientSecret }] of Object.entries(APPS)) {
      secrets.add(`client secret of ${name}`, clientSecret);
      secrets.add(`HTTP Basic credentials of ${name}`, basicCredentials(clientId, clientSecret));
    }
    const configured: [string, string][] = [
      ['wrong client secret', WRONG_SECRET],
      ['password of the ROPC user', ALICE_PASSWORD],
      ['PFX password', PFX_PASSWORD],
      ['proxy password', PROXY_PASSWORD],
      ['wrong proxy password', WRONG_PROXY_PASSWORD],
      ['proxy Basic credentials', Buffer.from(`${PROXY_USER}:${PROXY_PASSWORD}`).toString('base64')],
      ['wrong proxy Basic credentials', Buffer.from(`${PROXY_USER}:${WRONG_PROXY_PASSWORD}`).toString('base64')],
      ['redis password', REDIS_PASSWORD],
      ['admin client key', ADMIN_KEY],
      ['connector client key', CONNECTOR_KEY],
      ['refused client key', WRONG_KEY],
      ['store key', (await readFile(path.join(directory, 'store.key'), 'utf8')).trim()],
    ];
    for (const [what, value] of configured) secrets.add(what, value);
    for (const [what, pem] of [['certificate key', certificate.keyPem], ['service-account key', serviceAccountKey.keyPem]] as const) {
      // A PEM shows line by line: each line of its base64 body is a secret of its own.
      for (const line of pem.split('\n').filter((text) => text.length >= 32 && !text.startsWith('-----'))) secrets.add(what, line);
    }
  });

  after(async () => {
    client?.close();
    await daemon?.stop();
    await Promise.all([sandbox?.close(), google?.close(), squid?.stop(), redis?.stop()]);
    await rm(directory, { recursive: true, force: true });
  });

  test('at start every mailbox is warmed, or fails, and each change of its state is logged once', async () => {
    for (const [mailbox, state] of Object.entries(WARM)) await waitForState(mailbox, state);
    const changes = stateChanges(daemon.stderr());
    for (const [mailbox, state] of Object.entries(WARM)) {
      if (state === 'IDLE') continue;
      const mine = changes.filter((change) => change.mailbox === mailbox);
      assert.equal(mine.at(-1)?.to, state, `${mailbox}: ${JSON.stringify(mine)}`);
      for (const [index, change] of mine.entries()) {
        assert.notEqual(change.from, change.to, `${mailbox}: a line without a change`);
        if (index > 0) assert.equal(change.from, mine[index - 1]?.to, `${mailbox}: the changes must chain`);
      }
    }
    const refused = changes.find((change) => change.mailbox === 'wrong-secret' && change.to === 'FAILING');
    assert.equal(refused?.level, 40, 'a failure is a warning');
    assert.match(refused?.cause ?? '', /AADSTS7000215/);
  });

  test('every grant gets its token', async () => {
    for (const mailbox of ['cc-secret', 'cc-certificate', 'generic-oidc', 'google-service-account', 'ropc', 'ropc-legacy', 'via-proxy']) {
      const token = await getToken(mailbox);
      assert.ok(token.accessToken.length > 20, mailbox);
    }
  });

  test('authorize (CLI): an authorization code pasted back, a device code approved, a client-credentials mailbox acquired', async () => {
    sandbox.signInAs(ALICE);
    const code = startCli(['authorize', 'code-user', '--socket', address, '--key-file', adminKeyFile]);
    const [, authorizationUrl = ''] = await code.waitForStdout(/^\s+(https:\S+)$/m);
    const redirectUrl = await signInRedirect(authorizationUrl, sandbox.caCertificatePem);
    code.write(`${redirectUrl}\n`);
    const coded = await code.exit;
    seen.set('token-broker authorize code-user', `${coded.stdout}\n${coded.stderr}`);
    assert.equal(coded.code, 0, coded.stderr);

    const device = startCli(['authorize', 'device-user', '--socket', address, '--key-file', adminKeyFile]);
    const [, , userCode = ''] = await device.waitForStdout(/To authorize mailbox device-user, open (\S+) and enter the code (\S+)$/m);
    sandbox.approveDeviceCode(userCode, ALICE);
    const devised = await device.exit;
    seen.set('token-broker authorize device-user', `${devised.stdout}\n${devised.stderr}`);
    assert.equal(devised.code, 0, devised.stderr);

    assert.equal((await cli(['authorize', 'cc-secret'])).code, 0);
    for (const mailbox of ['code-user', 'device-user']) await getToken(mailbox);
  });

  test('token and status (CLI): the token printed is the one served; nothing else shows it', async () => {
    const token = await getToken('cc-secret');
    for (const flags of [[], ['--xoauth2'], ['--oauthbearer']]) {
      const result = await runCli(['token', 'cc-secret', ...flags, '--socket', address, '--key-file', adminKeyFile]);
      assert.equal(result.code, 0, result.stderr);
      const expected = flags.length === 0 ? token.accessToken : flags[0] === '--xoauth2' ? token.saslXoauth2 : token.saslOauthbearer;
      // Printing the token is the command's job: stdout holds exactly it, and stderr must not.
      assert.equal(result.stdout.trim(), expected);
      seen.set(`token-broker token cc-secret ${flags.join(' ')} (stderr)`, result.stderr);
    }
    assert.notEqual((await cli(['token', 'wrong-secret'])).code, 0);
    assert.equal((await cli(['status'])).code, 0);
    assert.equal((await cli(['status', '--json'])).code, 0);
  });

  test('failures: a quoting server, consent missing, throttling, a refused client key, revoked refresh tokens', async () => {
    // A short (opaque) token quoted whole in the reason, as a log or audit excerpt of 200 characters would keep it.
    const opaque = await getToken('google-service-account');
    await client.reportRejected('google-service-account', opaque.accessToken, `-ERR [AUTH] token ${opaque.accessToken} refused`).then((fresh) => void received.push(fresh));

    // A server that quotes the request back, client secret and all.
    sandbox.faultNext({ kind: 'echo' });
    await forceRefresh('cc-secret');
    await failure(client.getToken('wrong-secret'));

    sandbox.failNext({ status: 400, error: 'invalid_grant', aadsts: 65001, description: "The user or administrator has not consented to use the application. Send an interactive authorization request for this user and resource." });
    await forceRefresh('consent-user');
    const consent = await statusOf('consent-user');
    assert.notEqual(consent.state, 'READY', 'consent missing is a failure');

    sandbox.throttleNext({ status: 429, retryAfter: 1 });
    await forceRefresh('throttled');

    const refused = new TokenBrokerClient({ address, key: WRONG_KEY });
    try {
      await failure(refused.getToken('cc-secret'));
    } finally {
      refused.close();
    }

    sandbox.revokeUserSessions(ALICE);
    await forceRefresh('code-user');
    await forceRefresh('device-user');
    for (const mailbox of ['code-user', 'device-user']) await waitForState(mailbox, 'NEEDS_AUTHORIZATION');
    // Mailboxes without a token: their callers get the failure, over gRPC and in the CLI.
    for (const mailbox of ['wrong-secret', 'unreachable', 'untrusted', 'bad-proxy']) await failure(client.getToken(mailbox));
    assert.notEqual((await cli(['token', 'bad-proxy'])).code, 0);
    await waitForState('throttled', 'READY');
  });

  test('the store gone: acquisitions fail with store_unavailable, and the daemon says so', async () => {
    await redis.kill();
    try {
      await forceRefresh('ropc');
      await eventually(async () => {
        const status = await statusOf('ropc');
        assert.equal(status.lastErrorCode, 'store_unavailable', status.lastErrorMessage);
      }, 90_000);
      await cli(['status']);
    } finally {
      await redis.start();
    }
  });

  test('nothing the daemon or the CLI printed shows a secret, in any encoding', async () => {
    for (const { kind, value } of [...sandbox.secretsSeen(), ...google.secretsSeen()]) secrets.add(`${kind} the sandbox issued or received`, value);
    for (const token of received) {
      secrets.add(`access token of ${token.mailbox}`, token.accessToken);
      secrets.add(`SASL XOAUTH2 string of ${token.mailbox}`, token.saslXoauth2);
      secrets.add(`SASL OAUTHBEARER string of ${token.mailbox}`, token.saslOauthbearer);
      secrets.add(`SASL XOAUTH2 string of ${token.mailbox}`, saslXoauth2(token.username, token.accessToken));
      secrets.add(`SASL OAUTHBEARER string of ${token.mailbox}`, saslOauthbearer(token.username, token.accessToken));
    }
    const kinds = new Set([...sandbox.secretsSeen(), ...google.secretsSeen()].map((seenSecret) => seenSecret.kind));
    for (const kind of ['access_token', 'refresh_token', 'authorization_code', 'device_code', 'code_verifier', 'client_assertion', 'assertion', 'client_secret', 'password'] as const) {
      assert.ok(kinds.has(kind), `the run never used a ${kind}: the scan would prove nothing about it`);
    }
    // The scan can fail: what the clients were given is found in what they were given.
    assert.ok(secrets.findIn('self-check', JSON.stringify(received)).length >= received.length, 'the tokens received are among the secrets searched for');
    const output = daemon.stderr();
    assert.match(output, /"level":20,/, 'the daemon logged at debug level and below');
    const found = [
      ...secrets.findIn('the daemon\'s log (stderr)', output),
      ...secrets.findIn('the daemon\'s stdout', daemon.stdout()),
      ...secrets.findIn('the audit log', await readFile(path.join(directory, 'audit.jsonl'), 'utf8')),
      ...[...seen].flatMap(([source, text]) => secrets.findIn(source, text)),
    ];
    assert.deepEqual(found, [], found.join('\n'));
  });
});

interface LoggedChange {
  readonly level: number;
  readonly mailbox: string;
  readonly from: string;
  readonly to: string;
  readonly cause: string;
}

/** The state-change lines of a pino log, in order. */
function stateChanges(log: string): LoggedChange[] {
  return log
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Partial<LoggedChange>)
    .filter((entry): entry is LoggedChange => typeof entry.from === 'string' && typeof entry.to === 'string' && typeof entry.mailbox === 'string');
}
