// The typed failures of a mail login (src/mail): each names host:port (and the
// proxy when there is one) and says what to do, and none quotes a line the
// client sent (those carry the token).
import { BrokerError } from '../errors/index.js';
// One list of certificate failures for every TLS client of the broker (HTTP and mail).
import { TLS_TRUST_CODES } from '../http/transport-errors.js';

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE']);

export interface MailEndpoint {
  readonly host: string;
  readonly port: number;
  /** The proxy the connection goes through, by its config name, if any. */
  readonly proxyName?: string;
  readonly proxyUrl?: string;
}

export function where(endpoint: MailEndpoint): string {
  return `${endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host}:${endpoint.port}`;
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The TCP connection (direct, not through a proxy) could not be opened. */
export function unreachable(endpoint: MailEndpoint, error: unknown): BrokerError {
  const code = codeOf(error) ?? (error instanceof Error ? error.message : String(error));
  return new BrokerError(`cannot reach the mail server ${where(endpoint)} (${code}).`, {
    code: 'server_unreachable',
    cause: error,
    remediation: 'Check the host and port (--probe HOST:PORT), DNS and firewalls, or give the mailbox a proxy if the network needs one.',
  });
}

/** A TLS handshake that failed, at connect (implicit TLS) or after STARTTLS. */
export function tlsFailure(endpoint: MailEndpoint, error: unknown, starttls: boolean): BrokerError {
  const code = codeOf(error);
  if (code !== undefined && TLS_TRUST_CODES.has(code)) {
    const mismatch = code === 'ERR_TLS_CERT_ALTNAME_INVALID';
    return new BrokerError(
      `the TLS certificate of the mail server ${where(endpoint)} is not trusted (${code}${mismatch ? ': it is not issued for that name' : ''}).`,
      {
        code: 'tls_untrusted',
        cause: error,
        remediation: mismatch
          ? 'Connect by the name the certificate is issued for (--probe NAME:PORT).'
          : "Give the mail server's CA certificate with --ca-file (a private CA, or a TLS-inspecting proxy in between).",
      },
    );
  }
  const detail = code ?? (error instanceof Error ? error.message : String(error));
  return new BrokerError(`the TLS handshake with the mail server ${where(endpoint)} failed (${detail}).`, {
    code: 'mail_protocol_error',
    cause: error,
    remediation: starttls
      ? 'The server offered STARTTLS but could not complete it: check its TLS setup.'
      : 'Is it a TLS port? 993, 995 and 465 speak TLS at once; 143, 110 and 587 start in plain text (use --starttls).',
  });
}

export function timedOut(endpoint: MailEndpoint, timeoutMs: number, waitingFor: string): BrokerError {
  return new BrokerError(`no answer from the mail server ${where(endpoint)} within ${timeoutMs} ms (waiting for ${waitingFor}).`, {
    code: 'timeout',
    remediation: 'Check that the port is the mail server and not a filtered one, and the network path (and proxy) to it.',
  });
}

export function cancelled(endpoint: MailEndpoint): BrokerError {
  return new BrokerError(`the login to the mail server ${where(endpoint)} was cancelled.`, {
    code: 'timeout',
    remediation: 'Nothing to change: the caller stopped waiting (Ctrl-C, or its own deadline).',
  });
}

/** The connection closed, or the server answered what the protocol does not allow here. */
export function protocolError(endpoint: MailEndpoint, what: string, remediation?: string): BrokerError {
  return new BrokerError(`the mail server ${where(endpoint)} ${what}`, {
    code: 'mail_protocol_error',
    remediation: remediation ?? 'Check that HOST:PORT is the mail server for this protocol (IMAP, POP3 or SMTP) and the TLS mode (--tls / --starttls).',
  });
}

export function mechanismNotOffered(endpoint: MailEndpoint, mechanism: string, offered: readonly string[], protocol: string): BrokerError {
  return new BrokerError(
    `the mail server ${where(endpoint)} does not offer SASL ${mechanism} over ${protocol.toUpperCase()} (it offers: ${offered.length === 0 ? 'none' : offered.join(' ')}).`,
    {
      code: 'mail_mechanism_not_offered',
      remediation:
        offered.length === 0
          ? 'Many servers offer AUTH only after TLS: try --tls or --starttls; else enable OAuth 2.0 (XOAUTH2 / OAUTHBEARER) on the server.'
          : 'Enable OAuth 2.0 (XOAUTH2 / OAUTHBEARER) logins on the server, or use a mechanism it offers.',
    },
  );
}

/** The proxy refused the credentials (HTTP 407, SOCKS5 RFC 1929 failure). */
export function proxyAuthFailed(endpoint: MailEndpoint, answer: string): BrokerError {
  return new BrokerError(`proxy ${endpoint.proxyName ?? ''} (${endpoint.proxyUrl ?? ''}) refused our credentials (${answer}) when asked to connect to ${where(endpoint)}.`, {
    code: 'proxy_auth_failed',
    permanent: true,
    remediation: `Check proxies.${endpoint.proxyName ?? ''}.username and password (or passwordFile).`,
  });
}

/** The proxy could not be reached, or would not connect to the mail server. */
export function proxyFailed(endpoint: MailEndpoint, what: string, cause?: unknown): BrokerError {
  return new BrokerError(`proxy ${endpoint.proxyName ?? ''} (${endpoint.proxyUrl ?? ''}) ${what}`, {
    code: 'proxy_unreachable',
    cause,
    remediation: `Check that proxy ${endpoint.proxyName ?? ''} is running and allows connections to ${where(endpoint)} (mail ports are often blocked on web proxies).`,
  });
}

export function connectFailure(endpoint: MailEndpoint, error: unknown): BrokerError {
  if (error instanceof BrokerError) return error;
  const code = codeOf(error);
  if (endpoint.proxyName !== undefined) return proxyFailed(endpoint, `cannot be reached (${code ?? String(error)}).`, error);
  if (code !== undefined && UNREACHABLE_CODES.has(code)) return unreachable(endpoint, error);
  return unreachable(endpoint, error);
}
