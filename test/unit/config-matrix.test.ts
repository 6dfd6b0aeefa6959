// The grant-type matrix of DOMAIN.md, cell by cell: for each grant type a
// valid baseline mailbox, then one change per case and the exact problems it
// must produce (severity, path, message), and nothing else.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { GrantTypeName } from '../../src/config/index.js';
import { CLIENT, configOf, loadObject, TENANT, triples } from '../support/config-helpers.js';
import type { Expected } from '../support/config-helpers.js';

const M = 'mailboxes.m';
const REDIRECT = 'http://localhost:8400/callback';
/** A certificate file that is not there: its own error is part of the expectation, with a path that is the same everywhere. */
const NO_FILE = '/nonexistent/app.pem';
const NO_FILE_ERROR: Expected = ['error', `${M}.certificate.file`, `cannot read ${NO_FILE} (ENOENT: no such file or directory); check the path and that the broker's user may read it`];

const BASELINES: Record<GrantTypeName, Record<string, unknown>> = {
  ropc: { protocol: 'graph', grantType: 'ropc', tenantId: TENANT, clientId: CLIENT, username: 'u@contoso.example', password: 'pw' },
  'ropc-deprecated': { protocol: 'graph', grantType: 'ropc-deprecated', tenantId: TENANT, clientId: CLIENT, username: 'u@contoso.example', password: 'pw' },
  'authorization-code': { protocol: 'imap', grantType: 'authorization-code', tenantId: TENANT, clientId: CLIENT, redirectUri: REDIRECT, username: 'u@contoso.example' },
  'client-credentials': { protocol: 'imap', grantType: 'client-credentials', tenantId: TENANT, clientId: CLIENT, clientSecret: 's3cret', username: 'u@contoso.example' },
  'device-code': { protocol: 'imap', grantType: 'device-code', tenantId: TENANT, clientId: CLIENT, username: 'u@contoso.example' },
};
const GRANTS = Object.keys(BASELINES) as GrantTypeName[];

const PROXIES = { corp: { url: 'http://proxy.corp.example:3128' } };
const ACME_TOKEN_ONLY = { acme: { type: 'generic', tokenEndpoint: 'https://idp.acme.example/token' } };

interface MatrixCase {
  readonly name: string;
  readonly grant: GrantTypeName;
  readonly set?: Record<string, unknown>;
  readonly unset?: readonly string[];
  /** Top-level sections next to mailboxes (proxies, authorizationServers). */
  readonly top?: Record<string, unknown>;
  readonly expect: readonly Expected[];
}

function mailbox(grant: GrantTypeName, set: Record<string, unknown> = {}, unset: readonly string[] = []): Record<string, unknown> {
  const result: Record<string, unknown> = { ...BASELINES[grant], ...set };
  for (const key of unset) delete result[key];
  return result;
}

async function run(c: MatrixCase): Promise<void> {
  const result = await loadObject({ ...c.top, mailboxes: { m: mailbox(c.grant, c.set, c.unset) } });
  assert.deepEqual(triples(result), c.expect);
  assert.equal(result.ok, !c.expect.some(([severity]) => severity === 'error'));
}

const notApplicable = (field: string, grant: GrantTypeName, reason = ''): Expected => ['error', `${M}.${field}`, `does not apply to grant type ${grant}${reason}; remove it`];

describe('config matrix: baselines', () => {
  for (const grant of GRANTS) {
    test(`${grant}: the baseline mailbox is valid and needs nothing else`, async () => {
      const result = await loadObject({ mailboxes: { m: mailbox(grant) } });
      assert.deepEqual(triples(result), []);
      const m = configOf(result).mailboxes.get('m');
      assert.equal(m?.grantType, grant);
      assert.equal(m.authorizationServer.name, 'microsoft');
      assert.equal(m.authenticationMode, 'client-secret');
    });
  }
});

const cases: MatrixCase[] = [
  // --- protocol row: ropc and ropc-deprecated are graph-only
  ...(['imap', 'pop3', 'smtp'] as const).flatMap((protocol) =>
    (['ropc', 'ropc-deprecated'] as const).map(
      (grant): MatrixCase => ({
        name: `protocol: ${grant} with ${protocol} is refused, naming the grants that work`,
        grant,
        set: { protocol },
        expect: [['error', `${M}.grantType`, `grant type ${grant} works only with protocol graph; for ${protocol} use authorization-code, client-credentials or device-code`]],
      }),
    ),
  ),
  ...(['graph', 'imap', 'pop3', 'smtp'] as const).flatMap((protocol) =>
    (['authorization-code', 'client-credentials', 'device-code'] as const).map((grant): MatrixCase => ({ name: `protocol: ${grant} with ${protocol} is fine`, grant, set: { protocol }, expect: [] })),
  ),
  {
    name: 'protocol: graph needs a microsoft-type server (google)',
    grant: 'authorization-code',
    set: { protocol: 'graph', authorizationServer: 'google' },
    expect: [['error', `${M}.authorizationServer`, 'protocol graph needs a microsoft-type authorization server, and google is of type google; use microsoft (or another server of type microsoft)']],
  },
  {
    name: 'protocol: graph needs a microsoft-type server (generic), and says nothing more about that server',
    grant: 'client-credentials',
    set: { protocol: 'graph', authorizationServer: 'acme' },
    top: { authorizationServers: ACME_TOKEN_ONLY },
    expect: [['error', `${M}.authorizationServer`, 'protocol graph needs a microsoft-type authorization server, and acme is of type generic; use microsoft (or another server of type microsoft)']],
  },
  {
    name: 'protocol: graph on another microsoft-type server is fine',
    grant: 'client-credentials',
    set: { protocol: 'graph', authorizationServer: 'entra-us' },
    top: { authorizationServers: { 'entra-us': { type: 'microsoft', authorityHost: 'https://login.microsoftonline.us' } } },
    expect: [],
  },
  {
    name: 'protocol: missing',
    grant: 'client-credentials',
    unset: ['protocol'],
    expect: [['error', `${M}.protocol`, 'required; set one of: graph, imap, pop3, smtp']],
  },
  {
    name: 'protocol: unknown value, with a suggestion',
    grant: 'client-credentials',
    set: { protocol: 'imap4' },
    expect: [['error', `${M}.protocol`, 'must be one of: graph, imap, pop3, smtp (did you mean imap?)']],
  },
  {
    name: 'grantType: missing, and the grant-independent rules still run',
    grant: 'client-credentials',
    unset: ['grantType', 'clientId'],
    expect: [
      ['error', `${M}.grantType`, 'required; set one of: ropc, ropc-deprecated, authorization-code, client-credentials, device-code'],
      ['error', `${M}.clientId`, 'required; set the application (client) ID of the app registration'],
    ],
  },
  {
    name: 'grantType: misspelt',
    grant: 'client-credentials',
    set: { grantType: 'client_credentials' },
    expect: [['error', `${M}.grantType`, 'must be one of: ropc, ropc-deprecated, authorization-code, client-credentials, device-code (did you mean client-credentials?)']],
  },

  // --- authorization endpoint row
  {
    name: 'authorization endpoint: authorization-code on a generic server without one',
    grant: 'authorization-code',
    set: { authorizationServer: 'acme' },
    unset: ['tenantId'],
    top: { authorizationServers: { acme: { ...ACME_TOKEN_ONLY.acme, scopes: { imap: ['mail'] } } } },
    expect: [['error', `${M}.authorizationServer`, 'grant type authorization-code needs an authorization endpoint, and authorization server acme has none; set authorizationServers.acme.authorizationEndpoint or issuer']],
  },
  {
    name: 'authorization endpoint: authorization-code on a generic server with issuer (discovery)',
    grant: 'authorization-code',
    set: { authorizationServer: 'acme', scopes: ['mail'] },
    unset: ['tenantId'],
    top: { authorizationServers: { acme: { type: 'generic', issuer: 'https://idp.acme.example' } } },
    expect: [],
  },
  {
    name: 'authorization endpoint: authorization-code on a generic server with both endpoints',
    grant: 'authorization-code',
    set: { authorizationServer: 'acme', scopes: ['mail'] },
    unset: ['tenantId'],
    top: { authorizationServers: { acme: { ...ACME_TOKEN_ONLY.acme, authorizationEndpoint: 'https://idp.acme.example/authorize' } } },
    expect: [],
  },
  {
    name: 'authorization endpoint: authorization-code on google (built in)',
    grant: 'authorization-code',
    set: { authorizationServer: 'google' },
    unset: ['tenantId'],
    expect: [],
  },
  {
    name: 'authorization endpoint: n/a for client-credentials (a token endpoint is enough)',
    grant: 'client-credentials',
    set: { authorizationServer: 'acme', scopes: ['mail'] },
    unset: ['tenantId'],
    top: { authorizationServers: ACME_TOKEN_ONLY },
    expect: [],
  },
  {
    name: 'device authorization endpoint: device-code on a generic server without one',
    grant: 'device-code',
    set: { authorizationServer: 'acme', scopes: ['mail'] },
    unset: ['tenantId'],
    top: { authorizationServers: ACME_TOKEN_ONLY },
    expect: [['error', `${M}.authorizationServer`, 'grant type device-code needs a device authorization endpoint, and authorization server acme has none; set authorizationServers.acme.deviceAuthorizationEndpoint or issuer']],
  },
  {
    name: 'device authorization endpoint: device-code on a generic server that has one',
    grant: 'device-code',
    set: { authorizationServer: 'acme', scopes: ['mail'] },
    unset: ['tenantId'],
    top: { authorizationServers: { acme: { ...ACME_TOKEN_ONLY.acme, deviceAuthorizationEndpoint: 'https://idp.acme.example/device' } } },
    expect: [],
  },
  {
    name: 'device authorization endpoint: device-code on a generic server with issuer',
    grant: 'device-code',
    set: { authorizationServer: 'acme', scopes: ['mail'] },
    unset: ['tenantId'],
    top: { authorizationServers: { acme: { type: 'generic', issuer: 'https://idp.acme.example' } } },
    expect: [],
  },

  // --- token endpoint row
  {
    name: 'token endpoint: a generic server needs one (or issuer); its mailboxes are not blamed for it',
    grant: 'client-credentials',
    set: { authorizationServer: 'acme', scopes: ['mail'] },
    unset: ['tenantId'],
    top: { authorizationServers: { acme: { type: 'generic', authorizationEndpoint: 'https://idp.acme.example/authorize' } } },
    expect: [['error', 'authorizationServers.acme', 'a generic server needs issuer (for discovery) or tokenEndpoint; set one of them']],
  },
  {
    name: 'token endpoint: n/a for ropc-deprecated, which always uses the fixed Microsoft endpoint',
    grant: 'ropc-deprecated',
    set: { authorizationServer: 'entra-us' },
    top: { authorizationServers: { 'entra-us': { type: 'microsoft', authorityHost: 'https://login.microsoftonline.us' } } },
    expect: [['error', `${M}.authorizationServer`, 'does not apply to grant type ropc-deprecated (it always uses the fixed Microsoft endpoint); remove it, or use grant type ropc']],
  },
  { name: 'token endpoint: ropc-deprecated may name microsoft itself', grant: 'ropc-deprecated', set: { authorizationServer: 'microsoft' }, expect: [] },
  {
    name: 'token endpoint: allowed for ropc (another microsoft-type server)',
    grant: 'ropc',
    set: { authorizationServer: 'entra-us' },
    top: { authorizationServers: { 'entra-us': { type: 'microsoft', authorityHost: 'https://login.microsoftonline.us' } } },
    expect: [],
  },

  // --- scopes row
  { name: 'scopes: allowed for ropc', grant: 'ropc', set: { scopes: ['https://graph.microsoft.com/Mail.Read'] }, expect: [] },
  {
    name: 'scopes: n/a for ropc-deprecated',
    grant: 'ropc-deprecated',
    set: { scopes: ['https://graph.microsoft.com/Mail.Read'] },
    expect: [notApplicable('scopes', 'ropc-deprecated', ' (it always asks for the Graph default scope)')],
  },
  ...(['authorization-code', 'client-credentials', 'device-code'] as const).flatMap((grant): MatrixCase[] => [
    {
      name: `scopes: required for ${grant}, and a generic server without a default for the protocol has none`,
      grant,
      set: { authorizationServer: 'acme' },
      unset: ['tenantId'],
      top: { authorizationServers: { acme: { type: 'generic', issuer: 'https://idp.acme.example', scopes: { smtp: ['smtp'] } } } },
      expect: [['error', `${M}.scopes`, `required for grant type ${grant}: authorization server acme has no default scopes for imap; set scopes here, or authorizationServers.acme.scopes.imap`]],
    },
    {
      name: `scopes: for ${grant} the server default counts`,
      grant,
      set: { authorizationServer: 'acme' },
      unset: ['tenantId'],
      top: { authorizationServers: { acme: { type: 'generic', issuer: 'https://idp.acme.example', scopes: { imap: ['mail'] } } } },
      expect: [],
    },
    { name: `scopes: for ${grant} the mailbox's own count`, grant, set: { scopes: 'https://outlook.office.com/IMAP.AccessAsUser.All' }, expect: [] },
  ]),
  {
    name: 'scopes: a non-string item is blamed by its index',
    grant: 'client-credentials',
    set: { scopes: ['https://outlook.office365.com/.default', 42] },
    expect: [['error', `${M}.scopes[1]`, 'must be a scope, not a number']],
  },
  {
    name: 'scopes: an empty list is refused',
    grant: 'client-credentials',
    set: { scopes: [] },
    expect: [['error', `${M}.scopes`, 'must list at least one scope']],
  },

  // --- tenantId row
  ...(['ropc', 'ropc-deprecated'] as const).flatMap((grant): MatrixCase[] => [
    {
      name: `tenantId: recommended for ${grant} (a warning)`,
      grant,
      unset: ['tenantId'],
      expect: [['warning', `${M}.tenantId`, `recommended for grant type ${grant}; without it the broker uses the organizations authority (any work or school account)`]],
    },
    ...(['common', 'consumers'] as const).map(
      (tenant): MatrixCase => ({
        name: `tenantId: ${grant} cannot use ${tenant}`,
        grant,
        set: { tenantId: tenant },
        expect: [['error', `${M}.tenantId`, `grant type ${grant} cannot use the ${tenant} tenant; set the directory (tenant) ID or a domain of the tenant, or remove tenantId to use organizations`]],
      }),
    ),
    { name: `tenantId: ${grant} may use organizations`, grant, set: { tenantId: 'organizations' }, expect: [] },
    { name: `tenantId: ${grant} may use a domain`, grant, set: { tenantId: 'contoso.onmicrosoft.com' }, expect: [] },
  ]),
  ...(['authorization-code', 'client-credentials', 'device-code'] as const).map(
    (grant): MatrixCase => ({
      name: `tenantId: required for ${grant} on a microsoft-type server`,
      grant,
      unset: ['tenantId'],
      expect: [['error', `${M}.tenantId`, `required for grant type ${grant}; set the directory (tenant) ID, or a domain of the tenant such as contoso.onmicrosoft.com`]],
    }),
  ),
  ...(['common', 'organizations', 'consumers'] as const).map(
    (tenant): MatrixCase => ({
      name: `tenantId: client-credentials cannot use ${tenant}`,
      grant: 'client-credentials',
      set: { tenantId: tenant },
      expect: [['error', `${M}.tenantId`, `grant type client-credentials needs the tenant itself, not ${tenant}; set the directory (tenant) ID or a domain of the tenant`]],
    }),
  ),
  { name: 'tenantId: authorization-code may use organizations (multi-tenant apps)', grant: 'authorization-code', set: { tenantId: 'organizations' }, expect: [] },
  ...(['authorization-code', 'client-credentials', 'device-code'] as const).map(
    (grant): MatrixCase => ({
      name: `tenantId: does not apply on google for ${grant}`,
      grant,
      set: { authorizationServer: 'google' },
      expect: [
        ...(grant === 'client-credentials'
          ? [
              [
                'error',
                `${M}.authenticationMode`,
                "Google has no client-credentials grant with a client secret: application-level access is a service account with domain-wide delegation; set credentialsFile to the service account's JSON key (or authenticationMode: certificate, certificate.file to its private key and certificate, clientId to its e-mail address)",
              ] as const,
            ]
          : []),
        ...(grant === 'device-code'
          ? [['warning', `${M}.grantType`, 'Google does not allow the Gmail scope (https://mail.google.com/) in the device flow; use grant type authorization-code'] as const]
          : []),
        ['error', `${M}.tenantId`, 'applies only to microsoft-type authorization servers, and google is of type google; remove it'],
      ],
    }),
  ),
  {
    name: 'tenantId: not a tenant',
    grant: 'client-credentials',
    set: { tenantId: 'contoso/evil' },
    expect: [['error', `${M}.tenantId`, 'must be a directory (tenant) ID such as 00000000-0000-0000-0000-000000000000, or a domain such as contoso.onmicrosoft.com']],
  },

  // --- clientId row
  ...GRANTS.map((grant): MatrixCase => ({ name: `clientId: required for ${grant}`, grant, unset: ['clientId'], expect: [['error', `${M}.clientId`, 'required; set the application (client) ID of the app registration']] })),

  // --- username row
  ...GRANTS.map(
    (grant): MatrixCase => ({
      name: `username: required for ${grant}`,
      grant,
      unset: ['username'],
      expect: [
        [
          'error',
          `${M}.username`,
          grant === 'client-credentials' ? 'required for grant type client-credentials; set the address of the mailbox the application reads' : "required; set the mailbox user's name, e.g. sales@contoso.example",
        ],
      ],
    }),
  ),

  // --- password row
  ...(['ropc', 'ropc-deprecated'] as const).map((grant): MatrixCase => ({ name: `password: required for ${grant}`, grant, unset: ['password'], expect: [['error', `${M}.password`, `required for grant type ${grant}; set password or passwordFile`]] })),
  ...(['authorization-code', 'device-code'] as const).map(
    (grant): MatrixCase => ({
      name: `password: n/a for ${grant}`,
      grant,
      set: { password: 'pw' },
      expect: [notApplicable('password', grant, ' (the user signs in interactively; the broker never sees the password)')],
    }),
  ),
  {
    name: 'password: n/a for client-credentials',
    grant: 'client-credentials',
    set: { password: 'pw' },
    expect: [notApplicable('password', 'client-credentials', ' (the application signs in with its own credential)')],
  },

  // --- clientSecret row
  ...(['ropc', 'ropc-deprecated', 'device-code'] as const).map((grant): MatrixCase => ({ name: `clientSecret: optional for ${grant} (given)`, grant, set: { clientSecret: 's3cret' }, expect: [] })),
  {
    name: 'clientSecret: required for client-credentials in client-secret mode',
    grant: 'client-credentials',
    unset: ['clientSecret'],
    expect: [['error', `${M}.clientSecret`, 'required for grant type client-credentials in client-secret mode; set clientSecret or clientSecretFile, or use authenticationMode: certificate']],
  },
  {
    name: 'clientSecret: authorization-code with redirectPlatform web needs one',
    grant: 'authorization-code',
    set: { redirectPlatform: 'web' },
    expect: [
      [
        'error',
        `${M}.clientSecret`,
        'required for grant type authorization-code with redirectPlatform web: a web app is a confidential client and must send a credential (Entra: AADSTS7000218); set clientSecret or clientSecretFile, use authenticationMode: certificate, or use redirectPlatform: desktop',
      ],
    ],
  },
  { name: 'clientSecret: authorization-code with redirectPlatform web and a secret', grant: 'authorization-code', set: { redirectPlatform: 'web', clientSecret: 's3cret' }, expect: [] },
  {
    name: 'clientSecret: authorization-code with redirectPlatform desktop must not send one (AADSTS700025)',
    grant: 'authorization-code',
    set: { redirectPlatform: 'desktop', clientSecret: 's3cret' },
    expect: [
      [
        'error',
        `${M}.clientSecret`,
        'must be left out with redirectPlatform desktop: a mobile/desktop redirect makes a public client, and Entra answers AADSTS700025 when a public client sends a secret; remove it, or use redirectPlatform: web',
      ],
    ],
  },
  {
    name: "clientSecret: Google's desktop clients do send their secret",
    grant: 'authorization-code',
    set: { authorizationServer: 'google', redirectPlatform: 'desktop', clientSecret: 's3cret' },
    unset: ['tenantId'],
    expect: [],
  },
  { name: 'clientSecret: authorization-code without a secret defaults to desktop', grant: 'authorization-code', expect: [] },
  {
    name: 'clientSecret: n/a in certificate mode',
    grant: 'client-credentials',
    set: { authenticationMode: 'certificate', certificate: { file: NO_FILE, thumbprint: 'A'.repeat(40) } },
    expect: [
      ['error', `${M}.clientSecret`, 'does not apply in authenticationMode certificate (the certificate is the client credential); remove it'],
      NO_FILE_ERROR,
    ],
  },

  // --- certificate row (files themselves: config-certificates.test.ts)
  ...(['ropc', 'ropc-deprecated', 'device-code'] as const).flatMap((grant): MatrixCase[] => [
    {
      name: `certificate: n/a for ${grant}`,
      grant,
      set: { certificate: { file: 'app.pem', thumbprint: 'A'.repeat(40) } },
      expect: [notApplicable('certificate', grant)],
    },
    {
      name: `certificate: authenticationMode certificate is refused for ${grant}`,
      grant,
      set: { authenticationMode: 'certificate' },
      expect: [['error', `${M}.authenticationMode`, 'certificate works only with grant types authorization-code or client-credentials; use client-secret (or remove authenticationMode)']],
    },
  ]),
  ...(['authorization-code', 'client-credentials'] as const).flatMap((grant): MatrixCase[] => [
    {
      name: `certificate: required for ${grant} in certificate mode`,
      grant,
      set: { authenticationMode: 'certificate' },
      unset: ['clientSecret'],
      expect: [['error', `${M}.certificate`, 'required in authenticationMode certificate; set certificate.file and certificate.thumbprint']],
    },
    {
      name: `certificate: file and thumbprint are required for ${grant}`,
      grant,
      set: { authenticationMode: 'certificate', certificate: {} },
      unset: ['clientSecret'],
      expect: [
        ['error', `${M}.certificate.file`, 'required; set the PEM or PFX file with the certificate and its private key'],
        ['error', `${M}.certificate.thumbprint`, "required; set the certificate's thumbprint (SHA-1, as the Azure portal shows it)"],
      ],
    },
    {
      name: `certificate: n/a in client-secret mode for ${grant}`,
      grant,
      set: { clientSecret: 's3cret', certificate: { file: 'app.pem', thumbprint: 'A'.repeat(40) } },
      expect: [['error', `${M}.certificate`, 'does not apply in authenticationMode client-secret; remove it, or set authenticationMode: certificate']],
    },
  ]),
  {
    name: 'certificate: not with redirectPlatform desktop (a public client)',
    grant: 'authorization-code',
    set: { authenticationMode: 'certificate', redirectPlatform: 'desktop', certificate: { file: NO_FILE, thumbprint: 'A'.repeat(40) } },
    expect: [
      [
        'error',
        `${M}.authenticationMode`,
        'certificate cannot be used with redirectPlatform desktop: a mobile/desktop redirect makes a public client, and Entra refuses credentials from public clients (AADSTS700025); use redirectPlatform: web',
      ],
      NO_FILE_ERROR,
    ],
  },
  {
    name: 'authenticationMode: unknown value',
    grant: 'client-credentials',
    set: { authenticationMode: 'cert' },
    expect: [['error', `${M}.authenticationMode`, 'must be one of: client-secret, certificate']],
  },

  // --- redirectUri and redirectPlatform rows
  {
    name: 'redirectUri: required for authorization-code',
    grant: 'authorization-code',
    unset: ['redirectUri'],
    expect: [['error', `${M}.redirectUri`, 'required for grant type authorization-code; set the redirect URI registered for the app, e.g. http://localhost:8400/callback']],
  },
  {
    name: 'redirectUri: must be absolute',
    grant: 'authorization-code',
    set: { redirectUri: '/callback' },
    expect: [['error', `${M}.redirectUri`, 'must be an absolute URL such as http://localhost:8400/callback']],
  },
  ...(['ropc', 'ropc-deprecated', 'client-credentials', 'device-code'] as const).flatMap((grant): MatrixCase[] => [
    { name: `redirectUri: n/a for ${grant}`, grant, set: { redirectUri: REDIRECT }, expect: [notApplicable('redirectUri', grant)] },
    { name: `redirectPlatform: n/a for ${grant}`, grant, set: { redirectPlatform: 'web' }, expect: [notApplicable('redirectPlatform', grant)] },
  ]),
  {
    name: 'redirectPlatform: unknown value',
    grant: 'authorization-code',
    set: { redirectPlatform: 'mobile' },
    expect: [['error', `${M}.redirectPlatform`, 'must be one of: web, desktop']],
  },

  // --- proxy row
  ...(['ropc', 'authorization-code', 'client-credentials', 'device-code'] as const).map((grant): MatrixCase => ({ name: `proxy: allowed for ${grant}`, grant, set: { proxy: 'corp' }, top: { proxies: PROXIES }, expect: [] })),
  {
    name: 'proxy: n/a for ropc-deprecated (and not looked up)',
    grant: 'ropc-deprecated',
    set: { proxy: 'nowhere' },
    expect: [notApplicable('proxy', 'ropc-deprecated', ' (it connects directly, without a proxy)')],
  },
  {
    name: 'proxy: must be defined under proxies',
    grant: 'client-credentials',
    set: { proxy: 'corpp' },
    top: { proxies: PROXIES },
    expect: [['error', `${M}.proxy`, 'unknown proxy "corpp" (did you mean corp?); define it under proxies, or use one of: corp']],
  },
  {
    name: 'proxy: none defined at all',
    grant: 'client-credentials',
    set: { proxy: 'corp' },
    expect: [['error', `${M}.proxy`, 'unknown proxy "corp"; define it under proxies']],
  },

  // --- authorizationServer reference and sharedMailbox
  {
    name: 'authorizationServer: must exist',
    grant: 'client-credentials',
    set: { authorizationServer: 'microsfot' },
    expect: [['error', `${M}.authorizationServer`, 'unknown authorization server "microsfot" (did you mean microsoft?); define it under authorizationServers, or use one of: google, microsoft']],
  },
  ...GRANTS.map((grant): MatrixCase => ({ name: `sharedMailbox: allowed for ${grant}`, grant, set: { sharedMailbox: 'shared@contoso.example' }, expect: [] })),
];

describe('config matrix: one case per cell', () => {
  for (const c of cases) test(c.name, () => run(c));
});

describe('config matrix: every problem of a mailbox is reported at once', () => {
  test('a type error does not hide the matrix problems of the same mailbox, nor other mailboxes', async () => {
    const result = await loadObject({
      mailboxes: {
        a: { ...mailbox('client-credentials', { clientId: ['not', 'a', 'string'], redirectUri: REDIRECT }), username: undefined },
        b: mailbox('ropc', { protocol: 'smtp', tenantId: 42 }),
      },
    });
    assert.deepEqual(triples(result), [
      ['error', 'mailboxes.a.username', 'required for grant type client-credentials; set the address of the mailbox the application reads'],
      ['error', 'mailboxes.a.clientId', 'must be a string, not a list'],
      ['error', 'mailboxes.a.redirectUri', 'does not apply to grant type client-credentials; remove it'],
      ['error', 'mailboxes.b.grantType', 'grant type ropc works only with protocol graph; for smtp use authorization-code, client-credentials or device-code'],
      ['error', 'mailboxes.b.tenantId', 'must be a string, not a number'],
    ]);
  });

  test('a value that failed (an unset variable) is not also reported as missing', async () => {
    const result = await loadObject({ mailboxes: { m: mailbox('client-credentials', { clientSecret: '${NOPE}' }) } });
    assert.deepEqual(triples(result), [
      ['error', `${M}.clientSecret`, "environment variable NOPE is not set; set it in the broker's environment (systemd: Environment= or EnvironmentFile=)"],
    ]);
  });
});
