// The whole path a message connector takes, on loopback: the Entra-shaped
// sandbox (issuing tokens, and playing Exchange Online's token introspection
// and Graph's inbox), the real broker daemon holding a token per mailbox
// profile, and a private Dovecot whose oauth2 passdb asks the sandbox about
// every token offered to it, relaying submissions to an SMTP sink.
//
// The tenant is modelled like an Exchange tenant: alice's own mailbox, a
// shared mailbox alice may open (FullAccess + SendAs), bob's mailbox (nobody
// else's), and an application whose Exchange service principal was granted one
// mailbox (app-box) with the IMAP/POP/SMTP and Graph Mail.Read roles consented.
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { eventually } from './assertions.js';
import { startBrokerEnvironment } from './broker-environment.js';
import type { BrokerEnvironment } from './broker-environment.js';
import { startDovecot } from './dovecot.js';
import type { Dovecot, MailProtocol, OAuthMechanism } from './dovecot.js';
import { startSmtpSink } from './smtp-sink.js';
import type { SmtpSink } from './smtp-sink.js';

export const TENANT = randomUUID();
export const PUBLIC_APP = randomUUID();
export const DAEMON_APP = randomUUID();
const DAEMON_SECRET = `secret-${randomUUID()}`;

export const ALICE = 'alice@contoso.example';
export const BOB = 'bob@contoso.example';
export const SHARED = 'shared@contoso.example';
export const APP_BOX = 'app-box@contoso.example';

/** Broker mailbox profiles signed in by alice with the device code grant. */
export const DELEGATED_MAILBOXES = ['alice-imap', 'alice-pop3', 'alice-smtp', 'alice-graph', 'shared-imap', 'shared-smtp', 'shared-graph'] as const;
/** Broker mailbox profiles of the application (client credentials). */
export const APPLICATION_MAILBOXES = ['app-imap', 'app-pop3', 'app-smtp', 'app-graph', 'app-bob-imap'] as const;
export type WorldMailbox = (typeof DELEGATED_MAILBOXES)[number] | (typeof APPLICATION_MAILBOXES)[number];

export interface MailWorld {
  /** Sandbox, daemon (unix socket), config file, gRPC client, temp directory. */
  readonly environment: BrokerEnvironment;
  readonly dovecot: Dovecot;
  /** Where Dovecot's submission service relays to. */
  readonly sink: SmtpSink;
  /** The PEM file of the CA Dovecot's TLS listeners are signed by (for `--ca-file`, CA_FILE, ...). */
  readonly mailCaFile: string;
  /**
   * Moves the sandbox's clock (and only the sandbox's: its tokens' `exp` and
   * the resource servers' checks) by this many ms from real time; a test that
   * wants an expired token sets it past the token's lifetime and back to 0.
   */
  setSandboxClockOffset(milliseconds: number): void;
  stop(): Promise<void>;
}

export interface MailWorldOptions {
  readonly prefix: string;
  /** SASL mechanisms Dovecot offers; default both. */
  readonly mechanisms?: readonly OAuthMechanism[];
  /**
   * More broker mailbox profiles (name -> YAML keys, e.g. from delegatedProfile
   * or applicationProfile); device-code ones are signed in by alice at start
   * like the world's own.
   */
  readonly extraProfiles?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

function profile(name: string, body: Record<string, string>): string {
  return `  ${name}:\n${Object.entries(body)
    .map(([key, value]) => `    ${key}: ${value}`)
    .join('\n')}`;
}

/** A profile alice signs in to with the device code grant (keys in `extra` override). */
export const delegatedProfile = (protocol: string, extra: Record<string, string> = {}): Record<string, string> => delegated(protocol, extra);
/** A client-credentials profile of the world's application for `username`'s mailbox. */
export const applicationProfile = (protocol: string, username: string): Record<string, string> => application(protocol, username);

function delegated(protocol: string, extra: Record<string, string> = {}): Record<string, string> {
  return { protocol, grantType: 'device-code', tenantId: TENANT, clientId: PUBLIC_APP, username: ALICE, ...extra };
}

function application(protocol: string, username: string): Record<string, string> {
  return { protocol, grantType: 'client-credentials', tenantId: TENANT, clientId: DAEMON_APP, clientSecret: DAEMON_SECRET, username };
}

const PROFILES: Record<WorldMailbox, Record<string, string>> = {
  'alice-imap': delegated('imap'),
  'alice-pop3': delegated('pop3'),
  'alice-smtp': delegated('smtp'),
  'alice-graph': delegated('graph'),
  'shared-imap': delegated('imap', { sharedMailbox: SHARED }),
  'shared-smtp': delegated('smtp', { sharedMailbox: SHARED }),
  'shared-graph': delegated('graph', { sharedMailbox: SHARED }),
  'app-imap': application('imap', APP_BOX),
  'app-pop3': application('pop3', APP_BOX),
  'app-smtp': application('smtp', APP_BOX),
  'app-graph': application('graph', APP_BOX),
  // The application was granted app-box only: a token it gets for bob's mailbox must be refused there.
  'app-bob-imap': application('imap', BOB),
};

/** The Exchange Online introspection URL of the sandbox for one mailbox and protocol (the address raw: Dovecot refuses '%'). */
export function introspectionUrl(sandboxUrl: string, protocol: MailProtocol, mailbox: string): string {
  return `${sandboxUrl}/exchange/introspect/${protocol}/${mailbox}`;
}

export async function startMailWorld(options: MailWorldOptions): Promise<MailWorld> {
  let offsetMs = 0;
  const sink = await startSmtpSink();
  let environment: BrokerEnvironment | undefined;
  let dovecot: Dovecot | undefined;
  try {
    environment = await startBrokerEnvironment({
      prefix: options.prefix,
      sandbox: { deviceCodeIntervalSeconds: 1, clock: { now: () => Date.now() + offsetMs } },
      setup: (sandbox) => {
        sandbox.registerApplication({ tenantId: TENANT, clientId: PUBLIC_APP, publicClient: true });
        sandbox.registerApplication({
          tenantId: TENANT,
          clientId: DAEMON_APP,
          clientSecret: DAEMON_SECRET,
          applicationPermissions: {
            'https://outlook.office365.com': ['IMAP.AccessAsApp', 'POP.AccessAsApp', 'SMTP.SendAsApp'],
            'https://graph.microsoft.com': ['Mail.Read'],
          },
        });
        sandbox.registerUser({ tenantId: TENANT, username: ALICE, password: `pw-${randomUUID()}` });
        sandbox.registerUser({ tenantId: TENANT, username: BOB, password: `pw-${randomUUID()}` });
        // Add-MailboxPermission / Add-RecipientPermission for alice on the shared mailbox.
        sandbox.grantMailboxAccess(SHARED, ALICE);
        // New-ServicePrincipal + Add-MailboxPermission for the application on app-box only.
        sandbox.grantMailboxAccess(APP_BOX, DAEMON_APP);
      },
      config: ({ sandbox, address }) => `server: { listen: ["${address}"] }
store: { url: "memory:" }
authorizationServers:
  microsoft: { authorityHost: "${sandbox.url}", caFile: ca.pem }
mailboxes:
${Object.entries({ ...PROFILES, ...options.extraProfiles })
  .map(([name, body]) => profile(name, body))
  .join('\n')}
`,
    });
    const sandbox = environment.sandbox;
    dovecot = await startDovecot({
      mailboxes: [ALICE, BOB, SHARED, APP_BOX],
      introspection: {
        url: (protocol, mailbox) => introspectionUrl(sandbox.url, protocol, mailbox),
        caFile: path.join(environment.directory, 'ca.pem'),
      },
      ...(options.mechanisms === undefined ? {} : { mechanisms: options.mechanisms }),
      smtpRelay: { host: sink.host, port: sink.port },
    });
    const mailCaFile = path.join(environment.directory, 'mail-ca.pem');
    await writeFile(mailCaFile, dovecot.caCertificatePem);

    // alice signs in once per delegated profile, as an operator would with `token-broker authorize`.
    const client = environment.client;
    const extraDelegated = Object.entries(options.extraProfiles ?? {})
      .filter(([, body]) => body.grantType === 'device-code')
      .map(([name]) => name);
    await Promise.all(
      [...DELEGATED_MAILBOXES, ...extraDelegated].map(async (mailbox) => {
        const started = await client.startAuthorization(mailbox);
        sandbox.approveDeviceCode(started.userCode, ALICE);
        await eventually(async () => {
          const status = await client.getMailboxStatus(mailbox);
          if (status.state !== 'READY') throw new Error(`${mailbox} is ${status.state}: ${status.lastErrorMessage}`);
        });
      }),
    );

    const started = { environment, dovecot };
    return {
      environment,
      dovecot,
      sink,
      mailCaFile,
      setSandboxClockOffset(milliseconds) {
        offsetMs = milliseconds;
      },
      async stop() {
        await started.dovecot.stop();
        await started.environment.stop();
        await sink.stop();
      },
    };
  } catch (error) {
    await dovecot?.stop();
    await environment?.stop();
    await sink.stop();
    throw error;
  }
}
