// The sandbox as the resource servers a token is meant for, over real HTTPS:
// Exchange Online's token introspection (what Dovecot's oauth2 passdb asks)
// and a Graph-shaped inbox, with Exchange's mailbox permissions, app roles
// from admin consent, revoked and expired tokens, and the recorded reason
// of every decision.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, fetch } from 'undici';
import type { Response } from 'undici';
import { startSandbox } from '../../src/sandbox/index.js';
import type { RegisteredSandboxUser, ResourceDecision, Sandbox } from '../../src/sandbox/index.js';

const TENANT = '5f1c7a2e-9b3d-4c8e-a1f0-2d3e4f5a6b7c';
const PUBLIC_APP = 'c3c3c3c3-0000-4000-8000-00000000000c';
const DAEMON_APP = 'd4d4d4d4-0000-4000-8000-00000000000d';
const DAEMON_SECRET = 'Daemon~secret.value_1';
const IMAP_ONLY_APP = 'e5e5e5e5-0000-4000-8000-00000000000e';
const IMAP_ONLY_SECRET = 'ImapOnly~secret.value_2';
const BARE_APP = 'f6f6f6f6-0000-4000-8000-00000000000f';
const BARE_SECRET = 'Bare~secret.value_3';
const ALICE = 'alice@contoso.example';
const BOB = 'bob@contoso.example';
const CAROL = 'carol@contoso.example';
const ERIN = 'erin@contoso.example';
const SHARED = 'support@contoso.example';
const PASSWORD = 'Correct-Horse-1';
const EXO = 'https://outlook.office.com';
const EXO365 = 'https://outlook.office365.com';
const GRAPH = 'https://graph.microsoft.com';
const EXO_US = 'https://outlook.office365.us';
const GRAPH_US = 'https://graph.microsoft.us';
const EXCHANGE_ROLES = ['IMAP.AccessAsApp', 'POP.AccessAsApp', 'SMTP.SendAsApp'];
const LIFETIME_SECONDS = 3599;
const START_MS = Date.UTC(2026, 3, 1, 8, 0, 0);

let nowMs = START_MS;
const clock = { now: (): number => nowMs };
let sandbox: Sandbox;
let dispatcher: Agent;
let alice: RegisteredSandboxUser;
/** Every access and refresh token the sandbox handed out here: none may show in a decision. */
const issuedTokens: string[] = [];

before(async () => {
  sandbox = await startSandbox({ clock, accessTokenLifetimeSeconds: LIFETIME_SECONDS });
  sandbox.hooks.beforeTokenResponse = ({ accessToken, refreshToken }): void => {
    for (const token of [accessToken, refreshToken]) if (token !== undefined) issuedTokens.push(token);
  };
  sandbox.registerApplication({ tenantId: TENANT, clientId: PUBLIC_APP, publicClient: true });
  sandbox.registerApplication({
    tenantId: TENANT,
    clientId: DAEMON_APP,
    clientSecret: DAEMON_SECRET,
    applicationPermissions: {
      // Spelled as an admin might: the other Exchange host name, trailing slash, capitals.
      'https://Outlook.Office365.com/': EXCHANGE_ROLES,
      [GRAPH]: ['Mail.Read'],
      [EXO_US]: ['IMAP.AccessAsApp'],
    },
  });
  sandbox.registerApplication({
    tenantId: TENANT,
    clientId: IMAP_ONLY_APP,
    clientSecret: IMAP_ONLY_SECRET,
    applicationPermissions: { [EXO]: ['IMAP.AccessAsApp'] },
  });
  sandbox.registerApplication({ tenantId: TENANT, clientId: BARE_APP, clientSecret: BARE_SECRET });
  alice = sandbox.registerUser({ tenantId: TENANT, username: ALICE, password: PASSWORD });
  for (const username of [BOB, CAROL, ERIN]) sandbox.registerUser({ tenantId: TENANT, username, password: PASSWORD });
  // The shared mailbox: Bob may open it and send as it, Carol may only open it,
  // the daemon app and the IMAP-only app were given it (New-ServicePrincipal + Add-MailboxPermission).
  sandbox.grantMailboxAccess(SHARED, BOB);
  sandbox.grantMailboxAccess('Support@Contoso.example', CAROL, ['FullAccess']);
  sandbox.grantMailboxAccess(SHARED, DAEMON_APP);
  sandbox.grantMailboxAccess(SHARED, IMAP_ONLY_APP, ['FullAccess']);
  dispatcher = new Agent({ connect: { ca: sandbox.caCertificatePem } });
});

after(async () => {
  await dispatcher.close();
  await sandbox.close();
});

async function tokenFrom(form: Record<string, string>): Promise<{ access_token: string; refresh_token?: string; id_token?: string }> {
  const response = await fetch(`${sandbox.url}/${TENANT}/oauth2/v2.0/token`, {
    method: 'POST',
    body: new URLSearchParams(form),
    dispatcher,
  });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return JSON.parse(text) as { access_token: string; refresh_token?: string; id_token?: string };
}

/** A delegated token of `username` (ROPC) for `scope`, e.g. `${EXO}/IMAP.AccessAsUser.All`. */
async function userToken(username: string, scope: string): Promise<string> {
  const { access_token: token } = await tokenFrom({ grant_type: 'password', client_id: PUBLIC_APP, username, password: PASSWORD, scope });
  return token;
}

/** An app-only token (client credentials) for `resource`. */
async function appToken(clientId: string, secret: string, resource: string): Promise<string> {
  const { access_token: token } = await tokenFrom({
    grant_type: 'client_credentials',
    client_id: clientId,
    client_secret: secret,
    scope: `${resource}/.default`,
  });
  return token;
}

interface Introspection {
  readonly status: number;
  readonly contentType: string | null;
  readonly body: Record<string, unknown>;
}

/** POSTs as Dovecot's oauth2 passdb does: the token and empty client credentials. */
async function introspect(path: string, token: string | undefined): Promise<Introspection> {
  const form = new URLSearchParams({ ...(token === undefined ? {} : { token }), client_id: '', client_secret: '' });
  const response = await fetch(`${sandbox.url}/exchange/introspect${path}`, { method: 'POST', body: form, dispatcher });
  return { status: response.status, contentType: response.headers.get('content-type'), body: (await response.json()) as Record<string, unknown> };
}

/** Introspects and returns the answer with the one decision it recorded. */
async function introspectDecided(path: string, token: string | undefined): Promise<{ answer: Introspection; decision: ResourceDecision }> {
  const before = sandbox.resourceDecisions.length;
  const answer = await introspect(path, token);
  const decisions = sandbox.resourceDecisions.slice(before);
  assert.equal(decisions.length, 1, `one decision recorded: ${JSON.stringify(decisions)}`);
  return { answer, decision: decisions[0] as ResourceDecision };
}

async function assertRefused(path: string, token: string, expected: Omit<ResourceDecision, 'endpoint' | 'allowed'>): Promise<void> {
  const { answer, decision } = await introspectDecided(path, token);
  assert.equal(answer.status, 200);
  // RFC 7662: an inactive token's answer says nothing more.
  assert.deepEqual(answer.body, { active: false });
  assert.deepEqual(decision, { endpoint: 'introspection', allowed: false, ...expected });
}

function graph(path: string, token?: string): Promise<Response> {
  return fetch(`${sandbox.url}/v1.0${path}`, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    dispatcher,
  });
}

interface GraphError {
  error: { code: string; message: string; innerError: Record<string, string> };
}

async function graphDecided(path: string, token?: string): Promise<{ response: Response; text: string; decision: ResourceDecision }> {
  const before = sandbox.resourceDecisions.length;
  const response = await graph(path, token);
  const text = await response.text();
  const decisions = sandbox.resourceDecisions.slice(before);
  assert.equal(decisions.length, 1, `one decision recorded: ${JSON.stringify(decisions)}`);
  return { response, text, decision: decisions[0] as ResourceDecision };
}

async function assertGraphRefused(
  path: string,
  token: string | undefined,
  status: number,
  code: string,
  expected: Omit<ResourceDecision, 'endpoint' | 'allowed'>,
): Promise<GraphError & { response: Response }> {
  const { response, text, decision } = await graphDecided(path, token);
  assert.equal(response.status, status, text);
  assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8');
  const body = JSON.parse(text) as GraphError;
  assert.equal(body.error.code, code, text);
  assert.deepEqual(decision, { endpoint: 'graph', allowed: false, ...expected });
  return { ...body, response };
}

test('client-credentials tokens carry the consented application permissions of their resource in roles', async () => {
  // Consent given for outlook.office365.com covers outlook.office.com: one Exchange service principal.
  for (const resource of [EXO365, EXO, 'https://OUTLOOK.office.com/']) {
    const claims = sandbox.verifyAccessToken(await appToken(DAEMON_APP, DAEMON_SECRET, resource));
    assert.deepEqual(claims?.roles, EXCHANGE_ROLES, resource);
    assert.equal(claims?.aud, resource);
  }
  assert.deepEqual(sandbox.verifyAccessToken(await appToken(DAEMON_APP, DAEMON_SECRET, GRAPH))?.roles, ['Mail.Read']);
  assert.deepEqual(sandbox.verifyAccessToken(await appToken(DAEMON_APP, DAEMON_SECRET, EXO_US))?.roles, ['IMAP.AccessAsApp']);
  // A resource without consent, and an app without any: no roles, as before.
  assert.deepEqual(sandbox.verifyAccessToken(await appToken(DAEMON_APP, DAEMON_SECRET, 'https://vault.azure.net'))?.roles, []);
  assert.deepEqual(sandbox.verifyAccessToken(await appToken(BARE_APP, BARE_SECRET, EXO365))?.roles, []);
});

test('introspection lets a user open the own mailbox over IMAP, POP3 and SMTP, and answers as RFC 7662 says', async () => {
  const token = await userToken(ALICE, `${EXO}/IMAP.AccessAsUser.All ${EXO}/POP.AccessAsUser.All ${EXO}/SMTP.Send`);
  const claims = sandbox.verifyAccessToken(token);
  assert.ok(claims !== undefined);
  for (const protocol of ['imap', 'pop3', 'smtp'] as const) {
    // The address as the login spelled it; the answer's username is lower-case, as the passdb compares it.
    const { answer, decision } = await introspectDecided(`/${protocol}/Alice@Contoso.example`, token);
    assert.equal(answer.status, 200);
    assert.equal(answer.contentType, 'application/json; charset=utf-8');
    assert.deepEqual(answer.body, {
      active: true,
      username: ALICE,
      scope: 'IMAP.AccessAsUser.All POP.AccessAsUser.All SMTP.Send',
      aud: EXO,
      exp: claims.exp,
      client_id: PUBLIC_APP,
      token_type: 'Bearer',
      sub: claims.sub,
    });
    assert.deepEqual(decision, { endpoint: 'introspection', protocol, mailbox: ALICE, allowed: true, reason: 'own_mailbox', principal: ALICE });
  }
});

test('introspection refuses a token of the wrong audience, scope or mailbox, and says why', async () => {
  const imapOnly = await userToken(ALICE, `${EXO}/IMAP.AccessAsUser.All`);
  await assertRefused(`/smtp/${ALICE}`, imapOnly, { protocol: 'smtp', mailbox: ALICE, reason: 'missing_scope', principal: ALICE });
  await assertRefused(`/pop3/${ALICE}`, imapOnly, { protocol: 'pop3', mailbox: ALICE, reason: 'missing_scope', principal: ALICE });
  // A Graph token is no Exchange token, whatever it may do on Graph.
  const graphToken = await userToken(ALICE, `${GRAPH}/Mail.Read`);
  await assertRefused(`/imap/${ALICE}`, graphToken, { protocol: 'imap', mailbox: ALICE, reason: 'wrong_audience', principal: ALICE });
  // Alice's good IMAP token for someone else's mailbox, an unknown one, and the catch-all passdb.
  await assertRefused(`/imap/${BOB}`, imapOnly, { protocol: 'imap', mailbox: BOB, reason: 'no_mailbox_permission', principal: ALICE });
  await assertRefused(`/imap/${SHARED}`, imapOnly, { protocol: 'imap', mailbox: SHARED, reason: 'no_mailbox_permission', principal: ALICE });
  await assertRefused('/imap/nobody@contoso.example', imapOnly, { protocol: 'imap', mailbox: 'nobody@contoso.example', reason: 'unknown_mailbox', principal: ALICE });
  await assertRefused('/imap/-', imapOnly, { protocol: 'imap', mailbox: '-', reason: 'unknown_mailbox', principal: ALICE });
});

test('introspection lets a delegate open a shared mailbox with FullAccess and send as it only with SendAs', async () => {
  const scope = `${EXO}/IMAP.AccessAsUser.All ${EXO}/SMTP.Send`;
  const bob = await userToken(BOB, scope);
  for (const protocol of ['imap', 'smtp'] as const) {
    const { answer, decision } = await introspectDecided(`/${protocol}/${SHARED}`, bob);
    assert.equal(answer.body['active'], true);
    assert.equal(answer.body['username'], SHARED);
    assert.deepEqual(decision, { endpoint: 'introspection', protocol, mailbox: SHARED, allowed: true, reason: 'delegated_access', principal: BOB });
  }
  const carol = await userToken(CAROL, scope);
  const { answer } = await introspectDecided(`/imap/${SHARED}`, carol);
  assert.equal(answer.body['active'], true);
  await assertRefused(`/smtp/${SHARED}`, carol, { protocol: 'smtp', mailbox: SHARED, reason: 'no_send_as_permission', principal: CAROL });
  // Erin has no grant at all.
  await assertRefused(`/imap/${SHARED}`, await userToken(ERIN, scope), { protocol: 'imap', mailbox: SHARED, reason: 'no_mailbox_permission', principal: ERIN });
});

test('introspection lets an app token in by its roles and the mailboxes granted to the app', async () => {
  const daemon = await appToken(DAEMON_APP, DAEMON_SECRET, EXO365);
  const claims = sandbox.verifyAccessToken(daemon);
  assert.ok(claims !== undefined);
  for (const protocol of ['imap', 'pop3', 'smtp'] as const) {
    const { answer, decision } = await introspectDecided(`/${protocol}/${SHARED}`, daemon);
    assert.deepEqual(answer.body, {
      active: true,
      username: SHARED,
      scope: EXCHANGE_ROLES.join(' '),
      aud: EXO365,
      exp: claims.exp,
      client_id: DAEMON_APP,
      token_type: 'Bearer',
      sub: claims.sub,
    });
    assert.deepEqual(decision, { endpoint: 'introspection', protocol, mailbox: SHARED, allowed: true, reason: 'application_access', principal: DAEMON_APP });
  }
  // No grant on Alice's mailbox; an app whose consent lacks the protocol's role; an app with no consent.
  await assertRefused(`/imap/${ALICE}`, daemon, { protocol: 'imap', mailbox: ALICE, reason: 'no_mailbox_permission', principal: DAEMON_APP });
  const imapOnly = await appToken(IMAP_ONLY_APP, IMAP_ONLY_SECRET, EXO);
  assert.equal((await introspectDecided(`/imap/${SHARED}`, imapOnly)).answer.body['active'], true);
  await assertRefused(`/smtp/${SHARED}`, imapOnly, { protocol: 'smtp', mailbox: SHARED, reason: 'missing_role', principal: IMAP_ONLY_APP });
  await assertRefused(`/pop3/${SHARED}`, imapOnly, { protocol: 'pop3', mailbox: SHARED, reason: 'missing_role', principal: IMAP_ONLY_APP });
  const bare = await appToken(BARE_APP, BARE_SECRET, EXO365);
  await assertRefused(`/imap/${SHARED}`, bare, { protocol: 'imap', mailbox: SHARED, reason: 'missing_role', principal: BARE_APP });
});

test('introspection takes tokens of a national cloud Exchange (delegated and app)', async () => {
  const delegated = await userToken(ALICE, `${EXO_US}/IMAP.AccessAsUser.All`);
  const { answer, decision } = await introspectDecided(`/imap/${ALICE}`, delegated);
  assert.equal(answer.body['active'], true);
  assert.equal(answer.body['aud'], EXO_US);
  assert.equal(decision.reason, 'own_mailbox');
  const app = await appToken(DAEMON_APP, DAEMON_SECRET, EXO_US);
  assert.equal((await introspectDecided(`/imap/${SHARED}`, app)).answer.body['active'], true);
  await assertRefused(`/pop3/${SHARED}`, app, { protocol: 'pop3', mailbox: SHARED, reason: 'missing_role', principal: DAEMON_APP });
  // A national Graph is still Graph.
  await assertRefused(`/imap/${ALICE}`, await userToken(ALICE, `${GRAPH_US}/Mail.Read`), { protocol: 'imap', mailbox: ALICE, reason: 'wrong_audience', principal: ALICE });
});

test('a revoked access token is refused by introspection and Graph while refresh goes on working', async () => {
  const { access_token: revoked, refresh_token: refreshToken } = await tokenFrom({
    grant_type: 'password',
    client_id: PUBLIC_APP,
    username: ALICE,
    password: PASSWORD,
    scope: `${EXO}/IMAP.AccessAsUser.All offline_access`,
  });
  assert.ok(refreshToken !== undefined);
  assert.equal((await introspect(`/imap/${ALICE}`, revoked)).body['active'], true);
  sandbox.revokeAccessToken(revoked);
  await assertRefused(`/imap/${ALICE}`, revoked, { protocol: 'imap', mailbox: ALICE, reason: 'revoked' });
  const { access_token: renewed } = await tokenFrom({ grant_type: 'refresh_token', client_id: PUBLIC_APP, refresh_token: refreshToken });
  const { answer, decision } = await introspectDecided(`/imap/${ALICE}`, renewed);
  assert.equal(answer.body['active'], true);
  assert.equal(decision.reason, 'own_mailbox');

  const graphToken = await userToken(ALICE, `${GRAPH}/Mail.Read`);
  sandbox.revokeAccessToken(graphToken);
  const { response } = await assertGraphRefused('/me/mailFolders/inbox/messages', graphToken, 401, 'InvalidAuthenticationToken', { mailbox: '-', reason: 'revoked' });
  assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer .*error="insufficient_claims"/);
  assert.throws(() => sandbox.revokeAccessToken('not-a-token'), { name: 'TypeError', message: '"token" must be an access token this sandbox issued' });
});

test('tokens past exp or before nbf on the sandbox clock are refused as expired and not yet valid', async () => {
  const exchange = await userToken(ALICE, `${EXO}/IMAP.AccessAsUser.All`);
  const graphToken = await userToken(ALICE, `${GRAPH}/Mail.Read`);
  const issuedAt = nowMs;
  try {
    nowMs = issuedAt - 60_000;
    await assertRefused(`/imap/${ALICE}`, exchange, { protocol: 'imap', mailbox: ALICE, reason: 'not_yet_valid' });
    nowMs = issuedAt + LIFETIME_SECONDS * 1000 - 1000;
    assert.equal((await introspect(`/imap/${ALICE}`, exchange)).body['active'], true, 'one second before exp it still holds');
    nowMs = issuedAt + LIFETIME_SECONDS * 1000;
    await assertRefused(`/imap/${ALICE}`, exchange, { protocol: 'imap', mailbox: ALICE, reason: 'expired' });
    const refusal = await assertGraphRefused(`/users/${ALICE}/mailFolders/inbox/messages`, graphToken, 401, 'InvalidAuthenticationToken', { mailbox: ALICE, reason: 'expired' });
    assert.equal(refusal.error.message, 'Lifetime validation failed, the token is expired.');
  } finally {
    // Later tests mint their tokens on the clock as it is now: keep it moving forward only.
    nowMs = Math.max(nowMs, issuedAt);
  }
});

test('introspection refuses what is no access token of this sandbox', async () => {
  const token = await userToken(ALICE, `${EXO}/IMAP.AccessAsUser.All`);
  const [header, payload] = token.split('.');
  // The payload claims Bob's mailbox; the signature was Alice's.
  const forged = `${header}.${Buffer.from(JSON.stringify({ ...sandbox.verifyAccessToken(token), upn: BOB })).toString('base64url')}.${token.split('.')[2]}`;
  assert.ok(payload !== undefined);
  await assertRefused(`/imap/${BOB}`, forged, { protocol: 'imap', mailbox: BOB, reason: 'bad_signature' });
  await assertRefused(`/imap/${ALICE}`, 'garbage', { protocol: 'imap', mailbox: ALICE, reason: 'bad_signature' });
  const { id_token: idToken } = await tokenFrom({ grant_type: 'password', client_id: PUBLIC_APP, username: ALICE, password: PASSWORD, scope: `${EXO}/IMAP.AccessAsUser.All openid` });
  assert.ok(idToken !== undefined);
  await assertRefused(`/imap/${ALICE}`, idToken, { protocol: 'imap', mailbox: ALICE, reason: 'not_an_access_token' });
});

test('the unqualified introspection checks validity only and names the user or the app', async () => {
  const user = await userToken(ALICE, `${EXO}/SMTP.Send`);
  const userAnswer = await introspectDecided('', user);
  assert.equal(userAnswer.answer.body['active'], true);
  assert.equal(userAnswer.answer.body['username'], ALICE);
  assert.deepEqual(userAnswer.decision, { endpoint: 'introspection', mailbox: '-', allowed: true, reason: 'valid_token', principal: ALICE });
  const app = await appToken(BARE_APP, BARE_SECRET, EXO365);
  const appAnswer = await introspectDecided('', app);
  assert.equal(appAnswer.answer.body['active'], true);
  assert.equal(appAnswer.answer.body['username'], BARE_APP);
  assert.equal(appAnswer.answer.body['scope'], '');
  await assertRefused('', await appToken(DAEMON_APP, DAEMON_SECRET, GRAPH), { mailbox: '-', reason: 'wrong_audience', principal: DAEMON_APP });
});

test('introspection answers 400 without a token, 405 to GET, 404 off its paths, and is not counted as token traffic', async () => {
  const otherBefore = sandbox.stats.otherRequests;
  const totalBefore = sandbox.stats.total;
  const { answer, decision } = await introspectDecided(`/imap/${ALICE}`, undefined);
  assert.equal(answer.status, 400);
  assert.equal(answer.body['error'], 'invalid_request');
  assert.deepEqual(decision, { endpoint: 'introspection', protocol: 'imap', mailbox: ALICE, allowed: false, reason: 'missing_token' });
  const get = await fetch(`${sandbox.url}/exchange/introspect/imap/${ALICE}`, { dispatcher });
  assert.equal(get.status, 405);
  assert.equal(get.headers.get('allow'), 'POST');
  await get.body?.cancel();
  for (const path of ['/jmap/alice@contoso.example', '/imap', `/imap/${ALICE}/extra`]) {
    const response = await fetch(`${sandbox.url}/exchange/introspect${path}`, { method: 'POST', body: new URLSearchParams({ token: 'x' }), dispatcher });
    assert.equal(response.status, 404, path);
    await response.body?.cancel();
  }
  assert.equal(sandbox.stats.otherRequests, otherBefore);
  assert.equal(sandbox.stats.total, totalBefore);
});

test('Graph lists the inbox of the own mailbox by /me, UPN or object id, newest first', async () => {
  nowMs += 1000;
  const first = sandbox.deliverMessage(ALICE, { subject: 'Quarterly numbers', from: 'cfo@fabrikam.example', body: 'Hello Alice,\n\n  the numbers are in.' });
  nowMs += 1000;
  const second = sandbox.deliverMessage('ALICE@contoso.example', { subject: 'Lunch?', from: BOB, body: 'x'.repeat(300) });
  const token = await userToken(ALICE, `${GRAPH}/Mail.Read`);
  for (const id of ['me', `users/${ALICE}`, `users/${ALICE.toUpperCase()}`, `users/${alice.objectId}`]) {
    const { response, text, decision } = await graphDecided(`/${id}/mailFolders/Inbox/messages`, token);
    assert.equal(response.status, 200, text);
    const body = JSON.parse(text) as { '@odata.context': string; value: Record<string, unknown>[] };
    assert.match(body['@odata.context'], /\/v1\.0\/\$metadata#.*\/mailFolders\('inbox'\)\/messages$/);
    assert.deepEqual(body.value, [
      { id: second, subject: 'Lunch?', receivedDateTime: new Date(nowMs).toISOString().replace('.000Z', 'Z'), bodyPreview: 'x'.repeat(255), from: { emailAddress: { address: BOB } } },
      { id: first, subject: 'Quarterly numbers', receivedDateTime: new Date(nowMs - 1000).toISOString().replace('.000Z', 'Z'), bodyPreview: 'Hello Alice, the numbers are in.', from: { emailAddress: { address: 'cfo@fabrikam.example' } } },
    ]);
    assert.deepEqual(decision, { endpoint: 'graph', mailbox: ALICE, allowed: true, reason: 'own_mailbox', principal: ALICE });
  }
  // Mail.ReadWrite does too; User.Read does not.
  assert.equal((await graphDecided('/me/mailFolders/inbox/messages', await userToken(ALICE, 'Mail.ReadWrite'))).response.status, 200);
  const denied = await assertGraphRefused('/me/mailFolders/inbox/messages', await userToken(ALICE, 'User.Read'), 403, 'ErrorAccessDenied', { mailbox: ALICE, reason: 'missing_scope', principal: ALICE });
  assert.equal(denied.error.message, 'Access is denied. Check credentials and try again.');
});

test('Graph opens another mailbox for a delegate only with a .Shared permission and FullAccess', async () => {
  sandbox.deliverMessage(SHARED, { subject: 'Ticket 42', from: 'customer@fabrikam.example', body: 'Help!' });
  const path = `/users/${SHARED}/mailFolders/inbox/messages`;
  const shared = await graphDecided(path, await userToken(BOB, `${GRAPH}/Mail.Read.Shared`));
  assert.equal(shared.response.status, 200, shared.text);
  assert.deepEqual((JSON.parse(shared.text) as { value: { subject: string }[] }).value.map((message) => message.subject), ['Ticket 42']);
  assert.deepEqual(shared.decision, { endpoint: 'graph', mailbox: SHARED, allowed: true, reason: 'delegated_access', principal: BOB });
  await assertGraphRefused(path, await userToken(BOB, `${GRAPH}/Mail.Read`), 403, 'ErrorAccessDenied', { mailbox: SHARED, reason: 'missing_scope', principal: BOB });
  await assertGraphRefused(path, await userToken(ERIN, `${GRAPH}/Mail.ReadWrite.Shared`), 403, 'ErrorAccessDenied', { mailbox: SHARED, reason: 'no_mailbox_permission', principal: ERIN });
  await assertGraphRefused(`/users/${ALICE}/mailFolders/inbox/messages`, await userToken(BOB, `${GRAPH}/Mail.Read.Shared`), 403, 'ErrorAccessDenied', { mailbox: ALICE, reason: 'no_mailbox_permission', principal: BOB });
});

test('Graph lets an app token read only granted mailboxes with Mail.Read, and refuses /me to it', async () => {
  const path = `/users/${SHARED}/mailFolders/inbox/messages`;
  const daemon = await appToken(DAEMON_APP, DAEMON_SECRET, GRAPH);
  const allowed = await graphDecided(path, daemon);
  assert.equal(allowed.response.status, 200, allowed.text);
  assert.deepEqual(allowed.decision, { endpoint: 'graph', mailbox: SHARED, allowed: true, reason: 'application_access', principal: DAEMON_APP });
  await assertGraphRefused(`/users/${ALICE}/mailFolders/inbox/messages`, daemon, 403, 'ErrorAccessDenied', { mailbox: ALICE, reason: 'no_mailbox_permission', principal: DAEMON_APP });
  const me = await assertGraphRefused('/me/mailFolders/inbox/messages', daemon, 400, 'BadRequest', { mailbox: '-', reason: 'me_with_app_token', principal: DAEMON_APP });
  assert.equal(me.error.message, '/me request is only valid with delegated authentication flow.');
  // Granted the mailbox, but no Mail.Read consented for Graph.
  await assertGraphRefused(path, await appToken(IMAP_ONLY_APP, IMAP_ONLY_SECRET, GRAPH), 403, 'ErrorAccessDenied', { mailbox: SHARED, reason: 'missing_role', principal: IMAP_ONLY_APP });
});

test('Graph answers 401 with a challenge to a missing, bad or Exchange token, 404 for an unknown mailbox, and takes a national Graph', async () => {
  const path = `/users/${ALICE}/mailFolders/inbox/messages`;
  const missing = await assertGraphRefused(path, undefined, 401, 'InvalidAuthenticationToken', { mailbox: ALICE, reason: 'missing_token' });
  assert.equal(missing.error.message, 'Access token is empty.');
  assert.match(missing.response.headers.get('www-authenticate') ?? '', /^Bearer realm="", authorization_uri="https:\/\/localhost:\d+\/common\/oauth2\/authorize", client_id="00000003-0000-0000-c000-000000000000"$/);
  const bad = await assertGraphRefused(path, 'garbage', 401, 'InvalidAuthenticationToken', { mailbox: ALICE, reason: 'bad_signature' });
  assert.match(bad.response.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
  const exchange = await assertGraphRefused(path, await userToken(ALICE, `${EXO}/IMAP.AccessAsUser.All`), 401, 'InvalidAuthenticationToken', { mailbox: ALICE, reason: 'wrong_audience', principal: ALICE });
  assert.equal(exchange.error.message, 'Access token validation failure. Invalid audience.');
  const token = await userToken(ALICE, `${GRAPH}/Mail.Read`);
  await assertGraphRefused('/users/nobody@contoso.example/mailFolders/inbox/messages', token, 404, 'ErrorInvalidUser', { mailbox: 'nobody@contoso.example', reason: 'unknown_mailbox', principal: ALICE });
  await assertGraphRefused('/users/00000000-0000-4000-8000-000000000000/mailFolders/inbox/messages', token, 404, 'ErrorInvalidUser', { mailbox: '-', reason: 'unknown_mailbox', principal: ALICE });
  const national = await graphDecided('/me/mailFolders/inbox/messages', await userToken(ALICE, `${GRAPH_US}/Mail.Read`));
  assert.equal(national.response.status, 200, national.text);
  const elsewhere = await graph('/me/calendar/events', token);
  assert.equal(elsewhere.status, 404);
  await elsewhere.body?.cancel();
});

test('mailbox grants and deliveries refuse what does not exist', () => {
  assert.throws(() => sandbox.grantMailboxAccess(SHARED, 'mallory@contoso.example'), {
    name: 'RangeError',
    message: `"principal" 'mallory@contoso.example' is neither a registered user's UPN nor a registered application's client id`,
  });
  assert.throws(() => sandbox.grantMailboxAccess('not-an-address', BOB), { name: 'TypeError' });
  assert.throws(() => sandbox.deliverMessage('nobody@contoso.example', { subject: 's', from: BOB, body: 'b' }), {
    name: 'RangeError',
    message: `no mailbox 'nobody@contoso.example': register its user, or name it in grantMailboxAccess (a shared mailbox)`,
  });
});

test('no decision ever holds a token', () => {
  const recorded = JSON.stringify(sandbox.resourceDecisions);
  assert.ok(issuedTokens.length > 20, `tokens were issued: ${issuedTokens.length}`);
  for (const token of issuedTokens) assert.ok(!recorded.includes(token), 'a decision contains a token');
  for (const decision of sandbox.resourceDecisions) {
    assert.deepEqual(Object.keys(decision).filter((key) => !['endpoint', 'protocol', 'mailbox', 'allowed', 'reason', 'principal'].includes(key)), []);
  }
});
