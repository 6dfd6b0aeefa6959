// A mail client for one thing: logging in to an IMAP, POP3 or SMTP server
// with an OAuth 2.0 SASL string, directly or through the mailbox's proxy,
// and saying what the server answered (token-broker doctor's probe, tests).
export { openMailSession } from './mail-session.js';
export type { MailProtocol, MailSecurity, MailSession, MailSessionOptions } from './mail-session.js';
export type { AuthenticationResult } from './dialect.js';
export { SASL_MECHANISMS, decodeErrorChallenge } from './sasl.js';
export type { SaslMechanism } from './sasl.js';
export { resolveProxy } from './mail-connection.js';
