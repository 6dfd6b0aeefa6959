// Runs the sandbox on its own, for poking at it with curl or pointing a broker
// at it by hand: prints the URL and where the CA certificate was written, and
// serves until SIGINT/SIGTERM.
//
//   node dist/src/sandbox/main.js [--host H] [--port N] [--lifetime SECONDS]
//                                 [--app TENANT_ID,CLIENT_ID[,SECRET] ...]
//                                 [--user TENANT_ID,UPN,PASSWORD[,managed|federated|mfa] ...]
//
// An app without a secret is a public client (ROPC and device code need no credential).
// Besides Entra's endpoints it serves Exchange Online's token introspection
// (POST /exchange/introspect[/{imap|pop3|smtp}/{mailbox}], what a Dovecot
// oauth2 passdb asks) and a Graph inbox (GET /v1.0/me/mailFolders/inbox/messages);
// every user may open the own mailbox there.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { randomBytes, randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startSandbox } from './index.js';
import type { SandboxApplication, SandboxUser, SandboxUserKind } from './index.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      lifetime: { type: 'string' },
      app: { type: 'string', multiple: true },
      user: { type: 'string', multiple: true },
    },
  });
  const applications = (values.app ?? []).map(parseApplication);
  const users = (values.user ?? []).map(parseUser);
  if (applications.length === 0) {
    // A sandbox with no application answers every token request with an error.
    applications.push({ tenantId: randomUUID(), clientId: randomUUID(), clientSecret: randomBytes(24).toString('base64url') });
  }

  const sandbox = await startSandbox({
    host: values.host,
    port: values.port === undefined ? undefined : Number(values.port),
    accessTokenLifetimeSeconds: values.lifetime === undefined ? undefined : Number(values.lifetime),
  });
  for (const application of applications) sandbox.registerApplication(application);
  for (const user of users) sandbox.registerUser(user);
  const directory = await mkdtemp(join(tmpdir(), 'token-broker-sandbox-'));
  const caFile = join(directory, 'ca.pem');
  await writeFile(caFile, sandbox.caCertificatePem, { mode: 0o644 });

  console.log(`sandbox authorization server: ${sandbox.url}`);
  console.log(`CA certificate: ${caFile}`);
  for (const { tenantId, clientId, clientSecret } of applications) {
    // A throwaway secret of a throwaway server: printing it is the point.
    console.log(`application: tenantId=${tenantId} clientId=${clientId} clientSecret=${clientSecret ?? '(none)'}`);
    console.log(`  token endpoint: ${sandbox.url}/${tenantId}/oauth2/v2.0/token`);
  }
  for (const { tenantId, username, kind } of users) console.log(`user: ${username} (${kind ?? 'managed'}) in tenant ${tenantId}`);
  console.log(`Exchange token introspection (RFC 7662): POST ${sandbox.url}/exchange/introspect/{imap|pop3|smtp}/{mailbox}`);
  console.log(`Graph inbox: GET ${sandbox.url}/v1.0/me/mailFolders/inbox/messages (or /v1.0/users/{upn}/...)`);

  const stop = (signal: NodeJS.Signals): void => {
    console.log(`${signal}: stopping after ${sandbox.stats.total} token request(s)`);
    sandbox
      .close()
      .then(() => rm(directory, { recursive: true, force: true }))
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        console.error(error);
        process.exit(1);
      });
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

function parseApplication(value: string): SandboxApplication {
  const [tenantId, clientId, clientSecret, ...extra] = value.split(',');
  if (tenantId === undefined || clientId === undefined || extra.length > 0) {
    throw new TypeError(`--app must be TENANT_ID,CLIENT_ID[,SECRET], got '${value}'`);
  }
  const secret = clientSecret === '' ? undefined : clientSecret;
  return { tenantId, clientId, clientSecret: secret, publicClient: secret === undefined };
}

function parseUser(value: string): SandboxUser {
  const [tenantId, username, password, kind, ...extra] = value.split(',');
  if (tenantId === undefined || username === undefined || password === undefined || extra.length > 0) {
    throw new TypeError(`--user must be TENANT_ID,UPN,PASSWORD[,KIND], got '${value}'`);
  }
  return { tenantId, username, password, kind: kind as SandboxUserKind | undefined };
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
