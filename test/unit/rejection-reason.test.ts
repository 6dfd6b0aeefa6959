// ReportRejected's reason is text a connector passes on (what the mail
// server answered, often with the command it refused): the broker logs it
// for ops, so the token it quotes, bare or inside a SASL string, must not
// reach the log. Found by the trace-level secret scan of issue 15.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenBroker } from '../../src/broker/index.js';
import { saslOauthbearer, saslXoauth2 } from '../../src/broker/sasl-strings.js';
import { HttpTransport } from '../../src/http/index.js';
import { silentLogger } from '../../src/logging/index.js';
import { ManualClock } from '../../src/time/index.js';
import { captureLogs } from '../support/log-capture.js';
import { memoryStore, testMailbox } from '../support/mailbox.js';
import { ScriptedGrant } from '../support/scripted-grant.js';

const HOUR = 3_600_000;

describe('ReportRejected: the reason is logged without the token it quotes', () => {
  test('the rejected token, bare, as a SASL XOAUTH2 or OAUTHBEARER string, and the current token are redacted; the rest of the reason is kept', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const logs = captureLogs('trace');
    const grant = new ScriptedGrant();
    const broker = new TokenBroker({
      mailboxes: [testMailbox()],
      refresh: { leadTimeSeconds: 300, maxConcurrentPerServer: 16, sweepIntervalSeconds: 10, idleAfterHours: 24, keepAliveDays: 7 },
      clock,
      logger: logs.logger,
      dependencies: { transport: new HttpTransport(), clock, logger: silentLogger() },
      store: await memoryStore(),
      grantFactory: () => grant,
    });
    const token = 'opaque-access-token-0123456789abcdef';
    const first = broker.getToken('sales');
    grant.succeed(token, clock.now() + HOUR);
    await first;
    const user = 'sales@contoso.example';
    const stale = 'an-older-token-9876543210fedcba';
    const reasons = [
      `A1 NO AUTHENTICATE failed. (sent: AUTHENTICATE XOAUTH2 ${saslXoauth2(user, token)})`,
      `535 5.7.3 Authentication unsuccessful for ${saslOauthbearer(user, token)}`,
      `-ERR token ${token} refused`,
    ];
    for (const reason of reasons) {
      const refreshed = broker.reportRejected('sales', token, reason);
      if (grant.pending > 0) grant.succeed(`${token}-next`, clock.now() + HOUR);
      await refreshed;
    }
    await broker.reportRejected('sales', stale, `-ERR ${stale} is not valid`);
    const text = logs.text();
    for (const secret of [token, stale, saslXoauth2(user, token), saslOauthbearer(user, token)]) {
      assert.ok(!text.includes(secret), `${secret} in the log:\n${text}`);
    }
    assert.match(text, /A1 NO AUTHENTICATE failed\. \(sent: AUTHENTICATE XOAUTH2 \[redacted\]\)/);
    assert.match(text, /-ERR token \[redacted\] refused/);
  });
});
