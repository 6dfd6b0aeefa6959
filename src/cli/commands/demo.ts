// `token-broker demo`: a first look with nothing to set up. Starts the local
// Entra-shaped sandbox server, writes a real config for it, runs the daemon
// from that config, and fetches a token over gRPC as a connector would.
// Everything stays on 127.0.0.1 and in a temporary folder removed at the end.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TokenBrokerClient } from '../../client/index.js';
import { formatProblem, loadConfig } from '../../config/index.js';
import { startDaemon } from '../../daemon/index.js';
import type { RunningDaemon } from '../../daemon/index.js';
import { createLogger } from '../../logging/index.js';
import { startSandbox } from '../../sandbox/index.js';
import type { Sandbox } from '../../sandbox/index.js';
import { CommandFailure, ExitCode } from '../exit-codes.js';
import type { Terminal } from '../terminal.js';

const MAILBOX = 'demo-imap';

export async function demoCommand(terminal: Terminal): Promise<ExitCode> {
  const directory = await mkdtemp(path.join(tmpdir(), 'token-broker-demo-'));
  let sandbox: Sandbox | undefined;
  let daemon: RunningDaemon | undefined;
  let client: TokenBrokerClient | undefined;
  try {
    terminal.out('token-broker demo: everything runs on this machine, nothing leaves 127.0.0.1.\n');

    sandbox = await startSandbox();
    const tenantId = randomUUID();
    const clientId = randomUUID();
    const clientSecret = randomBytes(24).toString('base64url');
    sandbox.registerApplication({ tenantId, clientId, clientSecret });
    terminal.out(`1. Local authorization server (shaped like Microsoft Entra ID): ${sandbox.url}`);
    terminal.out(`   application ${clientId} registered in tenant ${tenantId}`);

    const socketPath = path.join(directory, 'broker.sock');
    const configFile = path.join(directory, 'broker.yaml');
    await writeFile(path.join(directory, 'sandbox-ca.pem'), sandbox.caCertificatePem);
    await writeFile(path.join(directory, 'client-secret'), `${clientSecret}\n`, { mode: 0o600 });
    // As ops would provision it (systemd credentials); the daemon would otherwise generate one and warn.
    await writeFile(path.join(directory, 'store.key'), `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    await writeFile(configFile, demoConfig(sandbox.url, socketPath, tenantId, clientId));
    terminal.out(`2. Broker config written to ${configFile}`);

    const loaded = await loadConfig(configFile);
    if (!loaded.ok) {
      for (const problem of loaded.problems) terminal.err(formatProblem(problem, configFile));
      throw new CommandFailure('the demo config did not validate; this is a bug in token-broker.');
    }
    daemon = await startDaemon(loaded.config, { logger: createLogger('warn') });
    terminal.out(`3. Broker daemon listening on unix://${socketPath}, tokens encrypted in ${path.join(directory, 'tokens.sqlite')}`);

    client = new TokenBrokerClient({ address: `unix://${socketPath}` });
    const token = await client.getToken(MAILBOX);
    const again = await client.getToken(MAILBOX);
    const claims = sandbox.verifyAccessToken(token.accessToken);
    if (claims === undefined) throw new CommandFailure('the token served by the broker was not issued by the sandbox; this is a bug.');
    terminal.out(`4. A connector asked the broker for mailbox "${MAILBOX}" over gRPC and got:`);
    terminal.out(`     access_token  ${mask(token.accessToken)}`);
    terminal.out(`     token_type    ${token.tokenType}`);
    terminal.out(`     expires_at    ${token.expiresAt.toISOString()}`);
    terminal.out(`     scopes        ${token.scopes.join(' ')}`);
    terminal.out(`     username      ${token.username}`);
    terminal.out(`     sasl_xoauth2  ${mask(token.saslXoauth2)}   (ready for IMAP AUTHENTICATE XOAUTH2)`);
    terminal.out(`     sasl_oauthbearer  ${mask(token.saslOauthbearer)}   (ready for IMAP AUTHENTICATE OAUTHBEARER)`);
    const requests = sandbox.stats.total;
    const cached = again.accessToken === token.accessToken;
    terminal.out(
      `   Asked again: ${cached ? 'the same token, from the broker\'s cache' : 'a different token'}; ` +
        `the authorization server saw ${requests} token request${requests === 1 ? '' : 's'} in all.\n`,
    );
    terminal.out('To go live:');
    terminal.out('  1. Register an application in Microsoft Entra ID with the Office 365 Exchange Online application');
    terminal.out('     permission IMAP.AccessAsApp, grant admin consent, and register its service principal in');
    terminal.out('     Exchange Online with access to the mailbox (New-ServicePrincipal, Add-MailboxPermission).');
    terminal.out('  2. Write /etc/token-broker/broker.yaml (see the README and config/broker.example.yaml).');
    terminal.out('  3. token-broker validate, then systemctl enable --now token-broker.');
    terminal.out('  4. Connectors call GetToken on unix:///run/token-broker/broker.sock.');
    return cached && requests === 1 ? ExitCode.ok : ExitCode.failed;
  } finally {
    client?.close();
    await daemon?.stop(1_000);
    await sandbox?.close();
    await rm(directory, { recursive: true, force: true });
  }
}

function demoConfig(authorityHost: string, socketPath: string, tenantId: string, clientId: string): string {
  return `# Written by token-broker demo: a real config pointed at the local sandbox server.
server:
  listen:
    - unix://${socketPath}
store:
  url: sqlite://tokens.sqlite
  encryptionKeyFile: store.key
authorizationServers:
  microsoft:
    authorityHost: ${authorityHost}
    caFile: sandbox-ca.pem
mailboxes:
  ${MAILBOX}:
    protocol: imap
    grantType: client-credentials
    tenantId: ${tenantId}
    clientId: ${clientId}
    clientSecretFile: client-secret
    username: demo@contoso.example
`;
}

/** Enough of a token to recognise it, never enough to use it. */
function mask(value: string): string {
  if (value.length <= 16) return '*'.repeat(value.length);
  return `${value.slice(0, 8)}…${value.slice(-4)} (${value.length} characters)`;
}
