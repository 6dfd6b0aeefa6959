// A reload whose config names a FIFO or an endless device as a secret file:
// the real daemon answers the Reload with the problem (it used to wait on the
// FIFO for good, holding every later reload behind it, or read /dev/zero
// until memory ran out), keeps serving its running config, and a later
// reload with a regular file applies.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, constants, openSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { clientCredentialsMailbox, startBrokerEnvironment } from '../support/broker-environment.js';
import type { BrokerEnvironment } from '../support/broker-environment.js';

describe('reload: secret files that are not regular files', () => {
  const tenant = randomUUID();
  const app = randomUUID();
  let environment: BrokerEnvironment;
  let fifo = '';

  /** `sales`, plus `finance` whose secret is read from `secretFile`, and a proxy whose password is read from `proxyPasswordFile`. */
  const config = (secretFile: string, proxyPasswordFile: string): string => `server: { listen: ["${environment.address}"] }
store: { url: "memory:" }
authorizationServers:
  microsoft: { authorityHost: "${environment.sandbox.url}", caFile: ca.pem }
proxies:
  corp: { url: "http://proxy.corp.example:3128", username: svc-broker, passwordFile: "${proxyPasswordFile}" }
mailboxes:
${clientCredentialsMailbox('sales', tenant, app, 'app-secret')}${clientCredentialsMailbox('finance', tenant, app, 'unused').replace('clientSecret: unused', `clientSecretFile: "${secretFile}"`)}`;

  before(async () => {
    environment = await startBrokerEnvironment({
      prefix: 'tb-reload-secret-files-',
      serveArgs: ['--no-watch-config'],
      setup: async (sandbox, directory) => {
        sandbox.registerApplication({ tenantId: tenant, clientId: app, clientSecret: 'app-secret' });
        await writeFile(path.join(directory, 'app-secret'), 'app-secret\n', { mode: 0o600 });
        await writeFile(path.join(directory, 'proxy-password'), 'proxy-password\n', { mode: 0o600 });
      },
      config: ({ sandbox, address }) => `server: { listen: ["${address}"] }
store: { url: "memory:" }
authorizationServers:
  microsoft: { authorityHost: "${sandbox.url}", caFile: ca.pem }
mailboxes:
${clientCredentialsMailbox('sales', tenant, app, 'app-secret')}`,
    });
    fifo = path.join(environment.directory, 'proxy-password.fifo');
    execFileSync('mkfifo', ['-m', '600', fifo]);
  });

  after(async () => {
    // Lets a daemon stuck opening the FIFO (the defect this guards against) through, so that it can stop.
    try {
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // ENXIO: nobody is reading it.
    }
    await environment?.stop();
  });

  const assertRunningConfigKept = async (): Promise<void> => {
    assert.deepEqual((await environment.client.listMailboxes()).map((status) => status.mailbox), ['sales']);
    assert.ok((await environment.client.getToken('sales')).accessToken !== '');
  };

  test('a passwordFile that is a FIFO: Reload answers, naming the key and the FIFO, and the running config stays', async () => {
    await environment.client.getToken('sales');
    await writeFile(environment.configFile, config('app-secret', fifo));
    const result = await environment.client.reload();
    assert.equal(result.applied, false);
    assert.equal(result.errors.length, 1, result.errors.join('\n'));
    assert.match(result.errors[0] ?? '', /: error: proxies\.corp\.passwordFile: .*proxy-password\.fifo is a named pipe \(FIFO\), not a regular file; give the path of a regular file$/);
    await assertRunningConfigKept();
  });

  test('a clientSecretFile that is /dev/zero: refused at once, not read', async () => {
    await writeFile(environment.configFile, config('/dev/zero', 'proxy-password'));
    const result = await environment.client.reload();
    assert.equal(result.applied, false);
    assert.deepEqual(
      result.errors.map((line) => line.replace(/^.*: error: /, '')),
      ['mailboxes.finance.clientSecretFile: /dev/zero is a character device, not a regular file; give the path of a regular file'],
    );
    await assertRunningConfigKept();
  });

  test('a later reload with regular files applies', async () => {
    await writeFile(environment.configFile, config('app-secret', 'proxy-password'));
    const result = await environment.client.reload();
    assert.equal(result.applied, true, result.errors.join('\n'));
    assert.deepEqual(result.added, ['finance']);
    assert.ok((await environment.client.getToken('finance')).accessToken !== '');
  });
});

describe('reload under serve --strict: a secret file others may read is refused as at start', () => {
  const tenant = randomUUID();
  const app = randomUUID();
  let environment: BrokerEnvironment;

  before(async () => {
    environment = await startBrokerEnvironment({
      prefix: 'tb-reload-strict-',
      serveArgs: ['--no-watch-config', '--strict'],
      // From the environment: --strict refuses a secret written in a config file every user may read.
      env: { SALES_SECRET: 'app-secret' },
      setup: async (sandbox, directory) => {
        sandbox.registerApplication({ tenantId: tenant, clientId: app, clientSecret: 'app-secret' });
        await writeFile(path.join(directory, 'open-secret'), 'app-secret\n', { mode: 0o644 });
        await chmod(path.join(directory, 'open-secret'), 0o644);
      },
      config: ({ sandbox, address }) => strictConfig(address, sandbox.url, tenant, app, ''),
    });
  });

  after(() => environment?.stop());

  test('a clientSecretFile of mode 0644: not applied, the error names the file and the chmod to run', async () => {
    await writeFile(environment.configFile, strictConfig(environment.address, environment.sandbox.url, tenant, app, 'open-secret'));
    const result = await environment.client.reload();
    assert.equal(result.applied, false);
    const file = path.join(environment.directory, 'open-secret');
    assert.deepEqual(
      result.errors.map((line) => line.replace(/^.*: error: /, '')),
      [`mailboxes.finance.clientSecretFile: ${file} can be read by other users (mode 0644), which --strict refuses; restrict it: chmod 600 ${file}`],
    );
    await chmod(file, 0o600);
    const fixed = await environment.client.reload();
    assert.equal(fixed.applied, true, fixed.errors.join('\n'));
    assert.deepEqual(fixed.added, ['finance']);
  });
});

/** `sales`, plus `finance` with its secret in `secretFile` when one is given. */
function strictConfig(address: string, sandboxUrl: string, tenant: string, app: string, secretFile: string): string {
  const finance = secretFile === '' ? '' : clientCredentialsMailbox('finance', tenant, app, 'unused').replace('clientSecret: unused', `clientSecretFile: ${secretFile}`);
  return `server: { listen: ["${address}"] }
store: { url: "memory:" }
authorizationServers:
  microsoft: { authorityHost: "${sandboxUrl}", caFile: ca.pem }
mailboxes:
${clientCredentialsMailbox('sales', tenant, app, '${SALES_SECRET}')}${finance}`;
}
