// proxies.NAME.url as offices write it (issue 13): a bare host[:port] is an
// HTTP proxy on port 8080 unless given, and validate says how it read it;
// socks5:// and socks5h:// are SOCKS5 proxies (port 1080 unless given).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CLIENT, configOf, loadObject, problemsOf, TENANT } from '../support/config-helpers.js';

const MAILBOX = { protocol: 'imap', grantType: 'client-credentials', tenantId: TENANT, clientId: CLIENT, clientSecret: 'x', username: 'u@contoso.example' };

async function proxyOf(url: string) {
  const loaded = await loadObject({ proxies: { corp: { url } }, mailboxes: { m: { ...MAILBOX, proxy: 'corp' } } });
  return { proxy: configOf(loaded).proxies.get('corp'), problems: problemsOf(loaded) };
}

describe('proxy url: a bare address', () => {
  for (const [given, read] of [
    ['10.0.0.5:8080', 'http://10.0.0.5:8080'],
    ['proxy.corp', 'http://proxy.corp:8080'],
    ['proxy.corp:3128', 'http://proxy.corp:3128'],
    ['[fd00::5]:3128', 'http://[fd00::5]:3128'],
  ] as const) {
    test(`${given} is read as ${read}, and validate says so`, async () => {
      const { proxy, problems } = await proxyOf(given);
      assert.equal(proxy?.url, read);
      assert.deepEqual(
        problems.map((problem) => [problem.severity, problem.path, problem.message]),
        [['warning', 'proxies.corp.url', `a bare address, read as ${read} (an HTTP proxy${given.includes(']:') || /:\d+$/.test(given) ? '' : ', port 8080 by default'}); write ${read} to silence this`]],
      );
      assert.equal(typeof problems[0]?.line, 'number', 'the warning carries the line of the url');
    });
  }

  for (const bad of ['proxy corp', 'proxy.corp:99999', 'proxy.corp:', ':8080']) {
    test(`${JSON.stringify(bad)} is an error that shows the accepted forms`, async () => {
      const loaded = await loadObject({ proxies: { corp: { url: bad } } });
      const problems = problemsOf(loaded).filter((problem) => problem.severity === 'error');
      assert.deepEqual(
        problems.map((problem) => [problem.path, problem.message]),
        [['proxies.corp.url', 'must be host:port, http://host:port, https://host:port, socks5://host:port or socks5h://host:port']],
      );
    });
  }
});

describe('proxy url: socks5', () => {
  for (const [given, read] of [
    ['socks5://127.0.0.1:1080', 'socks5://127.0.0.1:1080'],
    ['socks5h://socks.corp:1081/', 'socks5h://socks.corp:1081'],
    ['socks5://socks.corp', 'socks5://socks.corp:1080'],
  ] as const) {
    test(`${given} is a SOCKS5 proxy at ${read}`, async () => {
      const { proxy, problems } = await proxyOf(given);
      assert.equal(proxy?.url, read);
      assert.deepEqual(problems, []);
    });
  }

  test('socks5 with username and password', async () => {
    const loaded = await loadObject({ proxies: { corp: { url: 'socks5://socks.corp:1080', username: 'svc', password: 'pw' } } });
    const proxy = configOf(loaded).proxies.get('corp');
    assert.equal(proxy?.username, 'svc');
    assert.equal(proxy.password?.reveal(), 'pw');
  });

  test('credentials in a socks5 url are refused, not echoed', async () => {
    const loaded = await loadObject({ proxies: { corp: { url: 'socks5://svc:hunter2@socks.corp:1080' } } });
    const problems = problemsOf(loaded).filter((problem) => problem.severity === 'error');
    assert.deepEqual(
      problems.map((problem) => [problem.severity, problem.path, problem.message]),
      [['error', 'proxies.corp.url', 'must not contain a user name or password; set username and password (or passwordFile) instead']],
    );
    assert.ok(!JSON.stringify(problems).includes('hunter2'));
  });

  test('socks4 is named as unsupported', async () => {
    const loaded = await loadObject({ proxies: { corp: { url: 'socks4://socks.corp:1080' } } });
    assert.deepEqual(
      problemsOf(loaded).filter((problem) => problem.severity === 'error').map((problem) => [problem.path, problem.message]),
      [['proxies.corp.url', 'must be host:port, http://host:port, https://host:port, socks5://host:port or socks5h://host:port']],
    );
  });
});
