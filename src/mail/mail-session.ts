// One SASL login to a mail server over IMAP, POP3 or SMTP, with a transcript.
// Written here rather than taken from a library: imapflow and nodemailer
// each speak one protocol, build the XOAUTH2 string themselves from a token
// (neither takes the broker's ready SASL string, nor OAUTHBEARER both ways),
// hide the server's error challenge, and keep no transcript; none does POP3.
import { BrokerError, redactBrokerError } from '../errors/index.js';
import type { ProxyRoute } from '../http/index.js';
import type { AuthenticationResult, MailDialect, ServerCapabilities } from './dialect.js';
import { imapDialect } from './imap.js';
import { openConnection } from './mail-connection.js';
import { mechanismNotOffered, protocolError, where } from './mail-errors.js';
import { MailWire } from './mail-wire.js';
import { pop3Dialect } from './pop3.js';
import { bearerTokenOf, redactedInitialResponse } from './sasl.js';
import type { SaslMechanism } from './sasl.js';
import { smtpDialect } from './smtp.js';

export type MailProtocol = 'imap' | 'pop3' | 'smtp';
export type MailSecurity = 'tls' | 'starttls' | 'none';

export interface MailSessionOptions {
  readonly protocol: MailProtocol;
  readonly host: string;
  readonly port: number;
  readonly security: MailSecurity;
  /** PEM text trusted beside the system roots (the mail server's, or an https proxy's, private CA). */
  readonly ca?: string;
  /** The name the server's certificate must carry; default `host`. */
  readonly servername?: string;
  /** The mailbox's proxy, as the HTTP transport knows it. */
  readonly proxy?: ProxyRoute;
  /** For each wait: connecting, each answer, the TLS handshake. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** For `proxy: environment`; default process.env. */
  readonly env?: NodeJS.ProcessEnv;
}

export interface MailSession {
  readonly protocol: MailProtocol;
  /** host:port */
  readonly server: string;
  readonly security: MailSecurity;
  readonly greeting: string;
  /** As the server listed them after TLS (IMAP CAPABILITY, POP3 CAPA, SMTP EHLO). */
  readonly capabilities: readonly string[];
  /** SASL mechanisms offered, upper case. */
  readonly mechanisms: readonly string[];
  /** `C: ` and `S: ` lines; initial responses shown as `<XOAUTH2 string, N bytes>`. */
  readonly transcript: readonly string[];
  /**
   * Logs in with `initialResponse`, base64 as Token.sasl_xoauth2 /
   * sasl_oauthbearer. A refusal is a result (accepted: false), not an error;
   * errors are for a server that is not there or does not follow its protocol.
   */
  authenticate(mechanism: SaslMechanism, initialResponse: string): Promise<AuthenticationResult>;
  /** Sends one command (SMTP DATA's message: the whole text ending in "\r\n." as one line) and returns the reply lines. */
  command(line: string): Promise<string[]>;
  /** LOGOUT / QUIT (an answer is not awaited for long), then the connection is closed. */
  close(): Promise<void>;
}

const DIALECTS: Readonly<Record<MailProtocol, () => MailDialect>> = {
  imap: imapDialect,
  pop3: pop3Dialect,
  smtp: smtpDialect,
};

export async function openMailSession(options: MailSessionOptions): Promise<MailSession> {
  const dialect = DIALECTS[options.protocol]();
  const { socket, endpoint } = await openConnection({
    host: options.host,
    port: options.port,
    ...(options.proxy === undefined ? {} : { proxy: options.proxy }),
    ...(options.ca === undefined ? {} : { ca: options.ca }),
    timeoutMs: options.timeoutMs,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.env === undefined ? {} : { env: options.env }),
  });
  const wire = new MailWire(socket, { endpoint, timeoutMs: options.timeoutMs, ...(options.signal === undefined ? {} : { signal: options.signal }) });
  const tlsOptions = { ...(options.ca === undefined ? {} : { ca: options.ca }), ...(options.servername === undefined ? {} : { servername: options.servername }) };
  let greeting: string;
  let capabilities: ServerCapabilities;
  try {
    if (options.security === 'tls') await wire.startTls(tlsOptions, false);
    greeting = await dialect.greet(wire);
    capabilities = await dialect.capabilities(wire);
    if (options.security === 'starttls') {
      if (!capabilities.starttls) {
        throw protocolError(
          endpoint,
          `does not offer STARTTLS (${options.protocol === 'pop3' ? 'STLS' : 'STARTTLS'} is not among its capabilities).`,
          'Use the TLS port with --tls (993 IMAP, 995 POP3, 465 SMTP), or --security none only on a trusted test network.',
        );
      }
      await dialect.startTls(wire);
      await wire.startTls(tlsOptions, true);
      // What the server said before TLS is void (RFC 3207, RFC 2595): ask again, over TLS (SMTP: EHLO again).
      capabilities = await dialect.capabilities(wire);
    }
  } catch (error) {
    wire.close();
    throw error;
  }

  let closed = false;
  return {
    protocol: options.protocol,
    server: where(endpoint),
    security: options.security,
    greeting,
    get capabilities() {
      return capabilities.capabilities;
    },
    get mechanisms() {
      return capabilities.mechanisms;
    },
    get transcript() {
      return wire.transcript;
    },
    async authenticate(mechanism, initialResponse) {
      if (!capabilities.mechanisms.includes(mechanism)) throw mechanismNotOffered(endpoint, mechanism, capabilities.mechanisms, options.protocol);
      wire.hide(initialResponse, redactedInitialResponse(mechanism, initialResponse));
      const bearer = bearerTokenOf(initialResponse);
      if (bearer !== undefined) wire.hide(bearer, '<access token>');
      let result: AuthenticationResult;
      try {
        result = await dialect.authenticate(wire, mechanism, initialResponse, capabilities);
      } catch (error) {
        // The dialects quote server lines through wire.quote(); this also covers any text quoted another way.
        throw error instanceof BrokerError ? redactBrokerError(error, (text) => wire.scrub(text)) : error;
      }
      // IMAP servers may send new capabilities once logged in; callers that need them ask with command().
      // A server may echo what it was sent in its refusal or its error challenge: those leave the session scrubbed too.
      return {
        accepted: result.accepted,
        reply: result.reply.map((line) => wire.scrub(line)),
        ...(result.errorDetail === undefined ? {} : { errorDetail: scrubbedDetail(result.errorDetail, (text) => wire.scrub(text)) }),
      };
    },
    command: (line) => dialect.command(wire, line),
    async close() {
      if (closed) return;
      closed = true;
      try {
        await dialect.quit(wire);
      } catch {
        // The server may close first, or not answer: the connection ends either way.
      } finally {
        wire.close();
      }
    },
  };
}

/** The decoded error challenge with every string in it (keys, values, nested) scrubbed. */
function scrubbedDetail(detail: Record<string, unknown> | string, scrub: (text: string) => string): Record<string, unknown> | string {
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string') return scrub(value);
    if (Array.isArray(value)) return value.map(walk);
    if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([key, inner]) => [scrub(key), walk(inner)]));
    return value;
  };
  return typeof detail === 'string' ? scrub(detail) : (walk(detail) as Record<string, unknown>);
}
