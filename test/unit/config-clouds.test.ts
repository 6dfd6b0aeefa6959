// Microsoft national clouds (issue 13, point 1): `cloud` on a Microsoft server,
// derived from authorityHost when absent, a problem when the two disagree, and
// the default scopes of each cloud per protocol and grant level (a token for
// outlook.office365.com asked of login.microsoftonline.us is AADSTS500011).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatProblem } from '../../src/config/index.js';
import type { GrantTypeName, MicrosoftCloud, Protocol } from '../../src/config/index.js';
import { CLIENT, configOf, loadObject, loadText, problemsOf, TENANT, triples } from '../support/config-helpers.js';

interface CloudResources {
  readonly authorityHost: string;
  /** Exchange Online as delegated IMAP/POP/SMTP scopes name it. */
  readonly exchangeDelegated: string;
  /** Exchange Online as app tokens (.default) name it. */
  readonly exchange: string;
  readonly graph: string;
}

// Written out here, not imported: the test checks the table in src/config against the published hosts.
const CLOUDS: Record<MicrosoftCloud, CloudResources> = {
  global: { authorityHost: 'https://login.microsoftonline.com', exchangeDelegated: 'https://outlook.office.com', exchange: 'https://outlook.office365.com', graph: 'https://graph.microsoft.com' },
  usgov: { authorityHost: 'https://login.microsoftonline.us', exchangeDelegated: 'https://outlook.office365.us', exchange: 'https://outlook.office365.us', graph: 'https://graph.microsoft.us' },
  'usgov-dod': { authorityHost: 'https://login.microsoftonline.us', exchangeDelegated: 'https://outlook-dod.office365.us', exchange: 'https://outlook-dod.office365.us', graph: 'https://dod-graph.microsoft.us' },
  china: { authorityHost: 'https://login.chinacloudapi.cn', exchangeDelegated: 'https://partner.outlook.cn', exchange: 'https://partner.outlook.cn', graph: 'https://microsoftgraph.chinacloudapi.cn' },
};
const CLOUD_NAMES = Object.keys(CLOUDS) as MicrosoftCloud[];
const PROTOCOLS: readonly Protocol[] = ['graph', 'imap', 'pop3', 'smtp'];

function delegated(cloud: MicrosoftCloud, protocol: Protocol): string[] {
  const { exchangeDelegated, graph } = CLOUDS[cloud];
  const permission = { imap: `${exchangeDelegated}/IMAP.AccessAsUser.All`, pop3: `${exchangeDelegated}/POP.AccessAsUser.All`, smtp: `${exchangeDelegated}/SMTP.Send`, graph: `${graph}/Mail.ReadWrite` }[protocol];
  return [permission, 'offline_access'];
}

function application(cloud: MicrosoftCloud, protocol: Protocol): string[] {
  return [`${protocol === 'graph' ? CLOUDS[cloud].graph : CLOUDS[cloud].exchange}/.default`];
}

function mailbox(grant: GrantTypeName, protocol: Protocol, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = { protocol, grantType: grant, tenantId: TENANT, clientId: CLIENT, username: 'u@contoso.example', authorizationServer: 'ms' };
  if (grant === 'ropc' || grant === 'ropc-deprecated') base.password = 'pw';
  if (grant === 'client-credentials') base.clientSecret = 's';
  if (grant === 'authorization-code') base.redirectUri = 'http://localhost:8400/callback';
  return { ...base, ...extra };
}

async function serverOf(server: Record<string, unknown>, name = 'ms') {
  const config = configOf(await loadObject({ authorizationServers: { [name]: server }, mailboxes: {} }));
  return config.authorizationServers.get(name);
}

/** The errors only: these configs have no mailboxes, which is a warning of its own. */
function errorsOf(result: Awaited<ReturnType<typeof loadText>>) {
  return problemsOf(result).filter((problem) => problem.severity === 'error');
}

function errorTriples(result: Awaited<ReturnType<typeof loadText>>) {
  return triples(result).filter(([severity]) => severity === 'error');
}

async function scopesOf(server: Record<string, unknown>, m: Record<string, unknown>): Promise<readonly string[] | undefined> {
  return configOf(await loadObject({ authorizationServers: { ms: server }, mailboxes: { m } })).mailboxes.get('m')?.scopes;
}

describe('config clouds: derived from authorityHost', () => {
  const derived: [string, MicrosoftCloud][] = [
    ['https://login.microsoftonline.com', 'global'],
    ['https://login.microsoftonline.us', 'usgov'],
    ['https://login.microsoftonline.us/', 'usgov'],
    ['https://LOGIN.microsoftonline.us', 'usgov'],
    ['https://login.chinacloudapi.cn', 'china'],
    ['https://login.partner.microsoftonline.cn', 'china'],
  ];
  for (const [host, cloud] of derived) {
    test(`${host} is ${cloud}`, async () => {
      const server = await serverOf({ type: 'microsoft', authorityHost: host });
      assert.equal(server?.cloud, cloud);
      assert.deepEqual(server.scopes.imap, delegated(cloud, 'imap'));
    });
  }

  test('the built-in microsoft server is global', async () => {
    const config = configOf(await loadObject({ mailboxes: {} }));
    assert.equal(config.authorizationServers.get('microsoft')?.cloud, 'global');
  });

  test('an unknown host (a sandbox on localhost) without cloud stays global, as before', async () => {
    const server = await serverOf({ type: 'microsoft', authorityHost: 'https://localhost:8443' });
    assert.equal(server?.cloud, 'global');
    assert.equal(server.authorityHost, 'https://localhost:8443');
    assert.deepEqual(server.scopes.graph, delegated('global', 'graph'));
  });

  test('the built-in microsoft server pointed at login.microsoftonline.us asks for usgov scopes', async () => {
    const config = configOf(await loadObject({ authorizationServers: { microsoft: { authorityHost: 'https://login.microsoftonline.us' } }, mailboxes: {} }));
    const microsoft = config.authorizationServers.get('microsoft');
    assert.equal(microsoft?.cloud, 'usgov');
    for (const protocol of PROTOCOLS) assert.deepEqual(microsoft.scopes[protocol], delegated('usgov', protocol), protocol);
  });
});

describe('config clouds: explicit', () => {
  for (const cloud of CLOUD_NAMES) {
    test(`cloud: ${cloud} alone sets its authority host`, async () => {
      const server = await serverOf({ type: 'microsoft', cloud });
      assert.equal(server?.cloud, cloud);
      assert.equal(server.authorityHost, CLOUDS[cloud].authorityHost);
    });
  }

  test('cloud on the built-in microsoft server moves it to that cloud', async () => {
    const config = configOf(await loadObject({ authorizationServers: { microsoft: { cloud: 'china' } }, mailboxes: {} }));
    const microsoft = config.authorizationServers.get('microsoft');
    assert.equal(microsoft?.authorityHost, 'https://login.chinacloudapi.cn');
    assert.deepEqual(microsoft.scopes.smtp, delegated('china', 'smtp'));
  });

  test('usgov-dod shares its authority host with usgov: the explicit cloud decides', async () => {
    const server = await serverOf({ type: 'microsoft', cloud: 'usgov-dod', authorityHost: 'https://login.microsoftonline.us' });
    assert.equal(server?.cloud, 'usgov-dod');
    assert.deepEqual(server.scopes.graph, delegated('usgov-dod', 'graph'));
  });

  test('china under its older host name agrees with cloud: china', async () => {
    const server = await serverOf({ type: 'microsoft', cloud: 'china', authorityHost: 'https://login.partner.microsoftonline.cn' });
    assert.equal(server?.authorityHost, 'https://login.partner.microsoftonline.cn');
    assert.equal(server.cloud, 'china');
  });

  test('an unknown authority host (sovereign proxy, test server) takes the explicit cloud', async () => {
    const server = await serverOf({ type: 'microsoft', cloud: 'usgov', authorityHost: 'https://localhost:8443' });
    assert.equal(server?.authorityHost, 'https://localhost:8443');
    assert.equal(server.cloud, 'usgov');
  });

  test("an operator's scopes for one protocol are kept; the others follow the cloud", async () => {
    const server = await serverOf({ type: 'microsoft', cloud: 'usgov', scopes: { imap: 'https://outlook.office365.us/IMAP.AccessAsUser.All' } });
    assert.deepEqual(server?.scopes.imap, ['https://outlook.office365.us/IMAP.AccessAsUser.All']);
    assert.deepEqual(server.scopes.smtp, delegated('usgov', 'smtp'));
  });
});

describe('config clouds: mistakes, with path and line:column', () => {
  test('a known host that disagrees with cloud is an error at cloud naming both', async () => {
    const text = ['authorizationServers:', '  gov:', '    type: microsoft', '    authorityHost: https://login.chinacloudapi.cn', '    cloud: usgov', 'mailboxes: {}', ''].join('\n');
    const result = await loadText(text);
    assert.deepEqual(errorsOf(result), [
      {
        severity: 'error',
        path: 'authorizationServers.gov.cloud',
        message:
          'cloud usgov disagrees with authorityHost https://login.chinacloudapi.cn, which is the china cloud\'s; set cloud: china, or authorityHost: https://login.microsoftonline.us, or remove one of the two',
        line: 5,
        column: 12,
      },
    ]);
    const [problem] = errorsOf(result);
    assert.ok(problem);
    assert.match(formatProblem(problem, '/etc/token-broker/broker.yaml'), /^\/etc\/token-broker\/broker\.yaml:5:12: error: authorizationServers\.gov\.cloud: cloud usgov disagrees/);
  });

  test('usgov-dod against the global host names the host usgov-dod uses', async () => {
    const result = await loadObject({ authorizationServers: { microsoft: { authorityHost: 'https://login.microsoftonline.com', cloud: 'usgov-dod' } }, mailboxes: {} });
    assert.deepEqual(errorTriples(result), [
      [
        'error',
        'authorizationServers.microsoft.cloud',
        "cloud usgov-dod disagrees with authorityHost https://login.microsoftonline.com, which is the global cloud's; set cloud: global, or authorityHost: https://login.microsoftonline.us, or remove one of the two",
      ],
    ]);
  });

  test('an unknown value, with a did-you-mean and its position', async () => {
    const text = ['authorizationServers:', '  microsoft:', '    cloud: usgovdod', 'mailboxes: {}', ''].join('\n');
    const result = await loadText(text);
    assert.deepEqual(errorsOf(result), [
      { severity: 'error', path: 'authorizationServers.microsoft.cloud', message: 'must be one of: global, usgov, usgov-dod, china (did you mean usgov-dod?)', line: 3, column: 12 },
    ]);
  });

  test('cloud applies only to type microsoft', async () => {
    const result = await loadObject({ authorizationServers: { google: { cloud: 'china' } }, mailboxes: {} });
    assert.deepEqual(errorTriples(result), [['error', 'authorizationServers.google.cloud', 'applies only to type microsoft; remove it']]);
  });

  test('a misspelt key suggests cloud', async () => {
    const result = await loadObject({ authorizationServers: { microsoft: { clowd: 'usgov' } }, mailboxes: {} });
    assert.equal(errorTriples(result)[0]?.[1], 'authorizationServers.microsoft.clowd');
    assert.match(errorTriples(result)[0]?.[2] ?? '', /^unknown key \(did you mean cloud\?\)/);
  });
});

describe('config clouds: default scopes per cloud, protocol and grant level', () => {
  for (const cloud of CLOUD_NAMES) {
    const server = { type: 'microsoft', cloud };
    for (const protocol of PROTOCOLS) {
      test(`${cloud} / ${protocol}: delegated (authorization-code, device-code)`, async () => {
        for (const grant of ['authorization-code', 'device-code'] as const) assert.deepEqual(await scopesOf(server, mailbox(grant, protocol)), delegated(cloud, protocol), grant);
      });
      test(`${cloud} / ${protocol}: application (client-credentials, .default)`, async () => {
        assert.deepEqual(await scopesOf(server, mailbox('client-credentials', protocol)), application(cloud, protocol));
      });
    }
    test(`${cloud} / graph: ropc is delegated, ropc-deprecated (on the microsoft server) the cloud's Graph .default`, async () => {
      assert.deepEqual(await scopesOf(server, mailbox('ropc', 'graph')), delegated(cloud, 'graph'));
      const legacy = { ...mailbox('ropc-deprecated', 'graph'), authorizationServer: undefined };
      const config = configOf(await loadObject({ authorizationServers: { microsoft: { cloud } }, mailboxes: { legacy } }));
      assert.deepEqual(config.mailboxes.get('legacy')?.scopes, [`${CLOUDS[cloud].graph}/.default`]);
    });
    test(`${cloud} / graph with a shared mailbox: the cloud's Shared variant`, async () => {
      const shared = { sharedMailbox: 'shared@contoso.example' };
      assert.deepEqual(await scopesOf(server, mailbox('device-code', 'graph', shared)), [`${CLOUDS[cloud].graph}/Mail.ReadWrite.Shared`, 'offline_access']);
      assert.deepEqual(await scopesOf(server, mailbox('client-credentials', 'graph', shared)), application(cloud, 'graph'));
    });
  }

  test('derived from the host, too: login.microsoftonline.us gives usgov app scopes', async () => {
    const server = { type: 'microsoft', authorityHost: 'https://login.microsoftonline.us' };
    assert.deepEqual(await scopesOf(server, mailbox('client-credentials', 'imap')), ['https://outlook.office365.us/.default']);
    assert.deepEqual(await scopesOf(server, mailbox('client-credentials', 'graph')), ['https://graph.microsoft.us/.default']);
  });
});
