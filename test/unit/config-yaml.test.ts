// The YAML layer: positions (1-based line:column) for every kind of problem,
// syntax errors, duplicate keys, empty files, unknown keys with their
// did-you-mean, aliases and merge keys, and the one-line output format.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatProblem } from '../../src/config/index.js';
import type { ConfigProblem } from '../../src/config/index.js';
import { configOf, loadText, problemsOf } from '../support/config-helpers.js';

const MAILBOX_KEYS =
  'protocol, authorizationServer, grantType, tenantId, clientId, authenticationMode, clientSecret, clientSecretFile, clientSecretExpiresAt, certificate, credentialsFile, redirectUri, redirectPlatform, scopes, username, password, passwordFile, sharedMailbox, proxy';

const VALID_MAILBOX = `  sales:
    protocol: imap
    grantType: client-credentials
    tenantId: 00000000-0000-0000-0000-000000000000
    clientId: 11111111-1111-1111-1111-111111111111
    clientSecret: s3cret
    username: sales@contoso.example
`;

describe('config yaml: syntax and structure', () => {
  const cases: { name: string; text: string; expect: ConfigProblem[] }[] = [
    { name: 'an empty file', text: '', expect: [{ severity: 'error', path: '', message: 'the file is empty; a config needs at least a mailboxes section' }] },
    { name: 'only comments', text: '# nothing yet\n', expect: [{ severity: 'error', path: '', message: 'the file is empty; a config needs at least a mailboxes section' }] },
    {
      name: 'an unterminated flow sequence',
      text: 'server:\n  listen: [unix:///run/a.sock\nmailboxes: {}\n',
      expect: [
        {
          severity: 'error',
          path: '',
          message: 'YAML syntax error: a [ ] or { } is not closed, or a line inside it is not indented more than its key; close it with ] or }, or indent the line',
          line: 3,
          column: 1,
        },
      ],
    },
    {
      name: 'a missing closing quote',
      text: 'mailboxes:\n  a:\n    clientId: "abc\n',
      expect: [{ severity: 'error', path: '', message: 'YAML syntax error: a double-quoted value is not closed; add the closing "', line: 4, column: 1 }],
    },
    {
      name: 'a top-level list',
      text: '- a\n- b\n',
      expect: [{ severity: 'error', path: '', message: 'the file must be a mapping with keys such as server, store and mailboxes, not a list', line: 1, column: 1 }],
    },
    {
      name: 'a duplicate mailbox name, at the second occurrence',
      text: `mailboxes:\n${VALID_MAILBOX}${VALID_MAILBOX}`,
      expect: [{ severity: 'error', path: 'mailboxes.sales', message: 'duplicate key; it is already set at line 2; keep one of them', line: 9, column: 3 }],
    },
    {
      name: 'a duplicate key inside a mailbox',
      text: `mailboxes:\n${VALID_MAILBOX}    username: other@contoso.example\n`,
      expect: [{ severity: 'error', path: 'mailboxes.sales.username', message: 'duplicate key; it is already set at line 8; keep one of them', line: 9, column: 5 }],
    },
    {
      name: 'a section that is not a mapping',
      text: `refresh: 300\nmailboxes:\n${VALID_MAILBOX}`,
      expect: [{ severity: 'error', path: 'refresh', message: 'must be a mapping (key: value lines), not a number', line: 1, column: 10 }],
    },
    {
      name: 'a mailbox without a value',
      text: 'mailboxes:\n  sales:\n',
      expect: [{ severity: 'error', path: 'mailboxes.sales', message: 'must be a mapping (key: value lines), not empty', line: 2, column: 9 }],
    },
    {
      name: 'a key without a value',
      text: `mailboxes:\n${VALID_MAILBOX}    sharedMailbox:\n`,
      expect: [{ severity: 'error', path: 'mailboxes.sales.sharedMailbox', message: 'has no value; give one or remove the key', line: 9, column: 5 }],
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const result = await loadText(c.text);
      assert.equal(result.ok, false);
      assert.deepEqual(problemsOf(result), c.expect);
    });
  }

  test('an unresolved tag is a warning with its position (the tag is not quoted: a value may start with !)', async () => {
    const result = await loadText(`mailboxes:\n${VALID_MAILBOX}    sharedMailbox: !vault shared@contoso.example\n`);
    assert.deepEqual(problemsOf(result), [
      {
        severity: 'warning',
        path: '',
        message: 'YAML: a tag (!) that the broker does not know; the value is read as if it had none: remove the tag, or quote a value that starts with !',
        line: 9,
        column: 20,
      },
    ]);
  });

  test('a missing key is reported at the key of its mapping', async () => {
    const result = await loadText('mailboxes:\n  sales:\n    protocol: imap\n    grantType: device-code\n    username: sales@contoso.example\n');
    assert.deepEqual(
      problemsOf(result).map((p) => [p.path, p.line, p.column]),
      [
        ['mailboxes.sales.clientId', 2, 3],
        ['mailboxes.sales.tenantId', 2, 3],
      ],
    );
  });

  test('a list item is reported at the item', async () => {
    const result = await loadText(`mailboxes:\n${VALID_MAILBOX}    scopes:\n      - https://outlook.office365.com/.default\n      - [nested]\n`);
    assert.deepEqual(problemsOf(result), [{ severity: 'error', path: 'mailboxes.sales.scopes[1]', message: 'must be a scope, not a list', line: 11, column: 9 }]);
  });

  test('an invalid value is reported at the value, a n/a field at its key', async () => {
    const result = await loadText(`mailboxes:\n${VALID_MAILBOX}    protocol2: imap\n    redirectUri: http://localhost/cb\n`.replace('protocol: imap', 'protocol:   imapx'));
    assert.deepEqual(
      problemsOf(result).map((p) => [p.path, p.line, p.column]),
      [
        ['mailboxes.sales.protocol', 3, 17],
        ['mailboxes.sales.protocol2', 9, 5],
        ['mailboxes.sales.redirectUri', 10, 5],
      ],
    );
  });
});

describe('config yaml: unknown keys', () => {
  const cases: { name: string; text: string; expect: ConfigProblem }[] = [
    {
      name: 'top level, with a suggestion',
      text: `mailbox:\n${VALID_MAILBOX}`,
      expect: { severity: 'error', path: 'mailbox', message: 'unknown key (did you mean mailboxes?); expected one of: server, store, metrics, audit, refresh, authorizationServers, proxies, mailboxes', line: 1, column: 1 },
    },
    {
      name: 'top level, nothing close',
      text: `logging: {}\nmailboxes:\n${VALID_MAILBOX}`,
      expect: { severity: 'error', path: 'logging', message: 'unknown key; expected one of: server, store, metrics, audit, refresh, authorizationServers, proxies, mailboxes', line: 1, column: 1 },
    },
    {
      name: 'in a mailbox, a misspelling',
      text: `mailboxes:\n${VALID_MAILBOX}    clientSecrte: x\n`,
      expect: { severity: 'error', path: 'mailboxes.sales.clientSecrte', message: `unknown key (did you mean clientSecret?); expected one of: ${MAILBOX_KEYS}`, line: 9, column: 5 },
    },
    {
      name: 'in a mailbox, wrong case',
      text: `mailboxes:\n${VALID_MAILBOX}    SharedMailbox: x\n`,
      expect: { severity: 'error', path: 'mailboxes.sales.SharedMailbox', message: `unknown key (did you mean sharedMailbox?); expected one of: ${MAILBOX_KEYS}`, line: 9, column: 5 },
    },
    {
      name: 'in server',
      text: `server:\n  listens: []\nmailboxes:\n${VALID_MAILBOX}`,
      expect: { severity: 'error', path: 'server.listens', message: 'unknown key (did you mean listen?); expected one of: listen, socketMode, tls, clients, limits', line: 2, column: 3 },
    },
    {
      name: 'in server.tls',
      text: `server:\n  tls:\n    cert: a.pem\nmailboxes:\n${VALID_MAILBOX}`,
      expect: { severity: 'error', path: 'server.tls.cert', message: 'unknown key; expected one of: certFile, keyFile, clientCaFile', line: 3, column: 5 },
    },
    {
      name: 'in a client',
      text: `server:\n  clients:\n    - name: c1\n      key: k\n      mailboxes: [sales]\n      isAdmin: true\nmailboxes:\n${VALID_MAILBOX}`,
      expect: { severity: 'error', path: 'server.clients[0].isAdmin', message: 'unknown key (did you mean admin?); expected one of: name, key, keyFile, keySha256, certificateSubject, mailboxes, admin, protocols, watch, maxWatches, callsPerSecond', line: 6, column: 7 },
    },
    {
      name: 'in store',
      text: `store:\n  uri: "memory:"\nmailboxes:\n${VALID_MAILBOX}`,
      expect: { severity: 'error', path: 'store.uri', message: 'unknown key (did you mean url?); expected one of: url, encryptionKeyFile, previousEncryptionKeyFiles', line: 2, column: 3 },
    },
    {
      name: 'in metrics',
      text: `metrics:\n  listen: 127.0.0.1:9464\n  path: /metrics\nmailboxes:\n${VALID_MAILBOX}`,
      expect: { severity: 'error', path: 'metrics.path', message: 'unknown key; expected one of: listen, perMailbox', line: 3, column: 3 },
    },
    {
      name: 'in refresh',
      text: `refresh:\n  leadTime: 60\nmailboxes:\n${VALID_MAILBOX}`,
      expect: { severity: 'error', path: 'refresh.leadTime', message: 'unknown key; expected one of: leadTimeSeconds, maxConcurrentPerServer, sweepIntervalSeconds, idleAfterHours, keepAliveDays', line: 2, column: 3 },
    },
    {
      name: 'in an authorization server',
      text: `authorizationServers:\n  acme:\n    type: generic\n    issuer: https://idp.acme.example\n    tokenUrl: https://idp.acme.example/token\nmailboxes:\n${VALID_MAILBOX}`,
      expect: {
        severity: 'error',
        path: 'authorizationServers.acme.tokenUrl',
        message: 'unknown key; expected one of: type, authorityHost, cloud, issuer, authorizationEndpoint, tokenEndpoint, deviceAuthorizationEndpoint, scopes, caFile, testingApp',
        line: 5,
        column: 5,
      },
    },
    {
      name: "in a server's scopes (a protocol)",
      text: `authorizationServers:\n  microsoft:\n    scopes:\n      imaps: [x]\nmailboxes:\n${VALID_MAILBOX}`,
      expect: { severity: 'error', path: 'authorizationServers.microsoft.scopes.imaps', message: 'unknown key (did you mean imap?); expected one of: graph, imap, pop3, smtp', line: 4, column: 7 },
    },
    {
      name: 'in a proxy',
      text: `proxies:\n  corp:\n    url: http://proxy.corp.example:3128\n    user: svc\nmailboxes:\n${VALID_MAILBOX}`,
      expect: { severity: 'error', path: 'proxies.corp.user', message: 'unknown key; expected one of: url, username, password, passwordFile, noProxy', line: 4, column: 5 },
    },
    {
      name: 'in a certificate',
      text: `mailboxes:\n${VALID_MAILBOX}    certificate:\n      path: app.pem\n`,
      expect: { severity: 'error', path: 'mailboxes.sales.certificate.path', message: 'unknown key; expected one of: file, thumbprint, password, passwordFile', line: 10, column: 7 },
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const result = await loadText(c.text);
      assert.ok(problemsOf(result).some((p) => p.severity === 'error'));
      assert.deepEqual(
        problemsOf(result).filter((p) => p.message.startsWith('unknown key')),
        [c.expect],
      );
    });
  }

  test('two equally close candidates give no suggestion', async () => {
    const result = await loadText(`refresh:\n  xyz: 1\nmailboxes:\n${VALID_MAILBOX}`);
    assert.equal(problemsOf(result)[0]?.message, 'unknown key; expected one of: leadTimeSeconds, maxConcurrentPerServer, sweepIntervalSeconds, idleAfterHours, keepAliveDays');
  });
});

describe('config yaml: anchors and merge keys', () => {
  test('a mailbox may merge shared settings from another; its own keys win', async () => {
    const text = `mailboxes:\n  sales: &defaults\n${VALID_MAILBOX.split('\n').slice(1).join('\n')}  support:\n    <<: *defaults\n    username: support@contoso.example\n`;
    const config = configOf(await loadText(text));
    assert.equal(config.mailboxes.get('support')?.username, 'support@contoso.example');
    assert.equal(config.mailboxes.get('support')?.clientId, '11111111-1111-1111-1111-111111111111');
    assert.equal(config.mailboxes.get('support')?.grantType, 'client-credentials');
  });

  test('an alias of a scalar works like the value', async () => {
    const text = `mailboxes:\n${VALID_MAILBOX.replace('clientSecret: s3cret', 'clientSecret: &secret s3cret')}    sharedMailbox: *secret\n`;
    assert.equal(configOf(await loadText(text)).mailboxes.get('sales')?.sharedMailbox, 's3cret');
  });

  test('a merge key needs a mapping', async () => {
    const text = `mailboxes:\n  a: &x 1\n  b:\n    <<: *x\n`;
    const result = await loadText(text);
    assert.deepEqual(
      problemsOf(result).filter((p) => p.path === 'mailboxes.b'),
      [
        { severity: 'error', path: 'mailboxes.b', message: 'a << merge key needs an alias of a mapping (<<: *name); fix or remove it', line: 4, column: 5 },
      ],
    );
  });
});

describe('config yaml: formatProblem', () => {
  const file = '/etc/token-broker/broker.yaml';
  const cases: { name: string; problem: ConfigProblem; expect: string }[] = [
    {
      name: 'error with line and column',
      problem: { severity: 'error', path: 'mailboxes.sales.clientSecret', message: 'must not be empty', line: 12, column: 5 },
      expect: '/etc/token-broker/broker.yaml:12:5: error: mailboxes.sales.clientSecret: must not be empty',
    },
    {
      name: 'warning',
      problem: { severity: 'warning', path: 'mailboxes.sales.tenantId', message: 'recommended', line: 3, column: 3 },
      expect: '/etc/token-broker/broker.yaml:3:3: warning: mailboxes.sales.tenantId: recommended',
    },
    { name: 'no position', problem: { severity: 'error', path: 'server.listen', message: 'x' }, expect: '/etc/token-broker/broker.yaml: error: server.listen: x' },
    { name: 'line only', problem: { severity: 'error', path: 'a', message: 'x', line: 7 }, expect: '/etc/token-broker/broker.yaml:7: error: a: x' },
    { name: 'whole file', problem: { severity: 'error', path: '', message: 'the file is empty' }, expect: '/etc/token-broker/broker.yaml: error: the file is empty' },
  ];
  for (const c of cases) test(c.name, () => assert.equal(formatProblem(c.problem, file), c.expect));
});
