// The requests an interactive authorization sends count like any other in the
// metrics: the redemption of a redirect's code (CompleteAuthorization) and a
// device code's outcome reach the engine's onTokenRequest observer with the
// mailbox's server and grant, "ok" or the failure's code.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TokenBroker } from '../../src/broker/index.js';
import type { TokenResult } from '../../src/broker/index.js';
import type { AuthorizationStart } from '../../src/broker/grants/grant.js';
import type { TokenRequest } from '../../src/broker/token-request-observer.js';
import type { MailboxConfig } from '../../src/config/index.js';
import { BrokerError } from '../../src/errors/index.js';
import { HttpTransport } from '../../src/http/index.js';
import { silentLogger } from '../../src/logging/index.js';
import { ManualClock } from '../../src/time/index.js';
import { memoryStore, testMailbox } from '../support/mailbox.js';
import { ScriptedGrant } from '../support/scripted-grant.js';

const HOUR = 3_600_000;

/** A redirect grant whose code redemption answers `redeem()`, and a device-code one whose completion the test settles. */
class InteractiveGrant extends ScriptedGrant {
  settleDeviceCode: ((result: TokenResult | Error) => void) | undefined;
  constructor(
    private readonly clock: ManualClock,
    private readonly kind: 'redirect' | 'device-code',
    private readonly redeem: () => Promise<TokenResult>,
  ) {
    super(true);
  }
  startAuthorization(): Promise<AuthorizationStart> {
    if (this.kind === 'redirect') {
      const pending = { state: 'state-1', codeVerifier: 'v', redirectUri: 'https://broker.example/cb', expiresAt: this.clock.now() + HOUR };
      return Promise.resolve({ kind: 'redirect', authorizationUrl: 'https://login.example/authorize', pending });
    }
    const completion = new Promise<TokenResult>((resolve, reject) => {
      this.settleDeviceCode = (result) => (result instanceof Error ? reject(result) : resolve(result));
    });
    return Promise.resolve({
      kind: 'device-code',
      userCode: 'ABCD-EFGH',
      verificationUri: 'https://login.example/device',
      message: 'enter the code',
      expiresAt: this.clock.now() + HOUR,
      completion,
      cancel: () => undefined,
    } as AuthorizationStart);
  }
  completeAuthorization(): Promise<TokenResult> {
    return this.redeem();
  }
}

async function engineWith(mailbox: MailboxConfig, grant: InteractiveGrant, clock: ManualClock): Promise<{ broker: TokenBroker; seen: [TokenRequest, string][] }> {
  const seen: [TokenRequest, string][] = [];
  const logger = silentLogger();
  const broker = new TokenBroker({
    mailboxes: [mailbox],
    refresh: { leadTimeSeconds: 300, maxConcurrentPerServer: 16, sweepIntervalSeconds: 10, idleAfterHours: 1, keepAliveDays: 7 },
    clock,
    logger,
    dependencies: { transport: new HttpTransport(), clock, logger },
    store: await memoryStore(),
    grantFactory: () => grant,
    onTokenRequest: (request) => (outcome) => seen.push([request, outcome]),
  });
  await broker.restore();
  return { broker, seen };
}

const token = (clock: ManualClock): TokenResult => ({ accessToken: 'a-new', tokenType: 'Bearer', expiresAt: clock.now() + HOUR, scopes: ['s'], refreshToken: 'rt-new' });

describe('interactive authorizations in the token-request metrics', () => {
  test("a redirect's code redemption counts, ok and failed, with the mailbox's server and grant", async () => {
    const clock = new ManualClock(Date.UTC(2027, 0, 1));
    let redemptions = 0;
    // The first code is refused, the second redeemed.
    const redeem = (): Promise<TokenResult> =>
      ++redemptions === 1 ? Promise.reject(new BrokerError('the code was refused', { code: 'needs_authorization', permanent: true })) : Promise.resolve(token(clock));
    const mailbox = testMailbox({ grantType: 'authorization-code' });
    const { broker, seen } = await engineWith(mailbox, new InteractiveGrant(clock, 'redirect', redeem), clock);
    const request = { server: mailbox.authorizationServer.name, grant: 'authorization-code' };

    let started = await broker.startAuthorization('sales');
    await assert.rejects(broker.completeAuthorization('sales', { redirectUrl: `https://broker.example/cb?code=c&state=${started.state ?? ''}` }));
    assert.deepEqual(seen, [[request, 'needs_authorization']]);

    started = await broker.startAuthorization('sales');
    const status = await broker.completeAuthorization('sales', { redirectUrl: `https://broker.example/cb?code=c&state=${started.state ?? ''}` });
    assert.equal(status.state, 'READY');
    assert.deepEqual(seen, [
      [request, 'needs_authorization'],
      [request, 'ok'],
    ]);
  });

  test("a device code's outcome counts once, when the person has signed in", async () => {
    const clock = new ManualClock(Date.UTC(2027, 0, 1));
    const mailbox = testMailbox({ grantType: 'device-code' });
    const grant = new InteractiveGrant(clock, 'device-code', () => Promise.reject(new Error('not a redirect grant')));
    const { broker, seen } = await engineWith(mailbox, grant, clock);
    await broker.startAuthorization('sales');
    assert.deepEqual(seen, [], 'nothing counted while the person has not signed in');
    grant.settleDeviceCode?.(token(clock));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(seen, [[{ server: mailbox.authorizationServer.name, grant: 'device-code' }, 'ok']]);
  });
});
