// Creates msal-node applications for a mailbox: authority metadata handed
// over (no discovery calls), HTTP through our transport, msal's log lines
// forwarded without personal data. A new application per operation for user
// grants: its token cache then holds exactly that operation's tokens, which
// is how the refresh token is read back out (msal exposes it nowhere else).
import { ConfidentialClientApplication, LogLevel, PublicClientApplication } from '@azure/msal-node';
import type { Configuration } from '@azure/msal-node';
import type { Logger } from 'pino';
import type { MailboxConfig } from '../../../config/index.js';
import type { HttpTransport, RouteOptions } from '../../../http/index.js';
import type { Clock } from '../../../time/index.js';
import { msalAuthorityOptions } from './authority.js';
import { MsalNetworkClient } from './network-client.js';

export type ConfidentialCredential =
  | { readonly clientSecret: string }
  | { readonly clientCertificate: { readonly thumbprintSha256: string; readonly privateKey: string; readonly x5c?: string } };

export interface MsalContext {
  readonly mailbox: MailboxConfig;
  readonly tenant: string;
  readonly transport: HttpTransport;
  readonly route: RouteOptions;
  readonly logger: Logger;
  /** When an answer arrived, for a Retry-After given as a date. */
  readonly clock: Clock;
}

function configuration(context: MsalContext): Configuration {
  const authority = msalAuthorityOptions(context.mailbox.authorizationServer, context.tenant);
  const mailbox = context.mailbox.name;
  const logger = context.logger;
  return {
    auth: {
      clientId: context.mailbox.clientId,
      authority: authority.authority,
      authorityMetadata: authority.authorityMetadata,
      cloudDiscoveryMetadata: authority.cloudDiscoveryMetadata,
      knownAuthorities: authority.knownAuthorities,
    },
    system: {
      networkClient: new MsalNetworkClient(context.transport, context.route, context.clock),
      loggerOptions: {
        piiLoggingEnabled: false,
        logLevel: LogLevel.Warning,
        loggerCallback: (level, message) => {
          if (level <= LogLevel.Error) logger.warn({ mailbox, msal: message }, 'msal-node error');
          else logger.debug({ mailbox, msal: message }, 'msal-node');
        },
      },
    },
  };
}

export function createPublicClient(context: MsalContext): PublicClientApplication {
  return new PublicClientApplication(configuration(context));
}

export function createConfidentialClient(context: MsalContext, credential: ConfidentialCredential): ConfidentialClientApplication {
  const base = configuration(context);
  return new ConfidentialClientApplication({ ...base, auth: { ...base.auth, ...credential } });
}

/** The credential msal-node should present for a confidential mailbox, or undefined for a public client. */
export function confidentialCredentialOf(mailbox: MailboxConfig): ConfidentialCredential | undefined {
  if (mailbox.authenticationMode === 'certificate' && mailbox.certificate !== undefined) {
    const { sha256Thumbprint, privateKey, certificatePem } = mailbox.certificate;
    if (sha256Thumbprint !== undefined && privateKey !== undefined) {
      // SHA-256 thumbprint: msal signs the assertion PS256 with header x5t#S256 (the current Entra scheme).
      return {
        clientCertificate: {
          thumbprintSha256: sha256Thumbprint,
          privateKey: privateKey.reveal(),
          ...(certificatePem === undefined ? {} : { x5c: certificatePem }),
        },
      };
    }
  }
  if (mailbox.clientSecret !== undefined) return { clientSecret: mailbox.clientSecret.reveal() };
  return undefined;
}
