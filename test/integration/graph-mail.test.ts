// A Graph connector's view of the broker: with tokens from the running daemon
// (test/support/mail-world.ts) it reads an inbox through the sandbox's
// Graph-shaped endpoint, as Microsoft Graph would serve it: alice's own
// mailbox (/users/{upn} and /me), the shared mailbox her delegated token may
// open (Mail.ReadWrite.Shared), the mailbox the application was granted; and
// Graph's refusals, each with the reason the sandbox recorded for it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Agent, fetch } from 'undici';
import type { ResourceDecision } from '../../src/sandbox/index.js';
import { dovecotBinary } from '../support/dovecot.js';
import { ALICE, APP_BOX, BOB, DAEMON_APP, SHARED, startMailWorld } from '../support/mail-world.js';
import type { MailWorld, WorldMailbox } from '../support/mail-world.js';

interface GraphAnswer {
  readonly status: number;
  readonly wwwAuthenticate: string | null;
  readonly body: {
    readonly value?: readonly { readonly subject: string; readonly from: { readonly emailAddress: { readonly address: string } }; readonly bodyPreview: string }[];
    readonly error?: { readonly code: string; readonly message: string };
  };
  readonly decisions: readonly Omit<ResourceDecision, 'protocol'>[];
}

// The mail world brings its Dovecot along, so this suite needs it too (a loud skip outside CI).
describe('Graph reads an inbox with broker tokens, and refuses what Graph refuses', { skip: dovecotBinary.skip }, () => {
  let world: MailWorld;
  /** Trusts the sandbox's CA, as a connector configured with it would. */
  let agent: Agent;

  before(async () => {
    world = await startMailWorld({ prefix: 'tb-graph-mail-' });
    agent = new Agent({ connect: { ca: world.environment.sandbox.caCertificatePem } });
  });

  after(async () => {
    await agent?.close();
    await world?.stop();
  });

  /** GET {sandbox}/v1.0/{who}/mailFolders/inbox/messages with `token`; the answer and the decisions the sandbox made for it. */
  async function readInbox(who: string, token: string): Promise<GraphAnswer> {
    const sandbox = world.environment.sandbox;
    const before = sandbox.resourceDecisions.length;
    const response = await fetch(`${sandbox.url}/v1.0/${who}/mailFolders/inbox/messages`, {
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      dispatcher: agent,
    });
    const body = (await response.json()) as GraphAnswer['body'];
    // The sandbox records its decision before it answers.
    const decisions = sandbox.resourceDecisions.slice(before);
    return { status: response.status, wwwAuthenticate: response.headers.get('www-authenticate'), body, decisions };
  }

  async function tokenOf(mailbox: WorldMailbox): Promise<string> {
    return (await world.environment.client.getToken(mailbox)).accessToken;
  }

  /** Delivers a message with a fresh subject to `mailbox` (the sandbox's inbox, Graph's source); returns the subject. */
  function deliver(mailbox: string): string {
    const subject = `graph ${randomUUID()}`;
    world.environment.sandbox.deliverMessage(mailbox, { subject, from: BOB, body: `Hello ${mailbox}, this is ${subject}.` });
    return subject;
  }

  function assertListed(answer: GraphAnswer, subject: string, what: string): void {
    assert.equal(answer.status, 200, `${what}: Graph answered ${answer.status} ${answer.body.error?.code ?? ''} ${answer.body.error?.message ?? ''}`);
    const message = answer.body.value?.find((listed) => listed.subject === subject);
    assert.ok(message !== undefined, `${what}: the delivered message is not listed (${answer.body.value?.length ?? 0} messages)`);
    assert.equal(message.from.emailAddress.address, BOB);
    assert.ok(message.bodyPreview.includes(subject), `${what}: bodyPreview does not hold the body sent`);
  }

  const READS: readonly [string, WorldMailbox, string, string, ResourceDecision['reason'], string][] = [
    ['alice-graph reads alice\'s inbox by UPN', 'alice-graph', ALICE, `users/${ALICE}`, 'own_mailbox', ALICE],
    ['alice-graph reads her inbox at /me', 'alice-graph', ALICE, 'me', 'own_mailbox', ALICE],
    ['shared-graph (alice\'s token, Mail.ReadWrite.Shared) reads the shared inbox', 'shared-graph', SHARED, `users/${SHARED}`, 'delegated_access', ALICE],
    ['app-graph (client credentials, Mail.Read) reads app-box\'s inbox', 'app-graph', APP_BOX, `users/${APP_BOX}`, 'application_access', DAEMON_APP],
  ];
  for (const [title, name, mailbox, who, reason, principal] of READS) {
    test(`${title}: 200 and the delivered message`, async () => {
      const subject = deliver(mailbox);
      const answer = await readInbox(who, await tokenOf(name));
      assertListed(answer, subject, title);
      assert.deepEqual(answer.decisions, [{ endpoint: 'graph', mailbox, allowed: true, reason, principal }]);
    });
  }

  test('alice-graph on bob\'s inbox: 403 ErrorAccessDenied, missing_scope (her own-mailbox token has no Shared scope)', async () => {
    deliver(BOB);
    const answer = await readInbox(`users/${BOB}`, await tokenOf('alice-graph'));
    assert.equal(answer.status, 403);
    assert.equal(answer.body.error?.code, 'ErrorAccessDenied');
    assert.equal(answer.body.value, undefined, 'a refusal lists no message');
    assert.deepEqual(answer.decisions, [{ endpoint: 'graph', mailbox: BOB, allowed: false, reason: 'missing_scope', principal: ALICE }]);
  });

  test('shared-graph (Mail.ReadWrite.Shared) on bob\'s inbox, which alice has no right to: 403 ErrorAccessDenied, no_mailbox_permission', async () => {
    deliver(BOB);
    const answer = await readInbox(`users/${BOB}`, await tokenOf('shared-graph'));
    assert.equal(answer.status, 403);
    assert.equal(answer.body.error?.code, 'ErrorAccessDenied');
    assert.equal(answer.body.value, undefined, 'a refusal lists no message');
    assert.deepEqual(answer.decisions, [{ endpoint: 'graph', mailbox: BOB, allowed: false, reason: 'no_mailbox_permission', principal: ALICE }]);
  });

  test('app-graph on bob\'s inbox (the app was granted app-box only): 403 ErrorAccessDenied, no_mailbox_permission', async () => {
    deliver(BOB);
    const answer = await readInbox(`users/${BOB}`, await tokenOf('app-graph'));
    assert.equal(answer.status, 403);
    assert.equal(answer.body.error?.code, 'ErrorAccessDenied');
    assert.equal(answer.body.value, undefined, 'a refusal lists no message');
    assert.deepEqual(answer.decisions, [{ endpoint: 'graph', mailbox: BOB, allowed: false, reason: 'no_mailbox_permission', principal: DAEMON_APP }]);
  });

  test('app-graph at /me: 400 BadRequest, me_with_app_token', async () => {
    const answer = await readInbox('me', await tokenOf('app-graph'));
    assert.equal(answer.status, 400);
    assert.equal(answer.body.error?.code, 'BadRequest');
    assert.match(answer.body.error?.message ?? '', /delegated authentication flow/);
    assert.deepEqual(answer.decisions, [{ endpoint: 'graph', mailbox: '-', allowed: false, reason: 'me_with_app_token', principal: DAEMON_APP }]);
  });

  test('an IMAP token (alice-imap) on Graph: 401 InvalidAuthenticationToken with an invalid_token challenge, wrong_audience', async () => {
    deliver(ALICE);
    const answer = await readInbox(`users/${ALICE}`, await tokenOf('alice-imap'));
    assert.equal(answer.status, 401);
    assert.equal(answer.body.error?.code, 'InvalidAuthenticationToken');
    assert.match(answer.body.error?.message ?? '', /Invalid audience/);
    assert.match(answer.wwwAuthenticate ?? '', /^Bearer .*error="invalid_token"/);
    assert.deepEqual(answer.decisions, [{ endpoint: 'graph', mailbox: ALICE, allowed: false, reason: 'wrong_audience', principal: ALICE }]);
  });
});
