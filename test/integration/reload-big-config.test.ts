// A reload of a big config: the file is parsed in a worker thread
// (config/yaml-off-thread.ts) when the daemon reloads it, and what the worker
// hands back must apply exactly as a file parsed in place: the real `serve`
// binary, its worker module resolved from the installed files.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { OFF_THREAD_MIN_LENGTH } from '../../src/config/yaml-off-thread.js';
import { clientCredentialsMailbox, startBrokerEnvironment } from '../support/broker-environment.js';
import type { BrokerEnvironment } from '../support/broker-environment.js';

describe('reload: a config big enough to be parsed in a worker thread', () => {
  const tenant = randomUUID();
  const app = randomUUID();
  let environment: BrokerEnvironment;
  const config = (sandboxUrl: string, address: string, extra: number): string => {
    const mailboxes = [clientCredentialsMailbox('sales', tenant, app, 'app-secret')];
    for (let index = 0; index < extra; index += 1) mailboxes.push(clientCredentialsMailbox(`extra-${String(index).padStart(5, '0')}`, tenant, app, 'app-secret'));
    return `server: { listen: ["${address}"] }
store: { url: "memory:" }
authorizationServers:
  microsoft: { authorityHost: "${sandboxUrl}", caFile: ca.pem }
mailboxes:
${mailboxes.join('')}`;
  };

  before(async () => {
    environment = await startBrokerEnvironment({
      prefix: 'tb-reload-big-',
      serveArgs: ['--no-watch-config'],
      setup: (sandbox) => sandbox.registerApplication({ tenantId: tenant, clientId: app, clientSecret: 'app-secret' }),
      config: ({ sandbox, address }) => config(sandbox.url, address, 0),
    });
  });

  after(() => environment?.stop());

  test('2,000 added mailboxes of the same application apply, and share its token', async () => {
    const sales = await environment.client.getToken('sales');
    const requestsBefore = environment.sandbox.stats.forClient(app);
    const text = config(environment.sandbox.url, environment.address, 2_000);
    assert.ok(text.length >= OFF_THREAD_MIN_LENGTH, `the file (${text.length} characters) must be big enough for the worker`);
    await writeFile(environment.configFile, text);
    const result = await environment.client.reload();
    assert.equal(result.applied, true, result.errors.join('\n'));
    assert.equal(result.added.length, 2_000);
    assert.equal(result.added[1_999], 'extra-01999');
    const extra = await environment.client.getToken('extra-01999');
    assert.equal(extra.accessToken, sales.accessToken, 'a mailbox of the same application gets the line token');
    assert.equal(extra.username, 'extra-01999@contoso.example');
    assert.equal(environment.sandbox.stats.forClient(app), requestsBefore, 'no token request');
  });

  test('a big file with an error changes nothing and names the line of the error', async () => {
    const text = `${config(environment.sandbox.url, environment.address, 2_000)}  broken:\n    protocol: carrier-pigeon\n`;
    await writeFile(environment.configFile, text);
    const result = await environment.client.reload();
    assert.equal(result.applied, false);
    const lines = text.split('\n').length;
    assert.ok(
      result.errors.some((error) => error.includes('mailboxes.broken.protocol') && error.includes(`:${lines - 1}:`)),
      `an error at line ${lines - 1}:\n${result.errors.join('\n')}`,
    );
    assert.ok((await environment.client.listMailboxes()).some((status) => status.mailbox === 'extra-01999'), 'the previous config still applies');
  });
});
