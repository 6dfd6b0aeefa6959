// Two brokers on one real redis-server, 50 mailboxes (50 applications, so 50
// token lines) with short-lived tokens: every token is refreshed exactly once
// per cycle whichever instance does it (the sandbox sees each application's
// requests spaced a cycle apart, never two in one cycle), both instances serve
// the newest token and push it to their watchers, and when one instance is
// SIGKILLed the other goes on serving and refreshing without a gap.
// The default suite runs each phase until every application has had one
// refresh in it; TOKEN_BROKER_SOAK=1 (npm run test:soak) runs them for 30 s each.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient } from '@redis/client';
import { TokenBrokerClient } from '../../src/client/index.js';
import type { BrokerToken } from '../../src/client/index.js';
import { startSandbox } from '../../src/sandbox/index.js';
import { eventually } from '../support/assertions.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { clientCredentialsMailbox } from '../support/broker-environment.js';
import { startDaemonProcess } from '../support/daemon-process.js';
import type { DaemonProcess } from '../support/daemon-process.js';
import { redisServerBinary, startRedis } from '../support/redis.js';
import type { RedisServer } from '../support/redis.js';

const TENANT = randomUUID();
const MAILBOXES = Array.from({ length: 50 }, (_, index) => ({ name: `box-${String(index).padStart(2, '0')}`, clientId: randomUUID() }));
/**
 * Tokens live 24 s and are refreshed 12 s (plus up to 20 % jitter) before
 * expiry: a cycle of 9.6 to 12 s. A token therefore always has more than
 * 12 s left when it comes due, longer than a dead holder's lock takes to
 * expire, so even a kill in the middle of a refresh leaves the survivor a
 * valid token.
 */
const LIFETIME_S = 24;
const LEAD_S = 12;
const MIN_CYCLE_MS = (LIFETIME_S - LEAD_S * 1.2) * 1000;
/** The soak's phases; the default suite ends each phase once every application was refreshed in it. */
const SOAK = process.env.TOKEN_BROKER_SOAK === '1';
const TOGETHER_MS = 30_000;
const AFTER_KILL_MS = 30_000;

describe('several instances on one redis', { skip: redisServerBinary.skip }, () => {
  let redis: RedisServer;
  let sandbox: Sandbox;
  let directory: string;
  const daemons: DaemonProcess[] = [];
  const clients: TokenBrokerClient[] = [];
  /** Token requests per application, with when the sandbox answered them. */
  const requests = new Map<string, number[]>();

  before(async () => {
    redis = await startRedis();
    sandbox = await startSandbox({ accessTokenLifetimeSeconds: LIFETIME_S });
    for (const { clientId } of MAILBOXES) sandbox.registerApplication({ tenantId: TENANT, clientId, clientSecret: 'app-secret' });
    sandbox.hooks.beforeTokenResponse = (info) => {
      const times = requests.get(info.clientId.toLowerCase()) ?? [];
      times.push(Date.now());
      requests.set(info.clientId.toLowerCase(), times);
    };
    directory = await mkdtemp(path.join(tmpdir(), 'tb-instances-'));
    await writeFile(path.join(directory, 'ca.pem'), sandbox.caCertificatePem);
    for (const instance of ['a', 'b']) {
      const address = `unix://${path.join(directory, `${instance}.sock`)}`;
      const configFile = path.join(directory, `${instance}.yaml`);
      await writeFile(
        configFile,
        `server: { listen: ["${address}"] }
store: { url: "${redis.url}", encryptionKeyFile: store.key }
refresh: { leadTimeSeconds: ${LEAD_S}, sweepIntervalSeconds: 1 }
authorizationServers:
  microsoft: { authorityHost: "${sandbox.url}", caFile: ca.pem }
mailboxes:
${MAILBOXES.map(({ name, clientId }) => clientCredentialsMailbox(name, TENANT, clientId, 'app-secret')).join('')}`,
      );
      // The second instance starts with the key file the first generated: one store, one key.
      daemons.push(await startDaemonProcess(configFile, address));
      clients.push(new TokenBrokerClient({ address }));
    }
  });

  after(async () => {
    for (const client of clients) client.close();
    for (const daemon of daemons) await daemon.stop();
    await sandbox?.close();
    await redis?.stop();
    if (directory !== undefined) await rm(directory, { recursive: true, force: true });
  });

  test('each token is refreshed once per cycle; both serve it; a killed instance does not interrupt the other', async () => {
    const [clientA, clientB] = clients;
    const [daemonA] = daemons;
    assert.ok(clientA && clientB && daemonA);
    // The watcher on B sees tokens whichever instance obtained them.
    const watched: BrokerToken[] = [];
    const watch = clientB.watchToken('box-00', (token) => watched.push(token), () => undefined, { minValiditySeconds: 1 });

    const problems: string[] = [];
    /** Calls GetToken for every mailbox, in rounds a quarter second apart, until `done()`. */
    const poll = async (client: TokenBrokerClient, label: string, done: () => boolean): Promise<number> => {
      let calls = 0;
      while (!done()) {
        for (const { name } of MAILBOXES) {
          const sentAt = Date.now();
          try {
            const token = await client.getToken(name, { minValiditySeconds: 1 });
            // Valid for 1 s from when the broker answered, which is after the call was sent.
            if (token.expiresAt.getTime() < sentAt + 1_000) problems.push(`${label} ${name}: a token about to expire`);
          } catch (error) {
            problems.push(`${label} ${name}: ${error instanceof Error ? error.message : String(error)}`);
          }
          calls++;
        }
        // The pace of a connector polling its mailboxes; nothing waits on it.
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      return calls;
    };
    /** Whether every application's token was requested again (a refresh) since `since`, or the soak's time ran out. */
    const phaseOver = (since: number, soakMs: number): (() => boolean) => {
      const until = since + soakMs;
      return () => (SOAK ? Date.now() >= until : MAILBOXES.every(({ clientId }) => (requests.get(clientId.toLowerCase()) ?? []).some((time) => time > since)));
    };

    // Every application has its first token (the warm-up) before the first phase starts counting refreshes.
    await eventually(() => assert.ok(MAILBOXES.every(({ clientId }) => requests.has(clientId.toLowerCase())), 'not every application has its first token yet'));
    const startedTogether = Date.now();
    const together = phaseOver(startedTogether, TOGETHER_MS);
    await Promise.all([poll(clientA, 'A', together), poll(clientB, 'B', together)]);
    // A is killed when it has no refresh in flight: both instances serve, for every mailbox, the token of its
    // application's latest request (a refresh whose answer died with A would be requested again within the cycle).
    // A refresh may land between two calls, and the other instance hears of it a moment later: hence eventually.
    // The broker dates a token from when it sent the request (msal, whole seconds), the sandbox from its answer:
    // the latest token expires well after half a cycle before `latest + lifetime`, the one before it well before.
    await eventually(async () => {
      for (const { name, clientId } of MAILBOXES) {
        const latest = (requests.get(clientId.toLowerCase()) ?? []).at(-1) ?? 0;
        const [fromA, fromB]: [BrokerToken, BrokerToken] = await Promise.all([clientA.getToken(name, { minValiditySeconds: 1 }), clientB.getToken(name, { minValiditySeconds: 1 })]);
        assert.equal(fromA.accessToken, fromB.accessToken, `${name}: the instances serve different tokens`);
        assert.ok(fromA.expiresAt.getTime() >= latest + LIFETIME_S * 1000 - MIN_CYCLE_MS / 2, `${name}: the token of its latest request is not served yet`);
      }
    });

    daemonA.child.kill('SIGKILL');
    const killedAt = Date.now();
    await poll(clientB, 'B after the kill', phaseOver(killedAt, AFTER_KILL_MS));
    watch.cancel();

    assert.deepEqual(problems, [], 'every GetToken served at once with a valid token');
    for (const { name, clientId } of MAILBOXES) {
      const times = requests.get(clientId.toLowerCase()) ?? [];
      for (let index = 1; index < times.length; index++) {
        const gap = (times[index] ?? 0) - (times[index - 1] ?? 0);
        assert.ok(gap >= MIN_CYCLE_MS - 1_500, `${name}: two token requests ${gap} ms apart, within one refresh cycle`);
      }
      // Warm-up plus at least one refresh together and after the kill: the work went on.
      const afterKill = times.filter((time) => time > killedAt).length;
      assert.ok(afterKill >= 1, `${name}: no refresh after instance A was killed`);
      if (SOAK) assert.ok(times.length >= 1 + Math.floor((TOGETHER_MS + AFTER_KILL_MS) / (LIFETIME_S * 1000)), `${name}: only ${times.length} token requests`);
      else assert.ok(times.filter((time) => time > startedTogether).length >= 2, `${name}: not refreshed in both phases`);
    }
    const box00 = requests.get(MAILBOXES[0]?.clientId.toLowerCase() ?? '') ?? [];
    const pushed = new Set(watched.map((token) => token.accessToken));
    assert.ok(pushed.size >= box00.length - 1, `the watch on B saw ${pushed.size} tokens of ${box00.length} issued`);

    // One record per token line (here one application per mailbox), under line:app:<digest>; no per-mailbox copy.
    const raw = createClient({ url: redis.url });
    await raw.connect();
    try {
      const keys = await raw.keys('token-broker:*');
      assert.equal(keys.filter((key) => /^token-broker:line:app:[0-9a-f]{32}$/.test(key)).length, MAILBOXES.length, `keys: ${keys.join(', ')}`);
      assert.deepEqual(keys.filter((key) => key.startsWith('token-broker:mailbox:')), []);
    } finally {
      await raw.quit();
    }
  });
});
