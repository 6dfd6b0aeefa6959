// `${ENV}` interpolation in any string, and secrets: inline or from `xFile`,
// one trailing newline stripped, never printed, wrapped in Secret with an
// origin naming the key.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, test } from 'node:test';
import { Secret } from '../../src/config/index.js';
import type { BrokerConfig } from '../../src/config/index.js';
import { CLIENT, configOf, loadObject, loadText, problemsOf, TENANT, tempDir, triples, writeFiles } from '../support/config-helpers.js';

const ENV_HINT = "set it in the broker's environment (systemd: Environment= or EnvironmentFile=)";
const MALFORMED = 'malformed ${...} reference; write ${NAME} with NAME made of letters, digits and _ (not starting with a digit), or $${ for a literal ${';

function ccMailbox(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { protocol: 'imap', grantType: 'client-credentials', tenantId: TENANT, clientId: CLIENT, clientSecret: 'x', username: 'u@contoso.example', ...extra };
}

describe('config interpolation', () => {
  const cases: { name: string; value: string; env: NodeJS.ProcessEnv; expect: string }[] = [
    { name: 'a whole value', value: '${USER_NAME}', env: { USER_NAME: 'sales@contoso.example' }, expect: 'sales@contoso.example' },
    { name: 'inside text, several times', value: '${BOX}@${DOMAIN}', env: { BOX: 'sales', DOMAIN: 'contoso.example' }, expect: 'sales@contoso.example' },
    { name: '$${ writes a literal ${', value: 'a$${NOT_A_VAR}b', env: {}, expect: 'a${NOT_A_VAR}b' },
    { name: 'a lone $ stays', value: 'pa$$word$', env: {}, expect: 'pa$$word$' },
    { name: 'an empty variable is still set', value: 'x${EMPTY}y', env: { EMPTY: '' }, expect: 'xy' },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const config = configOf(await loadObject({ mailboxes: { m: ccMailbox({ sharedMailbox: c.value }) } }, { env: c.env }));
      assert.equal(config.mailboxes.get('m')?.sharedMailbox, c.expect);
    });
  }

  const failures: { name: string; value: string; expect: string[] }[] = [
    { name: 'an unset variable names it', value: '${SALES_BOX}', expect: [`environment variable SALES_BOX is not set; ${ENV_HINT}`] },
    { name: 'each unset variable once', value: '${A}-${B}-${A}', expect: [`environment variable A is not set; ${ENV_HINT}`, `environment variable B is not set; ${ENV_HINT}`] },
    { name: 'an unclosed reference', value: 'abc${NAME', expect: [MALFORMED] },
    { name: 'a name starting with a digit', value: '${1NAME}', expect: [MALFORMED] },
    { name: 'an empty name', value: '${}', expect: [MALFORMED] },
  ];
  for (const c of failures) {
    test(`error: ${c.name}`, async () => {
      const result = await loadText(`mailboxes:\n  m:\n    protocol: imap\n    grantType: client-credentials\n    tenantId: ${TENANT}\n    clientId: ${CLIENT}\n    clientSecret: x\n    username: u@contoso.example\n    sharedMailbox: "${c.value}"\n`);
      assert.deepEqual(
        problemsOf(result),
        c.expect.map((message) => ({ severity: 'error', path: 'mailboxes.m.sharedMailbox', message, line: 9, column: 20 })),
      );
    });
  }

  test('a number or a flag may come from a variable', async () => {
    const config = configOf(
      await loadObject(
        { refresh: { leadTimeSeconds: '${LEAD}' }, server: { clients: [{ name: 'c', key: 'k', mailboxes: ['m'], admin: '${ADMIN}' }] }, mailboxes: { m: ccMailbox() } },
        { env: { LEAD: '120', ADMIN: 'true' } },
      ),
    );
    assert.equal(config.refresh.leadTimeSeconds, 120);
    assert.equal(config.server.clients?.[0]?.admin, true);
  });

  test('a list item names its index', async () => {
    const result = await loadObject({ mailboxes: { m: ccMailbox({ scopes: ['a', '${SCOPE_B}'] }) } });
    assert.deepEqual(triples(result), [['error', 'mailboxes.m.scopes[1]', `environment variable SCOPE_B is not set; ${ENV_HINT}`]]);
  });

  test('keys are not interpolated, and unknown keys are not read', async () => {
    const result = await loadObject({ mailboxes: { m: ccMailbox({ '${X}': '${Y}' }) } });
    assert.deepEqual(triples(result).map(([, path]) => path), ['mailboxes.m.${X}']);
  });
});

describe('config secrets', () => {
  test('an inline secret becomes a Secret that never prints', async () => {
    const config = configOf(await loadObject({ mailboxes: { m: ccMailbox({ clientSecret: '${SALES_SECRET}' }) } }, { env: { SALES_SECRET: 'hunter2' } }));
    const secret = config.mailboxes.get('m')?.clientSecret;
    assert.ok(secret instanceof Secret);
    assert.equal(secret.reveal(), 'hunter2');
    assert.equal(secret.origin, 'mailboxes.m.clientSecret');
    assert.equal(`${String(secret)} ${JSON.stringify({ secret })} ${inspect(config, { depth: 10 })}`.includes('hunter2'), false);
  });

  test('a secret written as a YAML number is refused, without echoing it', async () => {
    const result = await loadText(`mailboxes:\n  m:\n    protocol: graph\n    grantType: ropc\n    tenantId: ${TENANT}\n    clientId: ${CLIENT}\n    username: u@contoso.example\n    password: 0123\n`);
    assert.deepEqual(triples(result), [['error', 'mailboxes.m.password', 'must be a string, not a number; put the value in quotes']]);
  });

  test('an empty inline secret is refused', async () => {
    const result = await loadObject({ mailboxes: { m: ccMailbox({ clientSecret: '' }) } });
    assert.deepEqual(triples(result), [['error', 'mailboxes.m.clientSecret', 'must not be empty']]);
  });

  test('no message of a broken config contains a secret', async () => {
    const result = await loadObject(
      {
        proxies: { p: { url: 'http://svc:proxy-pass@proxy:3128', password: 'proxy-pass' } },
        store: { url: 'redis://:store-pass@' },
        mailboxes: { m: ccMailbox({ clientSecret: 'client-pass', password: 'mailbox-pass', redirectUri: 'client-pass' }) },
      },
      {},
    );
    const text = problemsOf(result).map((p) => p.message).join('\n');
    assert.equal(result.ok, false);
    for (const secret of ['proxy-pass', 'store-pass', 'client-pass', 'mailbox-pass']) assert.equal(text.includes(secret), false, secret);
  });
});

describe('config secrets from files (xFile)', () => {
  async function withSecretFiles(): Promise<string> {
    const dir = await tempDir();
    await mkdir(join(dir, 'secrets'));
    await writeFiles(dir, {
      'secrets/lf': 'from-file\n',
      'secrets/crlf': 'from-file\r\n',
      'secrets/two-newlines': 'from-file\n\n',
      'secrets/none': 'from-file',
      'secrets/empty': '\n',
    });
    return dir;
  }

  const stripping: { file: string; expect: string }[] = [
    { file: 'secrets/lf', expect: 'from-file' },
    { file: 'secrets/crlf', expect: 'from-file' },
    { file: 'secrets/two-newlines', expect: 'from-file\n' },
    { file: 'secrets/none', expect: 'from-file' },
  ];
  for (const c of stripping) {
    test(`one trailing newline is stripped: ${c.file}`, async () => {
      const dir = await withSecretFiles();
      const config = configOf(await loadObject({ mailboxes: { m: ccMailbox({ clientSecret: undefined, clientSecretFile: c.file }) } }, { dir }));
      const secret = config.mailboxes.get('m')?.clientSecret;
      assert.equal(secret?.reveal(), c.expect);
      assert.equal(secret.origin, `mailboxes.m.clientSecretFile (${join(dir, c.file)})`);
    });
  }

  test('every secret field accepts xFile, resolved from the config folder', async () => {
    const dir = await withSecretFiles();
    const config: BrokerConfig = configOf(
      await loadObject(
        {
          server: { clients: [{ name: 'c', keyFile: 'secrets/lf', mailboxes: ['*'] }] },
          proxies: { p: { url: 'http://proxy:3128', username: 'svc', passwordFile: 'secrets/lf' } },
          mailboxes: {
            cc: ccMailbox({ clientSecret: undefined, clientSecretFile: join(dir, 'secrets/lf'), proxy: 'p' }),
            ropc: { protocol: 'graph', grantType: 'ropc', tenantId: TENANT, clientId: CLIENT, username: 'u@contoso.example', passwordFile: './secrets/lf' },
          },
        },
        { dir },
      ),
    );
    assert.equal(config.server.clients?.[0]?.key?.reveal(), 'from-file');
    assert.equal(config.proxies.get('p')?.password?.reveal(), 'from-file');
    assert.equal(config.mailboxes.get('cc')?.clientSecret?.reveal(), 'from-file');
    assert.equal(config.mailboxes.get('cc')?.proxy?.password?.reveal(), 'from-file');
    assert.equal(config.mailboxes.get('ropc')?.password?.reveal(), 'from-file');
    // certificate.passwordFile: see config-certificates.test.ts
  });

  const failures: { name: string; mailbox: Record<string, unknown>; expect: (dir: string) => [string, string][] }[] = [
    {
      name: 'both x and xFile',
      mailbox: ccMailbox({ clientSecretFile: 'secrets/lf' }),
      expect: () => [['mailboxes.m.clientSecretFile', 'given together with clientSecret; keep only one of them']],
    },
    {
      name: 'a missing file, with the path and the OS reason',
      mailbox: ccMailbox({ clientSecret: undefined, clientSecretFile: 'secrets/nope' }),
      expect: (dir) => [['mailboxes.m.clientSecretFile', `cannot read ${join(dir, 'secrets/nope')} (ENOENT: no such file or directory); check the path and that the broker's user may read it`]],
    },
    {
      name: 'a folder instead of a file',
      mailbox: ccMailbox({ clientSecret: undefined, clientSecretFile: 'secrets' }),
      expect: (dir) => [['mailboxes.m.clientSecretFile', `${join(dir, 'secrets')} is a directory, not a regular file; give the path of a regular file`]],
    },
    {
      name: 'an empty file',
      mailbox: ccMailbox({ clientSecret: undefined, clientSecretFile: 'secrets/empty' }),
      expect: (dir) => [['mailboxes.m.clientSecretFile', `${join(dir, 'secrets/empty')} is empty; write the secret into it`]],
    },
    {
      name: 'a file path that is not a string',
      mailbox: ccMailbox({ clientSecret: undefined, clientSecretFile: ['a'] }),
      expect: () => [['mailboxes.m.clientSecretFile', 'must be a file path, not a list']],
    },
    {
      name: 'passwordFile where password does not apply names the key written',
      mailbox: ccMailbox({ passwordFile: 'secrets/lf' }),
      expect: () => [['mailboxes.m.passwordFile', 'does not apply to grant type client-credentials (the application signs in with its own credential); remove it']],
    },
  ];
  for (const c of failures) {
    test(`error: ${c.name}`, async () => {
      const dir = await withSecretFiles();
      const result = await loadObject({ mailboxes: { m: c.mailbox } }, { dir });
      assert.deepEqual(
        triples(result).map(([, path, message]) => [path, message]),
        c.expect(dir),
      );
      assert.equal(problemsOf(result).map((p) => p.message).join('').includes('from-file'), false);
    });
  }
});
