// What each mail protocol (IMAP, POP3, SMTP) does for a login, behind one
// shape so the session does not branch on the protocol.
import type { MailWire } from './mail-wire.js';
import type { SaslMechanism } from './sasl.js';

export interface ServerCapabilities {
  /** As the server listed them (IMAP CAPABILITY atoms, POP3 CAPA lines, SMTP EHLO keywords). */
  readonly capabilities: readonly string[];
  /** SASL mechanisms offered, upper case. */
  readonly mechanisms: readonly string[];
  readonly starttls: boolean;
}

export interface AuthenticationResult {
  readonly accepted: boolean;
  /** The server's final answer: the tagged IMAP line (after any untagged ones), the POP3 status line, the SMTP reply lines. */
  readonly reply: readonly string[];
  /** The decoded error challenge the server sent before refusing (XOAUTH2 / OAUTHBEARER: JSON such as {"status":"401"}). */
  readonly errorDetail?: Record<string, unknown> | string;
}

export interface MailDialect {
  /** Reads the greeting; throws when it is not one. */
  greet(wire: MailWire): Promise<string>;
  capabilities(wire: MailWire): Promise<ServerCapabilities>;
  /** Asks for STARTTLS and reads the server's go-ahead; the caller then starts TLS. */
  startTls(wire: MailWire): Promise<void>;
  authenticate(wire: MailWire, mechanism: SaslMechanism, initialResponse: string, capabilities: ServerCapabilities): Promise<AuthenticationResult>;
  command(wire: MailWire, line: string): Promise<string[]>;
  /** LOGOUT / QUIT, reading the answer. */
  quit(wire: MailWire): Promise<void>;
}
