// The token-death forecast, source by source (the right date and basis), the
// warnings at 14/7/1 days (once per threshold), and the engine keeping what
// the forecast needs in its store record across a restart. A manual clock
// throughout: nothing waits on real time.
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { classifyOAuthError, TokenBroker } from '../../src/broker/index.js';
import type { TokenResult } from '../../src/broker/index.js';
import type { AuthorizationStart } from '../../src/broker/grants/grant.js';
import { toTokenResult } from '../../src/broker/grants/oidc/token-result.js';
import type { BrokerConfig, MailboxConfig } from '../../src/config/index.js';
import { Secret } from '../../src/config/index.js';
import { BrokerError } from '../../src/errors/index.js';
import {
  DeathWarnings,
  deathLabel,
  mailboxCredentialDeaths,
  parseSignInFrequency,
  serverTlsCertificateDeaths,
  warningLevel,
} from '../../src/forecast/index.js';
import type { CredentialDeath, RefreshTokenFacts } from '../../src/forecast/index.js';
import { forecastCell } from '../../src/cli/commands/status.js';
import type { BrokerCredentialForecast } from '../../src/client/index.js';
import { HttpTransport } from '../../src/http/index.js';
import { silentLogger } from '../../src/logging/index.js';
import { parseRecord, serializeRecord } from '../../src/store/records.js';
import type { TokenStore } from '../../src/store/index.js';
import { ManualClock } from '../../src/time/index.js';
import { makeCertificate } from '../support/certificates.js';
import { captureLogs } from '../support/log-capture.js';
import { memoryStore, testMailbox } from '../support/mailbox.js';
import { ScriptedGrant } from '../support/scripted-grant.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const START = Date.UTC(2026, 0, 1);

const GOOGLE = { name: 'google', type: 'google' as const, scopes: {}, caCertificates: [] };
const userMailbox = (overrides: Partial<MailboxConfig> = {}): MailboxConfig =>
  testMailbox({ name: 'user', grantType: 'authorization-code', username: 'user@contoso.example', ...overrides });
const facts = (overrides: Partial<RefreshTokenFacts>): RefreshTokenFacts => ({ hasRefreshToken: true, ...overrides });
const summary = (deaths: readonly CredentialDeath[]): [string, string, string][] =>
  deaths.map((death) => [death.credential, death.basis, new Date(death.at).toISOString()]);

// Entra's own words, as met in the field (microsoft/azuredatastudio#22853 quotes the template; azure-sdk-for-python#28478,
// simonrob/email-oauth2-proxy#181, purple-teams#26 and AzureAD/microsoft-authentication-library-for-android#2105 the values).
const AADSTS70043_DAY =
  'AADSTS70043: The refresh token has expired or is invalid due to sign-in frequency checks by conditional access. The token was issued on 2023-01-03T06:29:27.4842150Z and the maximum allowed lifetime for this request is 86400.\r\nTrace ID: 28d0f840-d8eb-4d2c-8f1a-a5fdabeb1e00\r\nCorrelation ID: 9bb5a2c1-213b-45a7-9b51-4a9f5daddb46\r\nTimestamp: 2023-01-26 07:53:55Z';
const AADSTS70043_30_DAYS =
  'AADSTS70043: The refresh token has expired or is invalid due to sign-in frequency checks by conditional access. The token was issued on 2024-03-26T07:05:58.0377614Z and the maximum allowed lifetime for this request is 2592000.';

describe('forecast sources', () => {
  test('Entra: 90 days after the last redemption, for user-authorized grants only', () => {
    const usedAt = START + 3 * DAY;
    assert.deepEqual(summary(mailboxCredentialDeaths(userMailbox(), facts({ refreshTokenUsedAt: usedAt }))), [
      ['refresh_token', 'entra_inactivity', new Date(usedAt + 90 * DAY).toISOString()],
    ]);
    const [death] = mailboxCredentialDeaths(userMailbox({ grantType: 'device-code' }), facts({ refreshTokenUsedAt: usedAt }));
    assert.match(death?.reason ?? '', /keepAliveDays/, 'the reason says that keep-alive redeems idle mailboxes');
    assert.deepEqual(mailboxCredentialDeaths(userMailbox(), facts({ hasRefreshToken: false, refreshTokenUsedAt: usedAt })), [], 'no refresh token: nothing dies');
    assert.deepEqual(mailboxCredentialDeaths(userMailbox({ grantType: 'ropc' }), facts({ refreshTokenUsedAt: usedAt })), [], 'ROPC signs in again with its password');
    assert.deepEqual(mailboxCredentialDeaths(userMailbox({ authorizationServer: GOOGLE }), facts({ refreshTokenUsedAt: usedAt })), [], 'not Entra');
  });

  test('Google: refresh_token_expires_in becomes the refresh token\'s stated end', () => {
    const now = START + HOUR;
    const result = toTokenResult(
      { access_token: 'a', token_type: 'bearer', expires_in: 3599, refresh_token: 'rt', refresh_token_expires_in: 604799 } as never,
      { now, requestedScopes: ['https://mail.google.com/'], keepsRefreshToken: true },
    );
    assert.equal(result.refreshTokenExpiresAt, now + 604_799_000);
    const withoutIt = toTokenResult({ access_token: 'a', token_type: 'bearer', expires_in: 3599, refresh_token: 'rt' } as never, { now, requestedScopes: [], keepsRefreshToken: true });
    assert.equal(withoutIt.refreshTokenExpiresAt, undefined, 'access until revoked: no stated end');
    const mailbox = userMailbox({ authorizationServer: GOOGLE });
    assert.deepEqual(summary(mailboxCredentialDeaths(mailbox, facts({ refreshTokenExpiresAt: now + 604_799_000 }))), [
      ['refresh_token', 'server_stated_lifetime', new Date(now + 604_799_000).toISOString()],
    ]);
  });

  test('AADSTS70043: the lifetime and issue date are read from Entra\'s message', () => {
    const statedAt = Date.UTC(2023, 0, 26, 7, 53, 55);
    assert.deepEqual(parseSignInFrequency(AADSTS70043_DAY, statedAt), { lifetimeMs: DAY, tokenIssuedAt: Date.UTC(2023, 0, 3, 6, 29, 27, 484), statedAt });
    assert.equal(parseSignInFrequency(AADSTS70043_30_DAYS, statedAt)?.lifetimeMs, 30 * DAY);
    assert.equal(parseSignInFrequency('AADSTS70043: ... the maximum allowed lifetime for this request is 1.00:00:00.', statedAt)?.lifetimeMs, DAY, 'a TimeSpan');
    assert.equal(parseSignInFrequency('AADSTS70043: The refresh token has expired.', statedAt), undefined, 'no lifetime: no guess');
    assert.equal(parseSignInFrequency(AADSTS70043_DAY.replace('70043', '700082'), statedAt), undefined, 'another AADSTS');
  });

  test('AADSTS70043: the refused token died at issue + lifetime; a later sign-in dies one lifetime after it', () => {
    const statedAt = Date.UTC(2023, 0, 26, 7, 53, 55);
    const stated = parseSignInFrequency(AADSTS70043_DAY, statedAt);
    assert.ok(stated);
    const before = mailboxCredentialDeaths(userMailbox(), facts({ hasRefreshToken: false, statedMaxLifetime: stated, signedInAt: Date.UTC(2023, 0, 3) }));
    assert.deepEqual(summary(before), [['refresh_token', 'server_stated_lifetime', '2023-01-04T06:29:27.484Z']]);
    const signedInAt = statedAt + HOUR;
    const after = mailboxCredentialDeaths(userMailbox(), facts({ refreshTokenUsedAt: signedInAt, statedMaxLifetime: stated, signedInAt }));
    assert.deepEqual(summary(after), [
      ['refresh_token', 'server_stated_lifetime', new Date(signedInAt + DAY).toISOString()],
      ['refresh_token', 'entra_inactivity', new Date(signedInAt + 90 * DAY).toISOString()],
    ]);
    assert.match(after[0]?.reason ?? '', /sign-in frequency .* 1 day/);
  });

  test('Google app in testing: 7 days after the refresh token was issued', () => {
    const issuedAt = START + 2 * HOUR;
    const testing = userMailbox({ authorizationServer: { ...GOOGLE, testingApp: true } });
    assert.deepEqual(summary(mailboxCredentialDeaths(testing, facts({ refreshTokenIssuedAt: issuedAt, refreshTokenUsedAt: issuedAt + 3 * DAY }))), [
      ['refresh_token', 'google_testing_app', new Date(issuedAt + 7 * DAY).toISOString()],
    ]);
    assert.deepEqual(mailboxCredentialDeaths(userMailbox({ authorizationServer: GOOGLE }), facts({ refreshTokenIssuedAt: issuedAt })), [], 'a published app');
  });

  test('client secret end date and certificate notAfter', () => {
    const secretEnd = Date.UTC(2027, 2, 31);
    const app = testMailbox({ clientSecret: new Secret('s3cr3t', 'test'), clientSecretExpiresAt: secretEnd });
    assert.deepEqual(summary(mailboxCredentialDeaths(app, facts({ hasRefreshToken: false }))), [['client_secret', 'secret_end_date', '2027-03-31T00:00:00.000Z']]);
    assert.doesNotMatch(JSON.stringify(mailboxCredentialDeaths(app, facts({ hasRefreshToken: false }))), /s3cr3t/, 'never the secret');
    const notAfter = Date.UTC(2026, 5, 30);
    const certificateApp = testMailbox({ authenticationMode: 'certificate', certificate: { file: '/etc/token-broker/app.pem', thumbprint: 'AB', notAfter } });
    assert.deepEqual(summary(mailboxCredentialDeaths(certificateApp, facts({ hasRefreshToken: false }))), [['certificate', 'certificate_not_after', '2026-06-30T00:00:00.000Z']]);
  });

  test('several sources: earliest first', () => {
    const usedAt = START;
    const mailbox = userMailbox({ redirectPlatform: 'web', clientSecret: new Secret('s', 'test'), clientSecretExpiresAt: START + 30 * DAY });
    assert.deepEqual(
      mailboxCredentialDeaths(mailbox, facts({ refreshTokenUsedAt: usedAt })).map((death) => death.credential),
      ['client_secret', 'refresh_token'],
    );
  });

  test('server.tls: the earliest notAfter of the certificate chain, and of the client CA', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'forecast-tls-'));
    const leaf = makeCertificate(START - DAY, Date.UTC(2026, 3, 1), 'broker');
    const chain = makeCertificate(START - DAY, Date.UTC(2026, 2, 1), 'intermediate');
    const ca = makeCertificate(START - DAY, Date.UTC(2030, 0, 1), 'clients');
    await writeFile(join(dir, 'server.pem'), leaf.certificatePem + chain.certificatePem);
    await writeFile(join(dir, 'clients.pem'), ca.certificatePem);
    const config = { server: { listen: [], socketMode: 0o660, tls: { certFile: join(dir, 'server.pem'), keyFile: join(dir, 'key.pem'), clientCaFile: join(dir, 'clients.pem') } } } as unknown as BrokerConfig;
    const deaths = serverTlsCertificateDeaths(config);
    assert.deepEqual(summary(deaths), [
      ['server_tls_certificate', 'certificate_not_after', '2026-03-01T00:00:00.000Z'],
      ['server_tls_certificate', 'certificate_not_after', '2030-01-01T00:00:00.000Z'],
    ]);
    assert.match(deaths[0]?.reason ?? '', /server\.tls\.certFile/);
    assert.deepEqual(serverTlsCertificateDeaths({ server: { listen: [], socketMode: 0o660 } } as unknown as BrokerConfig), [], 'no TLS, nothing to forecast');
  });
});

describe('forecast warnings', () => {
  const death: CredentialDeath = { credential: 'client_secret', at: START + 20 * DAY, basis: 'secret_end_date', reason: 'renew it.' };

  test('thresholds and the status form', () => {
    assert.equal(warningLevel(death.at, START), undefined);
    assert.equal(warningLevel(death.at, death.at - 14 * DAY), 14);
    assert.equal(warningLevel(death.at, death.at - 7 * DAY + 1), 7);
    assert.equal(warningLevel(death.at, death.at - HOUR), 1);
    assert.equal(warningLevel(death.at, death.at), 'past');
    assert.equal(deathLabel('refresh_token', START + 6 * DAY + HOUR, START), 'refresh token 6d !!');
    assert.equal(deathLabel('client_secret', START + 13 * DAY, START), 'secret 13d !');
    assert.equal(deathLabel('refresh_token', START + 40 * DAY, START), 'refresh token 40d');
    assert.equal(deathLabel('certificate', START + 5 * HOUR, START), 'certificate 5h !!!');
    assert.equal(deathLabel('refresh_token', START - HOUR, START), 'refresh token dead !!!');
  });

  test('the status column: the earliest death, or "-"', () => {
    const forecast = (credential: string, at: number): BrokerCredentialForecast => ({ credential, expectedAt: new Date(at), basis: 'b', reason: 'r' });
    assert.equal(forecastCell([forecast('client_secret', START + 13 * DAY), forecast('refresh_token', START + 80 * DAY)], START), 'secret 13d !');
    assert.equal(forecastCell([], START), '-');
  });

  test('one line per threshold per credential: warn at 14 and 7 days, error at 1 and when past, never twice', () => {
    const logs = captureLogs('info');
    const warnings = new DeathWarnings(logs.logger);
    const said: number[] = [];
    for (let now = START; now <= death.at + 2 * DAY; now += HOUR) said.push(warnings.evaluate([{ mailbox: 'sales', death }], now));
    assert.equal(said.reduce((sum, count) => sum + count, 0), 4, 'four thresholds, four lines, over 22 days of hourly evaluations');
    const lines = logs.text().trim().split('\n').map((line) => JSON.parse(line) as { level: number; threshold: unknown; mailbox: string; msg: string });
    assert.deepEqual(lines.map((line) => [line.level, line.threshold]), [[40, 14], [40, 7], [50, 1], [50, 'past']]);
    assert.match(lines[0]?.msg ?? '', /^mailbox sales: the secret is expected to stop working in 14 days, on 2026-01-21T00:00:00.000Z\. renew it\.$/);
  });

  test('a death that moves away is forgotten, and warned about again when it comes near', () => {
    const logs = captureLogs('info');
    const warnings = new DeathWarnings(logs.logger);
    assert.equal(warnings.evaluate([{ mailbox: 'sales', death }], death.at - 10 * DAY), 1);
    const renewed = { ...death, at: death.at + 365 * DAY };
    assert.equal(warnings.evaluate([{ mailbox: 'sales', death: renewed }], death.at - 9 * DAY), 0);
    assert.equal(warnings.evaluate([{ mailbox: 'sales', death: renewed }], renewed.at - 13 * DAY), 1);
    assert.equal(warnings.evaluate([], renewed.at - 12 * DAY), 0, 'a removed mailbox says nothing');
  });

  test('the mailboxes of one token line share a death: one line, named after the first; another line says its own', () => {
    const logs = captureLogs('info');
    const warnings = new DeathWarnings(logs.logger);
    const subjects = [
      { mailbox: 'sales', death, line: 'app:a' },
      { mailbox: 'support', death, line: 'app:a' },
      { mailbox: 'billing', death, line: 'app:b' },
    ];
    assert.equal(warnings.evaluate(subjects, death.at - 10 * DAY), 2);
    const mailboxes = logs.text().trim().split('\n').map((line) => (JSON.parse(line) as { mailbox: string }).mailbox);
    assert.deepEqual(mailboxes, ['sales', 'billing']);
    assert.equal(warnings.evaluate(subjects, death.at - 9 * DAY), 0, 'said once per threshold, for the line as for one mailbox');
  });
});

describe('the engine and its forecast', () => {
  async function broker(mailboxes: MailboxConfig[], clock: ManualClock, store: TokenStore, logger = silentLogger()): Promise<{ broker: TokenBroker; grants: Map<string, ScriptedGrant> }> {
    const grants = new Map<string, ScriptedGrant>();
    const made = new TokenBroker({
      mailboxes,
      refresh: { leadTimeSeconds: 300, maxConcurrentPerServer: 16, sweepIntervalSeconds: 10, idleAfterHours: 1, keepAliveDays: 7 },
      clock,
      logger,
      dependencies: { transport: new HttpTransport(), clock, logger },
      store,
      retryDelayMs: () => HOUR,
      grantFactory: (mailbox) => {
        const grant = mailbox.grantType === 'authorization-code' ? new AuthorizableGrant(clock) : new ScriptedGrant();
        grants.set(mailbox.name, grant);
        return grant;
      },
    });
    await made.restore();
    return { broker: made, grants };
  }

  test('status carries the forecast, and a restart keeps the stated end and the issue time (store record)', async () => {
    const clock = new ManualClock(START);
    const store = await memoryStore();
    const mailbox = userMailbox({ authorizationServer: { ...GOOGLE, testingApp: true } });
    const first = await broker([mailbox], clock, store);
    const token = first.broker.getToken('user');
    first.grants.get('user')?.answer({ accessToken: 'a1', tokenType: 'Bearer', expiresAt: clock.now() + HOUR, scopes: ['s'], refreshToken: 'rt-1', refreshTokenExpiresAt: START + 5 * DAY });
    await token;
    const expected = [
      ['refresh_token', 'server_stated_lifetime', new Date(START + 5 * DAY).toISOString()],
      ['refresh_token', 'google_testing_app', new Date(START + 7 * DAY).toISOString()],
    ];
    assert.deepEqual(summary(first.broker.status('user').credentialDeaths ?? []), expected);

    // A refresh a day later (Google does not rotate): the issue time stays, the stated end too.
    clock.advance(DAY);
    const refreshed = first.broker.getToken('user');
    first.grants.get('user')?.succeed('a2', clock.now() + HOUR);
    await refreshed;
    assert.deepEqual(summary(first.broker.status('user').credentialDeaths ?? []), expected);

    const second = await broker([mailbox], clock, store);
    assert.deepEqual(summary(second.broker.status('user').credentialDeaths ?? []), expected, 'the same forecast after a restart');
    assert.equal(second.grants.get('user')?.calls, 0, 'from the store, not from a new request');
  });

  test('AADSTS70043 is kept and forecasts the next sign-in', async () => {
    const clock = new ManualClock(START);
    const store = await memoryStore();
    const { broker: engine, grants } = await broker([userMailbox()], clock, store);
    const first = engine.getToken('user');
    grants.get('user')?.succeed('a1', clock.now() + HOUR, 'rt-1');
    await first;
    clock.advance(2 * HOUR);
    const refused = engine.getToken('user');
    // Entra's answer as the grants classify it (msal-node and openid-client alike): the description is kept whole.
    grants.get('user')?.fail(classifyOAuthError({ error: 'invalid_grant', errorDescription: AADSTS70043_DAY, httpStatus: 400 }, { mailbox: 'user', authorizationServer: 'microsoft', grantType: 'authorization-code' }));
    await assert.rejects(refused);
    const [dead] = engine.status('user').credentialDeaths ?? [];
    assert.deepEqual(dead === undefined ? [] : summary([dead]), [['refresh_token', 'server_stated_lifetime', '2023-01-04T06:29:27.484Z']]);
    // token-broker authorize (after a restart: the stated lifetime is in the record): a new sign-in, which the same policy ends a day later.
    clock.advance(HOUR);
    const restarted = await broker([userMailbox()], clock, store);
    const signedInAt = clock.now();
    const started = await restarted.broker.startAuthorization('user');
    const status = await restarted.broker.completeAuthorization('user', { redirectUrl: `https://broker.example/cb?code=c&state=${started.state ?? ''}` });
    assert.equal(status.state, 'READY');
    assert.deepEqual(summary(status.credentialDeaths ?? []), [
      ['refresh_token', 'server_stated_lifetime', new Date(signedInAt + DAY).toISOString()],
      ['refresh_token', 'entra_inactivity', new Date(signedInAt + 90 * DAY).toISOString()],
    ]);
  });

  test('the sweep warns once per threshold while keep-alive keeps failing, and not again', async () => {
    const clock = new ManualClock(START);
    const logs = captureLogs('info');
    const { broker: engine, grants } = await broker([userMailbox()], clock, await memoryStore(), logs.logger);
    const first = engine.getToken('user');
    grants.get('user')?.succeed('a1', clock.now() + HOUR, 'rt-1');
    await first;
    // Idle from now on; every keep-alive fails (a network that never comes back), so the 90 days run out.
    for (let hour = 1; hour <= 92 * 24; hour++) {
      clock.advance(HOUR);
      engine.sweep();
      const grant = grants.get('user');
      while ((grant?.pending ?? 0) > 0) grant?.fail(new BrokerError('unreachable', { code: 'server_unreachable' }));
      await new Promise((resolve) => setImmediate(resolve));
    }
    const warnings = logs
      .text()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { threshold?: unknown; level: number; expectedAt?: string })
      .filter((line) => line.threshold !== undefined);
    assert.deepEqual(warnings.map((line) => [line.level, line.threshold]), [[40, 14], [40, 7], [50, 1], [50, 'past']]);
    assert.ok(warnings.every((line) => line.expectedAt === new Date(START + 90 * DAY).toISOString()));
  });

  test('a reload that dates a secret within 14 days warns at once, not at the next hourly look', async () => {
    const clock = new ManualClock(START);
    const logs = captureLogs('info');
    const app = testMailbox({ clientSecret: new Secret('s', 'test') });
    const { broker: engine, grants } = await broker([app], clock, await memoryStore(), logs.logger);
    engine.sweep();
    grants.get('sales')?.succeed('a1', clock.now() + HOUR);
    await new Promise((resolve) => setImmediate(resolve));
    clock.advance(60_000);
    await engine.reload({
      mailboxes: [{ ...app, clientSecretExpiresAt: clock.now() + 10 * DAY }],
      refresh: { leadTimeSeconds: 300, maxConcurrentPerServer: 16, sweepIntervalSeconds: 10, idleAfterHours: 1, keepAliveDays: 7 },
    });
    const warnings = logs.text().split('\n').filter((line) => line.includes('"threshold":14'));
    assert.equal(warnings.length, 1, 'the 14-day warning of the new end date');
  });
});

/** A scripted grant a person can authorize (redirect flow): completing it answers with a new refresh token. */
class AuthorizableGrant extends ScriptedGrant {
  constructor(private readonly clock: ManualClock) {
    super(true);
  }
  startAuthorization(): Promise<AuthorizationStart> {
    const pending = { state: 'state-1', codeVerifier: 'v', redirectUri: 'https://broker.example/cb', expiresAt: this.clock.now() + HOUR };
    return Promise.resolve({ kind: 'redirect', authorizationUrl: 'https://login.example/authorize', pending });
  }
  completeAuthorization(): Promise<TokenResult> {
    return Promise.resolve({ accessToken: 'a-new', tokenType: 'Bearer', expiresAt: this.clock.now() + HOUR, scopes: ['s'], refreshToken: 'rt-new' });
  }
}

describe('store records', () => {
  test('the forecast fields round-trip, and a record of an earlier version still reads', () => {
    const record = {
      fingerprint: 'f',
      refreshToken: 'rt',
      refreshTokenUsedAt: 1,
      refreshTokenIssuedAt: 2,
      refreshTokenExpiresAt: 3,
      signedInAt: 4,
      statedMaxLifetime: { lifetimeMs: DAY, tokenIssuedAt: 5, statedAt: 6 },
    };
    const text = serializeRecord('mailbox', record);
    assert.ok(text);
    assert.deepEqual(parseRecord('mailbox', text), record);
    assert.deepEqual(parseRecord('mailbox', JSON.stringify({ fingerprint: 'f', refreshToken: 'rt', refreshTokenUsedAt: 1 })), { fingerprint: 'f', refreshToken: 'rt', refreshTokenUsedAt: 1 });
  });
});
