// What a mailbox check sees: the mailbox's fields as read (each absent,
// invalid or ok), the facts resolved from them (grant, server, mode,
// platform), and where to report. Checks are small named functions.
import type { ProblemSink, Position } from '../problems.js';
import type { Field } from '../reader.js';
import type { Secret } from '../secret.js';
import type { ProxyRegistry } from '../sections/proxies.js';
import type { ServerEntry, ServerRegistry } from '../sections/authorization-servers.js';
import type { AuthenticationMode, GrantTypeName, Protocol, RedirectPlatform } from '../types.js';

export interface CertificateDraft {
  readonly path: string;
  /** The `certificate` key: where its missing sub-keys are reported. */
  readonly at: Position;
  /** Absolute path. */
  readonly file: Field<string>;
  /** Normalized: upper-case hex. */
  readonly thumbprint: Field<string>;
  readonly password: Field<Secret>;
}

export interface MailboxDraft {
  readonly name: string;
  /** `mailboxes.<name>` */
  readonly path: string;
  /** The mailbox's key: where missing fields are reported. */
  readonly at: Position;
  readonly protocol: Field<Protocol>;
  readonly authorizationServer: Field<string>;
  readonly grantType: Field<GrantTypeName>;
  readonly tenantId: Field<string>;
  readonly clientId: Field<string>;
  readonly authenticationMode: Field<AuthenticationMode>;
  readonly clientSecret: Field<Secret>;
  /** When the client secret ends, ms since the epoch. */
  readonly clientSecretExpiresAt: Field<number>;
  readonly certificate: Field<CertificateDraft>;
  /** Absolute path of a Google service-account JSON key. */
  readonly credentialsFile: Field<string>;
  readonly redirectUri: Field<string>;
  readonly redirectPlatform: Field<RedirectPlatform>;
  readonly scopes: Field<string[]>;
  readonly username: Field<string>;
  readonly password: Field<Secret>;
  readonly sharedMailbox: Field<string>;
  readonly proxy: Field<string>;
}

/** Derived once, so that every check agrees on defaults. Undefined means "unknown: a problem was already reported". */
export interface MailboxFacts {
  readonly protocol: Protocol | undefined;
  readonly grant: GrantTypeName | undefined;
  /** The server this mailbox uses, when known and of a usable type. */
  readonly server: ServerEntry | undefined;
  /** `authenticationMode` with its default: certificate for a client-credentials mailbox with credentialsFile (a private key signs), else client-secret. */
  readonly mode: AuthenticationMode | undefined;
  /** authorization-code only: as given, else web when a client credential is given, else desktop. */
  readonly platform: RedirectPlatform | undefined;
}

export interface MailboxCheckInput {
  readonly mailbox: MailboxDraft;
  readonly facts: MailboxFacts;
  readonly sink: ProblemSink;
  readonly servers: ServerRegistry;
  readonly proxies: ProxyRegistry;
}

export type MailboxCheck = (input: MailboxCheckInput) => void;
