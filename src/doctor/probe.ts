// The doctor's real login: the mailbox's token, over its protocol, to the
// mail server given with --probe, through the mailbox's proxy. The server's
// answer is reported as sent (minus secrets) with what it means.
import { BrokerError, isBrokerError } from '../errors/index.js';
import { openMailSession } from '../mail/index.js';
import type { MailProtocol, MailSecurity, MailSession, SaslMechanism } from '../mail/index.js';
import type { ProxyRoute } from '../http/index.js';
import { explainMailServerAnswer } from './mail-server-answers.js';
import type { AnswerContext, AnswerExplanation } from './mail-server-answers.js';

/** Ports that speak TLS from the first byte (RFC 8314): IMAPS, POP3S, submissions. */
const IMPLICIT_TLS_PORTS = new Set([993, 995, 465]);

/**
 * The rule when neither --tls nor --starttls is given: TLS at once on 993,
 * 995 and 465, STARTTLS on every other port. A token is never sent in plain
 * text: a server that offers no STARTTLS fails the probe, saying to use --tls.
 */
export function defaultSecurity(port: number): MailSecurity {
  return IMPLICIT_TLS_PORTS.has(port) ? 'tls' : 'starttls';
}

export interface ProbeRequest {
  readonly protocol: MailProtocol;
  readonly host: string;
  readonly port: number;
  readonly security: MailSecurity;
  readonly ca?: string;
  readonly proxy?: ProxyRoute;
  readonly timeoutMs: number;
  /** The strings the broker handed out with the token (Token.sasl_xoauth2, sasl_oauthbearer), sent as they are. */
  readonly token: { readonly saslXoauth2: string; readonly saslOauthbearer: string };
  /** Forced by --mechanism; default XOAUTH2 when offered, else OAUTHBEARER. */
  readonly mechanism?: SaslMechanism;
  readonly context: AnswerContext;
  readonly signal?: AbortSignal;
}

export interface ProbeResult {
  readonly host: string;
  readonly port: number;
  readonly security: MailSecurity;
  readonly proxy?: string;
  /** Forced (--mechanism), or chosen from what the server offers: XOAUTH2 first (Exchange's), else OAUTHBEARER. */
  readonly mechanism?: SaslMechanism;
  readonly accepted: boolean;
  /** The server's final answer, as sent. */
  readonly reply: readonly string[];
  /** The decoded error challenge, when the server sent one. */
  readonly errorDetail?: Record<string, unknown> | string;
  readonly explanation?: AnswerExplanation;
  /** When the login could not be tried: the BrokerError's code, message and what to do. */
  readonly error?: { readonly code: string; readonly message: string; readonly remediation?: string };
  readonly transcript: readonly string[];
}

export async function probeLogin(request: ProbeRequest): Promise<ProbeResult> {
  const base = {
    host: request.host,
    port: request.port,
    security: request.security,
    ...(request.proxy === undefined ? {} : { proxy: request.proxy.name }),
  };
  let session: MailSession | undefined;
  let mechanism: SaslMechanism | undefined;
  try {
    session = await openMailSession({
      protocol: request.protocol,
      host: request.host,
      port: request.port,
      security: request.security,
      ...(request.ca === undefined ? {} : { ca: request.ca }),
      ...(request.proxy === undefined ? {} : { proxy: request.proxy }),
      timeoutMs: request.timeoutMs,
      ...(request.signal === undefined ? {} : { signal: request.signal }),
    });
    mechanism = request.mechanism ?? (session.mechanisms.includes('XOAUTH2') || !session.mechanisms.includes('OAUTHBEARER') ? 'XOAUTH2' : 'OAUTHBEARER');
    // The broker's own strings (src/broker/sasl-strings.ts): the probe tries exactly what a connector is handed.
    const initialResponse = mechanism === 'XOAUTH2' ? request.token.saslXoauth2 : request.token.saslOauthbearer;
    if (request.mechanism !== undefined && !session.mechanisms.includes(mechanism)) throw forcedMechanismNotOffered(mechanism, session);
    const result = await session.authenticate(mechanism, initialResponse);
    const explanation = result.accepted ? undefined : explainMailServerAnswer(result.reply, request.context, result.errorDetail);
    return {
      ...base,
      mechanism,
      accepted: result.accepted,
      reply: result.reply,
      ...(result.errorDetail === undefined ? {} : { errorDetail: result.errorDetail }),
      ...(explanation === undefined ? {} : { explanation }),
      transcript: [...session.transcript],
    };
  } catch (error) {
    if (!isBrokerError(error)) throw error;
    return {
      ...base,
      ...(mechanism === undefined ? {} : { mechanism }),
      accepted: false,
      reply: [],
      error: { code: error.code, message: error.message, ...(error.remediation === undefined ? {} : { remediation: error.remediation }) },
      transcript: session === undefined ? [] : [...session.transcript],
    };
  } finally {
    await session?.close();
  }
}

/** --mechanism asked for one the server does not offer: say which it does, and how to use it. */
function forcedMechanismNotOffered(mechanism: SaslMechanism, session: MailSession): BrokerError {
  const offered = session.mechanisms;
  const usable = offered.filter((name): name is SaslMechanism => name === 'XOAUTH2' || name === 'OAUTHBEARER');
  return new BrokerError(
    `the mail server ${session.server} does not offer SASL ${mechanism} over ${session.protocol.toUpperCase()} (it offers: ${offered.length === 0 ? 'none' : offered.join(' ')}).`,
    {
      code: 'mail_mechanism_not_offered',
      remediation:
        usable.length > 0
          ? `Use --mechanism ${usable[0]?.toLowerCase() ?? ''}, or leave --mechanism out to take what the server offers.`
          : 'The server offers no OAuth 2.0 mechanism (XOAUTH2, OAUTHBEARER) here: enable one on the server, or try --tls / --starttls if it offers AUTH only over TLS.',
    },
  );
}
