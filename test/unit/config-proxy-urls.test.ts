// proxies.NAME.url as offices write it (issue 13): a bare host[:port] is an
// HTTP proxy on port 8080 unless given, and validate says how it read it;
// socks5:// and socks5h:// are SOCKS5 proxies (port 1080 unless given).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCliInProcess } from '../support/cli-in-process.js';
import { CLIENT, configOf, loadObject, problemsOf, TENANT, tempDir } from '../support/config-helpers.js';

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

const NO_PROXY_RULE = 'each entry must be a host name, .domain or *.domain (its subdomains too), or an IP address, optionally with :port; not a URL or a CIDR range';

describe('proxy noProxy', () => {
  test('hosts that bypass a configured proxy', async () => {
    const loaded = await loadObject({ proxies: { corp: { url: 'http://proxy.corp:3128', noProxy: ['login.corp.example', '.internal.example', '*.lan', '10.0.0.7', 'idp.corp:8443', '[fd00::1]'] } } });
    assert.deepEqual(configOf(loaded).proxies.get('corp')?.noProxy, ['login.corp.example', '.internal.example', '*.lan', '10.0.0.7', 'idp.corp:8443', '[fd00::1]']);
  });

  test('a single host may be written without a list', async () => {
    const loaded = await loadObject({ proxies: { corp: { url: 'http://proxy.corp:3128', noProxy: 'localhost' } } });
    assert.deepEqual(configOf(loaded).proxies.get('corp')?.noProxy, ['localhost']);
  });

  for (const [bad, at] of [
    [['https://login.corp.example'], 'proxies.corp.noProxy[0]'],
    [['ok.example', '10.0.0.0/8'], 'proxies.corp.noProxy[1]'],
    [[''], 'proxies.corp.noProxy[0]'],
  ] as const) {
    test(`${JSON.stringify(bad)} is an error at ${at}, with its line`, async () => {
      const loaded = await loadObject({ proxies: { corp: { url: 'http://proxy.corp:3128', noProxy: bad } } });
      const errors = problemsOf(loaded).filter((problem) => problem.severity === 'error');
      assert.deepEqual(errors.map((problem) => [problem.path, problem.message]), [[at, NO_PROXY_RULE]]);
      assert.equal(typeof errors[0]?.line, 'number');
    });
  }

  test('noProxy on a SOCKS5 proxy is an error', async () => {
    const loaded = await loadObject({ proxies: { corp: { url: 'socks5://socks.corp:1080', noProxy: ['localhost'] } } });
    assert.deepEqual(
      problemsOf(loaded).filter((problem) => problem.severity === 'error').map((problem) => [problem.path, problem.message]),
      [['proxies.corp.noProxy', 'applies to HTTP proxies only; a mailbox that must bypass a SOCKS5 proxy goes without proxy']],
    );
  });
});

describe('proxy: environment', () => {
  test('a mailbox may take its proxy from HTTP_PROXY, HTTPS_PROXY and NO_PROXY', async () => {
    const loaded = await loadObject({ mailboxes: { m: { ...MAILBOX, proxy: 'environment' } } });
    const proxy = configOf(loaded).mailboxes.get('m')?.proxy;
    assert.equal(proxy?.fromEnvironment, true);
    assert.equal(proxy.name, 'environment');
  });

  test('"environment" is reserved as a proxy name', async () => {
    const loaded = await loadObject({ proxies: { environment: { url: 'http://proxy.corp:3128' } } });
    assert.deepEqual(
      problemsOf(loaded).filter((problem) => problem.severity === 'error').map((problem) => [problem.path, problem.message]),
      [['proxies.environment', 'the name "environment" is reserved: a mailbox with proxy: environment takes its proxy from HTTP_PROXY, HTTPS_PROXY and NO_PROXY; choose another name']],
    );
  });
});

describe('validate on the new proxy keys', () => {
  test('prints how a bare address was read, and each new mistake with file, line and path', async () => {
    const dir = await tempDir();
    const file = join(dir, 'broker.yaml');
    await writeFile(
      file,
      `proxies:
  seed:
    url: 10.0.0.5
  sock:
    url: socks5://socks.corp:1080
    noProxy: [localhost]
  corp:
    url: http://proxy.corp:3128
    noProxy: [10.0.0.0/8]
  environment:
    url: http://proxy.corp:3128
mailboxes:
  m:
    protocol: imap
    grantType: client-credentials
    tenantId: ${TENANT}
    clientId: ${CLIENT}
    clientSecret: x
    username: u@contoso.example
    proxy: environment
`,
    );
    const result = await runCliInProcess(['validate', '--config', file]);
    assert.equal(result.code, 78, result.stdout + result.stderr);
    const output = result.stdout + result.stderr;
    for (const line of [
      `${file}:3:10: warning: proxies.seed.url: a bare address, read as http://10.0.0.5:8080 (an HTTP proxy, port 8080 by default); write http://10.0.0.5:8080 to silence this`,
      `${file}:6:5: error: proxies.sock.noProxy: applies to HTTP proxies only; a mailbox that must bypass a SOCKS5 proxy goes without proxy`,
      `${file}:9:15: error: proxies.corp.noProxy[0]: ${NO_PROXY_RULE}`,
      `${file}:10:3: error: proxies.environment: the name "environment" is reserved`,
    ]) {
      assert.ok(output.includes(line), `expected in validate's output:\n${line}\n---\n${output}`);
    }
  });
});
