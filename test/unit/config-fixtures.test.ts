// The two fixtures the CLI tests share, loaded from disk with loadConfig: the
// valid one needs nothing from the environment; the broken one has every
// mistake listed at once, each with its position. Also: unreadable files.
import assert from 'node:assert/strict';
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { formatProblem, loadConfig } from '../../src/config/index.js';
import { configOf, FIXTURES, problemsOf, tempDir } from '../support/config-helpers.js';

/**
 * The problems of a fixture loaded in place, without the warning that a
 * world-readable config file holds secrets: the fixtures do (inline secrets
 * are their point), and whether a checkout makes them world-readable is the
 * umask's choice. config-secret-files.test.ts tests that warning.
 */
function problemsInPlace(result: Awaited<ReturnType<typeof loadConfig>>): ReturnType<typeof problemsOf> {
  return problemsOf(result).filter((problem) => !(problem.severity === 'warning' && problem.message.startsWith('the config file ')));
}

describe('config fixtures', () => {
  test('valid-client-credentials.yaml validates with an empty environment, from any folder', async () => {
    const dir = await tempDir();
    await copyFile(join(FIXTURES, 'valid-client-credentials.yaml'), join(dir, 'broker.yaml'));
    for (const file of [join(FIXTURES, 'valid-client-credentials.yaml'), join(dir, 'broker.yaml')]) {
      const result = await loadConfig(file, { env: {} });
      assert.deepEqual(problemsInPlace(result), []);
      const config = configOf(result);
      assert.equal(config.source, file);
      const m = config.mailboxes.get('sales-imap');
      assert.equal(m?.grantType, 'client-credentials');
      assert.equal(m.protocol, 'imap');
      assert.deepEqual(m.scopes, ['https://outlook.office365.com/.default']);
      assert.equal(m.clientSecret?.origin, 'mailboxes.sales-imap.clientSecret');
    }
  });

  test('many-mistakes.yaml lists every mistake, in file order, with line and column', async () => {
    const file = join(FIXTURES, 'many-mistakes.yaml');
    const result = await loadConfig(file, { env: {} });
    assert.equal(result.ok, false);
    assert.deepEqual(
      problemsInPlace(result).map((p) => formatProblem(p, 'many-mistakes.yaml')),
      [
        'many-mistakes.yaml:5:7: error: server.listen[0]: plain TCP on 0.0.0.0 would expose tokens and client keys to the network; configure server.tls, or listen on a loopback address (127.0.0.1, ::1, localhost) or a unix socket',
        'many-mistakes.yaml:6:15: error: server.socketMode: must be an octal mode in quotes, such as "0660", not a number (YAML reads an unquoted 0660 as the number 660)',
        'many-mistakes.yaml:8:20: error: refresh.leadTimeSeconds: must be a whole number of 0 or more',
        'many-mistakes.yaml:11:10: error: proxies.corp.url: must include the port, e.g. http://proxy.corp.example:3128',
        'many-mistakes.yaml:12:5: error: proxies.corp.password: a proxy password needs a username; set proxies.corp.username',
        'many-mistakes.yaml:14:3: warning: mailboxes.sales-imap.tenantId: recommended for grant type ropc; without it the broker uses the organizations authority (any work or school account)',
        'many-mistakes.yaml:16:16: error: mailboxes.sales-imap.grantType: grant type ropc works only with protocol graph; for imap use authorization-code, client-credentials or device-code',
        'many-mistakes.yaml:20:5: error: mailboxes.sales-imap.redirectUri: does not apply to grant type ropc; remove it',
        'many-mistakes.yaml:21:3: error: mailboxes.support.tenantId: required for grant type client-credentials; set the directory (tenant) ID, or a domain of the tenant such as contoso.onmicrosoft.com',
        'many-mistakes.yaml:21:3: error: mailboxes.support.clientSecret: required for grant type client-credentials in client-secret mode; set clientSecret or clientSecretFile, or use authenticationMode: certificate',
        'many-mistakes.yaml:25:5: error: mailboxes.support.clientSecrte: unknown key (did you mean clientSecret?); expected one of: protocol, authorizationServer, grantType, tenantId, clientId, authenticationMode, clientSecret, clientSecretFile, clientSecretExpiresAt, certificate, credentialsFile, redirectUri, redirectPlatform, scopes, username, password, passwordFile, sharedMailbox, proxy',
        'many-mistakes.yaml:30:26: error: mailboxes.graph-app.authorizationServer: protocol graph needs a microsoft-type authorization server, and google is of type google; use microsoft (or another server of type microsoft)',
        'many-mistakes.yaml:33:18: error: mailboxes.graph-app.redirectUri: must be an absolute URL such as http://localhost:8400/callback',
        'many-mistakes.yaml:34:12: error: mailboxes.graph-app.proxy: unknown proxy "corp2" (did you mean corp?); define it under proxies, or use one of: corp',
      ],
    );
  });

  test("no message is zod's or yaml's default English, and none quotes a secret of the file", async () => {
    const result = await loadConfig(join(FIXTURES, 'many-mistakes.yaml'), { env: {} });
    const text = problemsOf(result).map((p) => p.message).join('\n');
    assert.doesNotMatch(text, /Invalid input|Invalid string|expected (string|number)|received/);
    assert.equal(text.includes('hunter2'), false);
    assert.equal(text.includes('not-a-real-password'), false);
  });
});

describe('config unreadable files', () => {
  test('a missing file: one problem naming the file, the OS error and what to do', async () => {
    const dir = await tempDir();
    const result = await loadConfig(join(dir, 'broker.yaml'));
    assert.deepEqual(problemsOf(result), [
      {
        severity: 'error',
        path: '',
        message: `cannot read config file ${join(dir, 'broker.yaml')} (ENOENT: no such file or directory); create it, or point --config (or TOKEN_BROKER_CONFIG) at the config file`,
      },
    ]);
    assert.equal(result.ok, false);
  });

  test('a folder instead of a file', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'broker.yaml'));
    const result = await loadConfig(join(dir, 'broker.yaml'));
    assert.deepEqual(problemsOf(result), [
      { severity: 'error', path: '', message: `config file ${join(dir, 'broker.yaml')} is a directory, not a regular file; give the path of a regular file` },
    ]);
  });

  test('a relative path is resolved and named absolutely', async () => {
    const result = await loadConfig('no-such-dir/broker.yaml');
    assert.equal(problemsOf(result)[0]?.message.startsWith(`cannot read config file ${join(process.cwd(), 'no-such-dir/broker.yaml')} (ENOENT`), true);
  });
});
