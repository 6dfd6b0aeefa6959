// `proxy: environment` and `noProxy`, at the HTTP seam every grant uses:
// HTTPS_PROXY (with credentials in it) carries requests through a real squid
// to a name only squid resolves; NO_PROXY and a configured proxy's noProxy
// send the listed hosts direct, past a proxy that is not running.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { BrokerError } from '../../src/errors/index.js';
import { HttpTransport } from '../../src/http/index.js';
import type { RouteOptions } from '../../src/http/index.js';
import { ENVIRONMENT_PROXY } from '../../src/config/types.js';
import { startSandbox } from '../../src/sandbox/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { freePort } from '../support/ports.js';
import { squidBinary, startSquid } from '../support/squid.js';
import type { Squid } from '../support/squid.js';

const PROXY_ONLY_HOST = 'entra.test';
const TENANT = randomUUID();
const PROXY_USER = 'broker-test';
const PROXY_PASSWORD = `proxy-pw-${randomUUID()}`;
const VARIABLES = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy'] as const;

describe('proxy: environment and noProxy', () => {
  let sandbox: Sandbox;
  let downPort: number;
  const saved = new Map(VARIABLES.map((name) => [name, process.env[name]]));
  const transports: HttpTransport[] = [];

  before(async () => {
    sandbox = await startSandbox({ hostnames: [PROXY_ONLY_HOST] });
    sandbox.registerApplication({ tenantId: TENANT, clientId: randomUUID(), clientSecret: randomUUID() });
    downPort = await freePort();
  });

  afterEach(async () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await Promise.all(transports.splice(0).map((transport) => transport.close()));
  });

  after(async () => {
    await sandbox?.close();
  });

  /** The variables for this test only; a fresh transport reads them when it makes its dispatcher. */
  function environment(values: Partial<Record<(typeof VARIABLES)[number], string>>): void {
    for (const name of VARIABLES) delete process.env[name];
    Object.assign(process.env, values);
  }

  function discovery(host: string, route: Omit<RouteOptions, 'caCertificates'>) {
    const transport = new HttpTransport();
    transports.push(transport);
    return transport.send(
      { method: 'GET', url: `https://${host}:${sandbox.port}/${TENANT}/v2.0/.well-known/openid-configuration` },
      { ...route, caCertificates: [sandbox.caCertificatePem], mailbox: 'sales' },
    );
  }

  async function failure(promise: Promise<unknown>): Promise<BrokerError> {
    const error: unknown = await promise.then(
      () => assert.fail('the request must fail'),
      (failed: unknown) => failed,
    );
    assert.ok(error instanceof BrokerError, String(error));
    return error;
  }

  test('HTTPS_PROXY is used: a proxy that is not running is proxy_unreachable, named environment', async () => {
    environment({ HTTPS_PROXY: `http://127.0.0.1:${downPort}` });
    const error = await failure(discovery('localhost', { proxy: ENVIRONMENT_PROXY }));
    assert.equal(error.code, 'proxy_unreachable', error.message);
    assert.match(error.message, /^mailbox sales: cannot reach localhost:\d+ through proxy environment \(ECONNREFUSED\)/);
  });

  test('NO_PROXY sends the listed host direct, past the proxy', async () => {
    environment({ HTTPS_PROXY: `http://127.0.0.1:${downPort}`, NO_PROXY: 'example.org,localhost' });
    const response = await discovery('localhost', { proxy: ENVIRONMENT_PROXY });
    assert.equal(response.status, 200, response.body);
  });

  test('a configured proxy with noProxy sends the listed host direct', async () => {
    environment({});
    const response = await discovery('localhost', { proxy: { name: 'corp', url: `http://127.0.0.1:${downPort}`, noProxy: ['.example.org', 'localhost'] } });
    assert.equal(response.status, 200, response.body);
  });

  test('a configured proxy with noProxy still proxies the hosts not listed', async () => {
    environment({});
    const error = await failure(discovery('localhost', { proxy: { name: 'corp', url: `http://127.0.0.1:${downPort}`, noProxy: ['login.example.org'] } }));
    assert.equal(error.code, 'proxy_unreachable', error.message);
    assert.match(error.message, /through proxy corp/);
  });

  describe('through a real squid', () => {
    let squid: Squid;
    const needsSquid = { skip: squidBinary.skip };

    before(async () => {
      if (needsSquid.skip !== false) return;
      squid = await startSquid({ username: PROXY_USER, password: PROXY_PASSWORD, hostnames: [PROXY_ONLY_HOST] });
    });

    after(async () => {
      await squid?.stop();
    });

    test('HTTPS_PROXY with credentials reaches a host only squid resolves, as the proxy user', needsSquid, async () => {
      const withCredentials = new URL(squid.url);
      withCredentials.username = PROXY_USER;
      withCredentials.password = PROXY_PASSWORD;
      environment({ HTTPS_PROXY: withCredentials.href });
      const response = await discovery(PROXY_ONLY_HOST, { proxy: ENVIRONMENT_PROXY });
      assert.equal(response.status, 200, response.body);
      await transports.splice(0)[0]?.close(); // squid logs a CONNECT when its tunnel closes
      const line = await squid.waitForAccessLine((entry) => entry.includes(`CONNECT ${PROXY_ONLY_HOST}:${sandbox.port} `) && entry.includes('TCP_TUNNEL/200'));
      assert.equal(line.split(/\s+/)[7], PROXY_USER, line);
    });

    test('a wrong password in HTTPS_PROXY is proxy_auth_failed, pointing at the environment, not at proxies.environment', needsSquid, async () => {
      const wrong = `wrong-${randomUUID()}`;
      const withCredentials = new URL(squid.url);
      withCredentials.username = PROXY_USER;
      withCredentials.password = wrong;
      environment({ HTTPS_PROXY: withCredentials.href });
      const error = await failure(discovery(PROXY_ONLY_HOST, { proxy: ENVIRONMENT_PROXY }));
      assert.equal(error.code, 'proxy_auth_failed', error.message);
      assert.match(error.message, /^mailbox sales: proxy environment \(from HTTPS_PROXY \/ HTTP_PROXY\) refused our credentials \(HTTP 407\)\.$/);
      assert.equal(error.remediation, "Check the user name and password in the broker's HTTPS_PROXY / HTTP_PROXY (http://user:password@host:port, percent-encoded).");
      assert.ok(!`${error.message} ${error.remediation ?? ''}`.includes(wrong), 'no password in the error');
    });
  });
});
