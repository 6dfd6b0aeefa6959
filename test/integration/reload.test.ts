// Hot reload end to end: the real `token-broker serve` binary against the
// Entra-shaped sandbox, reloaded by SIGHUP, the Reload RPC, `token-broker
// reload` and a change of the config file; a broken file changes nothing, a
// good one changes the allow-list and the mailboxes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { tokenLineId } from '../../src/broker/line-identity.js';
import { TokenBrokerClient } from '../../src/client/index.js';
import type { BrokerToken } from '../../src/client/index.js';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/logging/index.js';
import { openTokenStore } from '../../src/store/index.js';
import { eventually } from '../support/assertions.js';
import { clientCredentialsMailbox, startBrokerEnvironment } from '../support/broker-environment.js';
import type { BrokerEnvironment } from '../support/broker-environment.js';
import { runCliInProcess } from '../support/cli-in-process.js';

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly trigger?: string;
  readonly [key: string]: unknown;
}

function logLines(environment: BrokerEnvironment): LogLine[] {
  return environment.daemon
    .stderr()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

/** The first log line from index `from` on that matches, waiting for it. */
function waitForLog(environment: BrokerEnvironment, predicate: (line: LogLine) => boolean, what: string, from = 0): Promise<LogLine> {
  return eventually(() => {
    const found = logLines(environment).slice(from).find(predicate);
    if (found === undefined) throw new Error(`no log line ${what}:\n${environment.daemon.stderr()}`);
    return found;
  });
}

/** Writes a new file and renames it over the config, as editors and config managers do. */
async function replaceFile(file: string, text: string): Promise<void> {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${randomUUID()}`);
  await writeFile(temporary, text);
  await rename(temporary, file);
}

/** A daemon on a memory store with one client-credentials mailbox, `sales`. */
function startSalesOnly(prefix: string, tenant: string, app: string, serveArgs: string[] = []): Promise<BrokerEnvironment> {
  return startBrokerEnvironment({
    prefix,
    serveArgs,
    setup: (sandbox) => sandbox.registerApplication({ tenantId: tenant, clientId: app, clientSecret: 'app-secret' }),
    config: ({ sandbox, address }) => `server: { listen: ["${address}"] }
store: { url: "memory:" }
authorizationServers:
  microsoft: { authorityHost: "${sandbox.url}", caFile: ca.pem }
mailboxes:
${clientCredentialsMailbox('sales', tenant, app, 'app-secret')}`,
  });
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('reload: a config file with errors changes nothing', () => {
  const tenant = randomUUID();
  const app = randomUUID();
  let environment: BrokerEnvironment;
  let client: TokenBrokerClient;
  let token: BrokerToken;
  let errorPattern: RegExp;

  before(async () => {
    environment = await startSalesOnly('tb-reload-broken-', tenant, app, ['--no-watch-config']);
    client = environment.client;
    token = await client.getToken('sales');
    // `sales` renamed to `other`, with a misspelt key and a grant type that does not exist.
    await writeFile(
      environment.configFile,
      `server: { listen: ["${environment.address}"] }
store: { url: "memory:" }
authorizationServers:
  microsoft: { authorityHost: "${environment.sandbox.url}", caFile: ca.pem }
mailboxes:
${clientCredentialsMailbox('other', tenant, app, 'app-secret', '    clientSecrt: typo\n').replace('grantType: client-credentials', 'grantType: client-magic')}`,
    );
    errorPattern = new RegExp(`^${escape(environment.configFile)}:\\d+:\\d+: error: mailboxes\\.other\\.`);
  });

  after(() => environment?.stop());

  const assertOldConfigServed = async (): Promise<void> => {
    assert.equal((await client.getToken('sales')).accessToken, token.accessToken, 'the old mailbox, with its token');
    await assert.rejects(client.getToken('other'), (error: ServiceError) => error.code === GrpcStatus.NOT_FOUND);
    assert.deepEqual((await client.listMailboxes()).map((status) => status.mailbox), ['sales']);
  };

  test('SIGHUP: every error is logged with the path and line:column; the daemon serves the old mailboxes', async () => {
    const from = logLines(environment).length;
    environment.daemon.child.kill('SIGHUP');
    await waitForLog(environment, (line) => line.trigger === 'sighup' && line.msg.startsWith('configuration not reloaded'), 'not reloaded', from);
    const errors = logLines(environment)
      .slice(from)
      .filter((line) => line.trigger === 'sighup' && line.level === 50 && line.msg !== '' && !line.msg.startsWith('configuration not reloaded'));
    assert.ok(errors.length >= 2, `at least the misspelt key and the grant type:\n${environment.daemon.stderr()}`);
    for (const line of errors) assert.match(line.msg, errorPattern);
    assert.ok(errors.some((line) => /mailboxes\.other\.clientSecrt: /.test(line.msg)));
    assert.ok(errors.some((line) => /mailboxes\.other\.grantType: /.test(line.msg)));
    assert.equal(environment.daemon.child.exitCode, null, 'SIGHUP does not end the daemon');
    await assertOldConfigServed();
  });

  test('Reload RPC: applied false, each error with the path and line:column, also in the log', async () => {
    const result = await client.reload();
    assert.equal(result.applied, false);
    assert.ok(result.errors.length >= 2, result.errors.join('\n'));
    for (const error of result.errors) assert.match(error, errorPattern);
    assert.deepEqual([result.added, result.removed, result.changed, result.reacquiring, result.restartRequired], [[], [], [], [], []]);
    const logged = logLines(environment).filter((line) => line.trigger === 'rpc' && line.level === 50).map((line) => line.msg);
    for (const error of result.errors) assert.ok(logged.includes(error), `logged: ${error}`);
    await assertOldConfigServed();
  });

  test('token-broker reload: exit 1 and the errors listed', async () => {
    const result = await runCliInProcess(['reload', '--socket', environment.address]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /^token-broker: configuration not reloaded; the daemon keeps running the previous one\. The \d+ problems:$/m);
    const listed = result.stderr.split('\n').filter((line) => errorPattern.test(line));
    assert.ok(listed.length >= 2, result.stderr);
    assert.equal(result.stdout, '');
    await assertOldConfigServed();
  });

  test('token-broker reload without a daemon says how to reach one', async () => {
    const result = await runCliInProcess(['reload', '--socket', `unix://${path.join(environment.directory, 'nobody.sock')}`]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /cannot reach the token-broker daemon at unix:\/\/.*nobody\.sock/);
    assert.match(result.stderr, /--socket or \$TOKEN_BROKER_ADDRESS/);
  });
});

describe('reload: server.clients', () => {
  const tenant = randomUUID();
  const app = randomUUID();
  const oldKey = `old-${randomUUID()}`;
  const newKey = `new-${randomUUID()}`;
  const adminKey = `admin-${randomUUID()}`;
  let environment: BrokerEnvironment;
  const clients: TokenBrokerClient[] = [];
  const connect = (key?: string): TokenBrokerClient => {
    const client = new TokenBrokerClient({ address: environment.address, key });
    clients.push(client);
    return client;
  };
  const config = (clientEntries: string, address = environment.address, sandboxUrl = environment.sandbox.url): string => `server:
  listen: ["${address}"]
${clientEntries}store: { url: "memory:" }
authorizationServers:
  microsoft: { authorityHost: "${sandboxUrl}", caFile: ca.pem }
mailboxes:
${clientCredentialsMailbox('sales', tenant, app, 'app-secret')}${clientCredentialsMailbox('finance', tenant, app, 'app-secret')}`;
  const admin = `    - { name: ops, keySha256: ${createHash('sha256').update(adminKey).digest('hex')}, mailboxes: ["*"], admin: true }\n`;
  const oldConnector = `    - { name: connector-old, keyFile: old.key, mailboxes: ["sales"] }\n`;
  const newConnector = `    - { name: connector-new, keyFile: new.key, mailboxes: ["sales", "fin*"] }\n`;

  before(async () => {
    environment = await startBrokerEnvironment({
      prefix: 'tb-reload-clients-',
      serveArgs: ['--no-watch-config'],
      setup: async (sandbox, directory) => {
        sandbox.registerApplication({ tenantId: tenant, clientId: app, clientSecret: 'app-secret' });
        await writeFile(path.join(directory, 'old.key'), `${oldKey}\n`, { mode: 0o600 });
        await writeFile(path.join(directory, 'new.key'), `${newKey}\n`, { mode: 0o600 });
      },
      config: ({ sandbox, address }) => config(`  clients:\n${admin}${oldConnector}`, address, sandbox.url),
    });
  });

  after(async () => {
    for (const client of clients) client.close();
    await environment?.stop();
  });

  test('Reload is an admin RPC: no key UNAUTHENTICATED, a connector PERMISSION_DENIED, and token-broker reload says so', async () => {
    await assert.rejects(connect().reload(), (error: ServiceError) => error.code === GrpcStatus.UNAUTHENTICATED);
    await assert.rejects(connect(oldKey).reload(), (error: ServiceError) => {
      assert.equal(error.code, GrpcStatus.PERMISSION_DENIED);
      assert.match(error.details, /client connector-old may not call BrokerAdmin \(admin: true is needed\)/);
      return true;
    });
    const wrongKey = await runCliInProcess(['reload', '--socket', environment.address], { TOKEN_BROKER_KEY: `wrong-${randomUUID()}` });
    assert.equal(wrongKey.code, 1);
    assert.match(wrongKey.stderr, /refused the client key: unknown client key/);
    const connector = await runCliInProcess(['reload', '--socket', environment.address, '--key-file', path.join(environment.directory, 'old.key')]);
    assert.equal(connector.code, 1);
    assert.match(connector.stderr, /client connector-old may not call BrokerAdmin \(admin: true is needed\)/);
  });

  test('a key added in the file works after Reload; the removed key is UNAUTHENTICATED, its open watch too', async () => {
    const oldClient = connect(oldKey);
    const first = await oldClient.getToken('sales');
    const watchEnded = new Promise<ServiceError | undefined>((resolve) => {
      oldClient.watchToken('sales', () => undefined, resolve);
    });
    await assert.rejects(connect(newKey).getToken('sales'), (error: ServiceError) => error.code === GrpcStatus.UNAUTHENTICATED);

    await writeFile(environment.configFile, config(`  clients:\n${admin}${newConnector}`));
    const result = await connect(adminKey).reload();
    assert.deepEqual({ applied: result.applied, errors: result.errors }, { applied: true, errors: [] });

    const newClient = connect(newKey);
    assert.equal((await newClient.getToken('sales')).accessToken, first.accessToken, 'the same mailbox token, to the new client');
    assert.ok(environment.sandbox.verifyAccessToken((await newClient.getToken('finance')).accessToken), 'its patterns apply');
    await assert.rejects(oldClient.getToken('sales'), (error: ServiceError) => {
      assert.equal(error.code, GrpcStatus.UNAUTHENTICATED);
      assert.match(error.details, /unknown client key/);
      return true;
    });
    assert.equal((await watchEnded)?.code, GrpcStatus.UNAUTHENTICATED);
    const info = logLines(environment).findLast((line) => line.trigger === 'rpc' && line.msg.startsWith('configuration reloaded'));
    assert.match(info?.msg ?? '', /clients: 1 added \(connector-new\), 1 removed \(connector-old\), 0 changed$/);
    for (const key of [oldKey, newKey, adminKey]) assert.ok(!environment.daemon.stderr().includes(key), 'no client key in the log');
  });

  test('token-broker reload with the admin key: exit 0 and what changed; dropping server.clients trusts every caller', async () => {
    await writeFile(environment.configFile, config(''));
    const result = await runCliInProcess(['reload', '--socket', environment.address], { TOKEN_BROKER_KEY: adminKey });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^configuration reloaded: 0 added, 0 removed, 0 changed, 0 re-acquiring$/m);
    assert.ok(await connect().getToken('sales'), 'no key needed any more');
  });
});

describe('reload: the config file watch', () => {
  const tenant = randomUUID();
  const app = randomUUID();
  let environment: BrokerEnvironment;
  const config = (mailboxes: string, extra = ''): string => `server: { listen: ["${environment.address}"] }
store: { url: "memory:" }
authorizationServers:
  microsoft: { authorityHost: "${environment.sandbox.url}", caFile: ca.pem }
mailboxes:
${mailboxes}${extra}`;

  before(async () => {
    environment = await startSalesOnly('tb-reload-watch-', tenant, app);
  });

  after(() => environment?.stop());

  test('a broken edit renamed over the file is logged with path and line:column; the daemon keeps serving', async () => {
    const token = await environment.client.getToken('sales');
    const from = logLines(environment).length;
    await replaceFile(environment.configFile, config(clientCredentialsMailbox('sales', tenant, app, 'app-secret'), '    clientSecrt: typo\n'));
    const error = await waitForLog(environment, (line) => line.trigger === 'file' && line.level === 50 && /clientSecrt/.test(line.msg), 'with the error', from);
    assert.match(error.msg, new RegExp(`^${escape(environment.configFile)}:\\d+:\\d+: error: mailboxes\\.sales\\.clientSecrt: `));
    assert.equal((await environment.client.getToken('sales')).accessToken, token.accessToken);
  });

  test('a good edit renamed over the file is applied: the added mailbox gets a token', async () => {
    const from = logLines(environment).length;
    await replaceFile(
      environment.configFile,
      config(`${clientCredentialsMailbox('sales', tenant, app, 'app-secret')}${clientCredentialsMailbox('added-by-edit', tenant, app, 'app-secret')}`),
    );
    const info = await waitForLog(environment, (line) => line.trigger === 'file' && /^configuration (not )?reloaded/.test(line.msg), 'reloaded', from);
    assert.match(info.msg, /^configuration reloaded \(the config file changed\): 1 added \(added-by-edit\)/);
    assert.ok(environment.sandbox.verifyAccessToken((await environment.client.getToken('added-by-edit')).accessToken));
  });
});

describe('reload: mailboxes added, removed and changed', () => {
  const tenant = randomUUID();
  const app = randomUUID();
  /** The shared mailbox's own application, so its token requests can be counted alone. */
  const sharedApp = randomUUID();
  const publicApp = randomUUID();
  const alice = 'alice@contoso.example';
  const oldPassword = `old-${randomUUID()}`;
  const newPassword = `new-${randomUUID()}`;
  let environment: BrokerEnvironment;
  let client: TokenBrokerClient;
  const tokens = new Map<string, BrokerToken>();
  const ropc = `  ropc:
    protocol: graph
    grantType: ropc
    tenantId: ${tenant}
    clientId: ${publicApp}
    username: ${alice}
    passwordFile: alice-password
`;
  const shared = (sharedMailbox: string): string =>
    clientCredentialsMailbox('shared', tenant, sharedApp, 'app-secret', `    sharedMailbox: ${sharedMailbox}\n`);
  let mailboxes = {
    keep: clientCredentialsMailbox('keep', tenant, app, 'app-secret'),
    gone: clientCredentialsMailbox('gone', tenant, app, 'app-secret'),
    ropc,
    shared: shared('first@contoso.example'),
  } as Record<string, string>;
  const config = (directory: string, sandboxUrl: string, address: string): string => `server: { listen: ["${address}"] }
store: { url: "sqlite://${path.join(directory, 'tokens.sqlite')}", encryptionKeyFile: store.key }
authorizationServers:
  microsoft: { authorityHost: "${sandboxUrl}", caFile: ca.pem }
mailboxes:
${Object.values(mailboxes).join('')}`;
  const rewrite = (): Promise<void> => writeFile(environment.configFile, config(environment.directory, environment.sandbox.url, environment.address));

  before(async () => {
    environment = await startBrokerEnvironment({
      prefix: 'tb-reload-mailboxes-',
      serveArgs: ['--no-watch-config'],
      setup: async (sandbox, directory) => {
        sandbox.registerApplication({ tenantId: tenant, clientId: app, clientSecret: 'app-secret' });
        sandbox.registerApplication({ tenantId: tenant, clientId: sharedApp, clientSecret: 'app-secret' });
        sandbox.registerApplication({ tenantId: tenant, clientId: publicApp, publicClient: true });
        sandbox.registerUser({ tenantId: tenant, username: alice, password: oldPassword });
        await writeFile(path.join(directory, 'alice-password'), `${oldPassword}\n`, { mode: 0o600 });
        await writeFile(path.join(directory, 'store.key'), `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
      },
      config: ({ sandbox, directory, address }) => config(directory, sandbox.url, address),
    });
    client = environment.client;
    for (const name of ['keep', 'gone', 'ropc', 'shared']) tokens.set(name, await client.getToken(name));
  });

  after(() => environment?.stop());

  test('an added mailbox gets a token', async () => {
    mailboxes = { ...mailboxes, fresh: clientCredentialsMailbox('fresh', tenant, app, 'app-secret') };
    await rewrite();
    const result = await client.reload();
    assert.deepEqual({ applied: result.applied, errors: result.errors, added: result.added }, { applied: true, errors: [], added: ['fresh'] });
    const token = await client.getToken('fresh');
    assert.ok(environment.sandbox.verifyAccessToken(token.accessToken));
    assert.equal(token.username, 'fresh@contoso.example');
  });

  test('a removed mailbox is NOT_FOUND and its record is gone from the store', async () => {
    const { gone: _gone, ...rest } = mailboxes;
    mailboxes = rest;
    await rewrite();
    const result = await client.reload();
    assert.deepEqual({ applied: result.applied, errors: result.errors, removed: result.removed }, { applied: true, errors: [], removed: ['gone'] });
    await assert.rejects(client.getToken('gone'), (error: ServiceError) => error.code === GrpcStatus.NOT_FOUND);
    assert.ok(!(await client.listMailboxes()).some((status) => status.mailbox === 'gone'));
    const store = await openTokenStore(
      { url: `sqlite://${path.join(environment.directory, 'tokens.sqlite')}`, encryptionKeyFile: path.join(environment.directory, 'store.key') },
      { logger: silentLogger() },
    );
    try {
      // keep and gone shared one application's line: its one record stays while keep is on it.
      const loaded = await loadConfig(environment.configFile);
      assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.problems));
      const keep = loaded.config.mailboxes.get('keep');
      assert.ok(keep);
      assert.ok((await store.getLine(tokenLineId(keep)))?.token, 'the store is readable here: the kept mailbox\'s line has its record');
      assert.ok(await store.getMailbox('ropc'), 'a mailbox of its own keeps its mailbox record');
      assert.equal(await store.getMailbox('gone'), undefined);
      assert.equal(await store.getMailbox('keep'), undefined, 'no per-mailbox copy of the shared token');
    } finally {
      await store.close();
    }
  });

  test('a changed ROPC password: the next token was obtained with the new password', async () => {
    let passwordGrants = 0;
    environment.sandbox.hooks.beforeTokenResponse = (info) => {
      if (info.grantType === 'password' && info.username === alice) passwordGrants++;
    };
    try {
      // A password reset at the directory, then the new password in the secret file (the YAML stays as it is).
      environment.sandbox.changePassword(alice, newPassword);
      await writeFile(path.join(environment.directory, 'alice-password'), `${newPassword}\n`);
      const result = await client.reload();
      assert.equal(result.applied, true, result.errors.join('\n'));
      assert.deepEqual(result.changed, ['ropc']);
      assert.deepEqual(result.reacquiring, ['ropc']);
      const token = await client.getToken('ropc');
      assert.notEqual(token.accessToken, tokens.get('ropc')?.accessToken);
      assert.equal(environment.sandbox.verifyAccessToken(token.accessToken)?.upn, alice);
      // The sandbox now refuses the old password: a successful password grant used the new one.
      assert.ok(passwordGrants >= 1, 'a password grant succeeded after the reload');
      assert.ok(!environment.daemon.stderr().includes(newPassword) && !environment.daemon.stderr().includes(oldPassword), 'no password in the log');
    } finally {
      environment.sandbox.hooks.beforeTokenResponse = undefined;
    }
  });

  test('a change of only sharedMailbox keeps the token, without a token request', async () => {
    const requestsBefore = environment.sandbox.stats.forClient(sharedApp);
    mailboxes = { ...mailboxes, shared: shared('second@contoso.example') };
    await rewrite();
    const result = await client.reload();
    assert.equal(result.applied, true, result.errors.join('\n'));
    assert.deepEqual(result.changed, ['shared']);
    assert.deepEqual(result.reacquiring, []);
    const token = await client.getToken('shared');
    assert.equal(token.accessToken, tokens.get('shared')?.accessToken, 'the same token');
    assert.equal(token.username, 'second@contoso.example', 'the new SASL identity');
    assert.equal(
      Buffer.from(token.saslXoauth2, 'base64').toString('utf8'),
      `user=second@contoso.example\x01auth=Bearer ${token.accessToken}\x01\x01`,
    );
    assert.equal(environment.sandbox.stats.forClient(sharedApp), requestsBefore, 'no token request');
  });
});
