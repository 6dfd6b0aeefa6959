// The connector examples of examples/ run as a reader would run them, against
// the running daemon and a real Dovecot: the Node ones on imapflow and
// nodemailer (through the package's own client), the Python one on imaplib and
// smtplib (through `token-broker token --xoauth2`). A token revoked at the
// mail server's side makes the Node examples report it and log in with the
// broker's new token.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CLI_PATH } from '../support/daemon-process.js';
import { dovecotBinary } from '../support/dovecot.js';
import { ALICE, BOB, SHARED, startMailWorld } from '../support/mail-world.js';
import type { MailWorld } from '../support/mail-world.js';
import { requireSystemBinary } from '../support/system-binary.js';

const EXAMPLES = fileURLToPath(new URL('../../../examples/', import.meta.url));
const python = requireSystemBinary('python3', 'install python3 (Debian: apt-get install python3)');

interface ExampleRun {
  readonly code: number | null;
  readonly events: Record<string, unknown>[];
  readonly stderr: string;
}

/** Runs one example to its end; its stdout is one JSON event per line. */
function runExample(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<ExampleRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        const events = stdout
          .split('\n')
          .filter((line) => line.trim().length > 0)
          .map((line) => JSON.parse(line) as Record<string, unknown>);
        resolve({ code, events, stderr });
      } catch (error) {
        reject(new Error(`${args.join(' ')} printed something that is not JSON lines:\n${stdout}\n${stderr}`, { cause: error }));
      }
    });
  });
}

function eventsNamed(run: ExampleRun, name: string): Record<string, unknown>[] {
  return run.events.filter((event) => event['event'] === name);
}

describe('the connector examples against Dovecot', { skip: dovecotBinary.skip }, () => {
  let world: MailWorld;
  let env: NodeJS.ProcessEnv;

  const node = (script: string, ...args: string[]): Promise<ExampleRun> => runExample(process.execPath, [`${EXAMPLES}node/${script}`, ...args], env);
  const port = (name: 'imap' | 'imaps' | 'submission'): string => String(world.dovecot.ports[name]);

  before(async () => {
    world = await startMailWorld({ prefix: 'tb-examples-' });
    env = { TOKEN_BROKER_ADDRESS: world.environment.address };
    await world.dovecot.deliver(ALICE, 'From: carol@example.net\r\nTo: alice@contoso.example\r\nSubject: first for alice\r\n\r\nhello\r\n');
    await world.dovecot.deliver(SHARED, 'From: carol@example.net\r\nTo: shared@contoso.example\r\nSubject: for the team\r\n\r\nhello\r\n');
  });

  after(async () => {
    await world?.stop();
  });

  test('imap-poller (imapflow): logs in over IMAPS and lists the inbox', async () => {
    const run = await node('imap-poller.mjs', '--mailbox', 'alice-imap', '--host', '127.0.0.1', '--port', port('imaps'), '--tls', '--ca-file', world.mailCaFile);
    assert.equal(run.code, 0, `${JSON.stringify(run.events)}\n${run.stderr}`);
    assert.deepEqual(eventsNamed(run, 'inbox'), [{ event: 'inbox', user: ALICE, messages: 1, subjects: ['first for alice'] }]);
    assert.equal(eventsNamed(run, 'rejected').length, 0);
  });

  test('imap-poller: a shared mailbox over STARTTLS, logged in as the shared address with alice\'s token', async () => {
    const run = await node('imap-poller.mjs', '--mailbox', 'shared-imap', '--host', '127.0.0.1', '--port', port('imap'), '--ca-file', world.mailCaFile);
    assert.equal(run.code, 0, `${JSON.stringify(run.events)}\n${run.stderr}`);
    assert.deepEqual(eventsNamed(run, 'inbox'), [{ event: 'inbox', user: SHARED, messages: 1, subjects: ['for the team'] }]);
  });

  test('imap-poller: a token the server refuses is reported, and the broker\'s new token logs in', async () => {
    const { sandbox, client } = world.environment;
    const refused = await client.getToken('alice-imap');
    sandbox.revokeAccessToken(refused.accessToken);
    const run = await node('imap-poller.mjs', '--mailbox', 'alice-imap', '--host', '127.0.0.1', '--port', port('imaps'), '--tls', '--ca-file', world.mailCaFile);
    assert.equal(run.code, 0, `${JSON.stringify(run.events)}\n${run.stderr}`);
    assert.deepEqual(
      run.events.map((event) => event['event']),
      ['rejected', 'inbox'],
    );
    const revokedRefusals = sandbox.resourceDecisions.filter((decision) => decision.reason === 'revoked' && decision.mailbox === ALICE);
    assert.ok(revokedRefusals.length >= 1, 'Dovecot asked the sandbox and was told the token is revoked');
    const renewed = await client.getToken('alice-imap');
    assert.notEqual(renewed.accessToken, refused.accessToken, 'the broker hands out the new token from now on');
  });

  test('imap-poller --watch: logs in with the token the broker pushes', async () => {
    const run = await node('imap-poller.mjs', '--mailbox', 'alice-imap', '--host', '127.0.0.1', '--port', port('imaps'), '--tls', '--ca-file', world.mailCaFile, '--watch', '--logins', '1');
    assert.equal(run.code, 0, `${JSON.stringify(run.events)}\n${run.stderr}`);
    assert.equal(eventsNamed(run, 'inbox').length, 1);
  });

  test('smtp-sender (nodemailer, XOAUTH2 in two steps): the message reaches the relay', async () => {
    const subject = `example ${Date.now()}`;
    const run = await node('smtp-sender.mjs', '--mailbox', 'alice-smtp', '--to', BOB, '--subject', subject, '--host', '127.0.0.1', '--port', port('submission'), '--ca-file', world.mailCaFile);
    assert.equal(run.code, 0, `${JSON.stringify(run.events)}\n${run.stderr}`);
    assert.equal(eventsNamed(run, 'sent').length, 1);
    const message = await world.sink.waitForMessage((each) => each.data.includes(subject));
    assert.deepEqual(message.to, [BOB]);
    assert.equal(message.from, ALICE);
  });

  test('smtp-sender: the SASL string does not fit on the AUTH line, which is why the example sends it after 334', async () => {
    const token = await world.environment.client.getToken('alice-smtp');
    // Dovecot's submission takes at most 1,024 characters after "AUTH " (measured in test/support/dovecot.ts).
    assert.ok(`XOAUTH2 ${token.saslXoauth2}`.length > 1024, `a sandbox token makes a ${token.saslXoauth2.length}-character string`);
  });

  test('smtp-sender: a refused token is reported and the message is sent with the new one', async () => {
    const { sandbox, client } = world.environment;
    sandbox.revokeAccessToken((await client.getToken('alice-smtp')).accessToken);
    const subject = `after a refusal ${Date.now()}`;
    const run = await node('smtp-sender.mjs', '--mailbox', 'alice-smtp', '--to', BOB, '--subject', subject, '--host', '127.0.0.1', '--port', port('submission'), '--ca-file', world.mailCaFile);
    assert.equal(run.code, 0, `${JSON.stringify(run.events)}\n${run.stderr}`);
    assert.deepEqual(
      run.events.map((event) => event['event']),
      ['rejected', 'sent'],
    );
    assert.match(String(eventsNamed(run, 'rejected')[0]?.['server']), /535/);
    await world.sink.waitForMessage((each) => each.data.includes(subject));
  });

  describe('the Python example (imaplib, smtplib)', { skip: python.skip }, () => {
    const pythonEnv = (): NodeJS.ProcessEnv => ({ ...env, TOKEN_BROKER: `"${process.execPath}" "${CLI_PATH}"`, CA_FILE: world.mailCaFile });
    const runPython = (...args: string[]): Promise<ExampleRun> => runExample(python.path(), [`${EXAMPLES}python/connector.py`, ...args], pythonEnv());

    test('imaplib over IMAPS and over STARTTLS, with the decoded XOAUTH2 string', async () => {
      for (const imapPort of [port('imaps'), port('imap')]) {
        const run = await runPython('imap', 'alice-imap', '127.0.0.1', imapPort, ...(imapPort === port('imaps') ? ['--tls'] : []));
        assert.equal(run.code, 0, `${JSON.stringify(run.events)}\n${run.stderr}`);
        assert.deepEqual(run.events, [{ event: 'inbox', user: ALICE, messages: 1 }]);
      }
    });

    test('smtplib: AUTH XOAUTH2, 334, then the string; the message reaches the relay', async () => {
      const run = await runPython('smtp', 'shared-smtp', '127.0.0.1', port('submission'), '--to', BOB);
      assert.equal(run.code, 0, `${JSON.stringify(run.events)}\n${run.stderr}`);
      assert.deepEqual(run.events, [{ event: 'sent', from: SHARED, to: BOB }]);
      const message = await world.sink.waitForMessage((each) => each.from === SHARED && each.data.includes('connector.py'));
      assert.deepEqual(message.to, [BOB]);
    });

    test('a refused token: imaplib answers the error challenge with an empty line and reports the failure', async () => {
      const { sandbox, client } = world.environment;
      sandbox.revokeAccessToken((await client.getToken('shared-imap')).accessToken);
      const run = await runPython('imap', 'shared-imap', '127.0.0.1', port('imaps'), '--tls');
      assert.equal(run.code, 1);
      assert.equal(run.events.length, 1);
      assert.equal(run.events[0]?.['event'], 'failed');
      assert.match(String(run.events[0]?.['message']), /AUTHENTICATIONFAILED/);
    });
  });
});
