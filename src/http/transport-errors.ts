// Turns what undici throws into BrokerErrors an operator can act on. undici
// wraps the real reason (refused connection, untrusted certificate, proxy
// 407) in a generic "fetch failed"; ops need the reason, so we unwrap it.
import { BrokerError } from '../errors/index.js';
import { ProxyChallengeError, unsupportedSchemes } from './proxy-challenge.js';

/** A mailbox's `proxy: environment` (config/types.ts; not imported, the http module stays below config). */
const ENVIRONMENT_PROXY_NAME = 'environment';

export interface TransportErrorContext {
  /** Host (and port) we tried to reach, never a URL with a query string. */
  readonly target: string;
  /** Name of the configured proxy, when the request went through one. */
  readonly proxyName?: string;
  readonly proxyUrl?: string;
  readonly mailbox?: string;
  readonly authorizationServer?: string;
}

/** Certificate failures Node reports by code: the server is there, but not trusted (or not the name asked for). */
export const TLS_TRUST_CODES: ReadonlySet<string> = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Failures to open a connection at all: the server (or the path to it) is not there; UND_ERR_CLOSED: our pool was closed (shutdown). */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CLOSED']);

/** An open connection that ended: while connecting (then unreachable), or after the request went out (then no answer, or half of one). */
const LOST_CONNECTION_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

const TRANSPORT_CODES: ReadonlySet<string> = new Set([...TLS_TRUST_CODES, ...UNREACHABLE_CODES, ...LOST_CONNECTION_CODES, ...TIMEOUT_CODES]);

/**
 * Node's own wording of certificate failures, for errors that quote the text
 * but dropped the code (a library's wrapper): the code each sentence stands for.
 */
const TLS_PHRASES: readonly (readonly [RegExp, string])[] = [
  [/unable to verify the first certificate/i, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
  [/unable to get local issuer certificate/i, 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'],
  [/self[- ]signed certificate in certificate chain/i, 'SELF_SIGNED_CERT_IN_CHAIN'],
  [/self[- ]signed certificate/i, 'DEPTH_ZERO_SELF_SIGNED_CERT'],
  [/certificate has expired/i, 'CERT_HAS_EXPIRED'],
  [/Hostname\/IP does not match certificate/i, 'ERR_TLS_CERT_ALTNAME_INVALID'],
];

const QUOTED_CODE = new RegExp(String.raw`\b(${[...TRANSPORT_CODES].join('|')})\b`);

/** undici's message when the body of an answer whose headers had arrived could not be read to its end. */
const BODY_TERMINATED = 'terminated';

interface Innermost {
  readonly code: string | undefined;
  readonly message: string;
  /** The syscall of a Node socket error: `connect` while connecting, `read` / `write` after. */
  readonly syscall: string | undefined;
  /** True when an answer had begun to arrive (its body could not be read to its end). */
  readonly answerStarted: boolean;
}

/** Walks `cause` links to the innermost error that carries a code. */
function innermostCode(error: unknown): Innermost {
  let current: unknown = error;
  let code: string | undefined;
  let message = String(error);
  let syscall: string | undefined;
  let answerStarted = false;
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    const fields = current as Error & { code?: unknown; syscall?: unknown };
    if (current.message === BODY_TERMINATED) answerStarted = true;
    if (typeof fields.code === 'string') {
      code = fields.code;
      message = current.message;
      syscall = typeof fields.syscall === 'string' ? fields.syscall : undefined;
    } else if (code === undefined) {
      message = current.message;
    }
    current = current.cause;
  }
  return { code: code !== undefined && TRANSPORT_CODES.has(code) ? code : (quotedCode(error) ?? code), message, syscall, answerStarted };
}

/**
 * The transport code a library's wrapper quotes in its message (msal-node
 * and openid-client put the reason into their own errors' text, and may drop
 * the original error): the code itself, or Node's sentence for a certificate failure.
 */
function quotedCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    const quoted = QUOTED_CODE.exec(current.message)?.[1] ?? TLS_PHRASES.find(([phrase]) => phrase.test(current instanceof Error ? current.message : ''))?.[1];
    if (quoted !== undefined) return quoted;
    current = current.cause;
  }
  return undefined;
}

/**
 * The Node or undici code of a transport failure in `error` (its cause
 * chain, or quoted in a wrapper's message), if it is one: lets the grants
 * tell a network or TLS failure a library wrapped from the library's own errors.
 */
export function transportFailureCode(error: unknown): string | undefined {
  const { code } = innermostCode(error);
  return code !== undefined && TRANSPORT_CODES.has(code) ? code : undefined;
}

/** The 407 challenge the tunnel's CONNECT met, somewhere in the cause chain. */
function challengeIn(error: unknown): ProxyChallengeError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    if (current instanceof ProxyChallengeError) return current;
    current = current.cause;
  }
  return undefined;
}

function proxyStatus(message: string): number | undefined {
  // undici: "Proxy response (407) !== 200 when HTTP Tunneling"
  const match = /Proxy response \((\d{3})\)/.exec(message);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/** True for a connection that ended while it was being opened (TLS handshake included): nothing was sent. */
function endedWhileConnecting(innermost: Innermost): boolean {
  return innermost.syscall === 'connect' || /before secure TLS connection was established/i.test(innermost.message);
}

const RETRIES = 'The broker retries with backoff.';

/** undici's Socks5ProxyError codes: UND_ERR_SOCKS5_AUTH_FAILED, UND_ERR_SOCKS5_REPLY_5, ... */
const SOCKS5_CODE_PREFIX = 'UND_ERR_SOCKS5_';
/** The SOCKS5 server refused the credentials (RFC 1929), or accepts none of the methods we offer. */
const SOCKS5_AUTH_CODES = new Set(['UND_ERR_SOCKS5_AUTH_FAILED', 'UND_ERR_SOCKS5_AUTH_REJECTED']);

/** A SOCKS5 refusal: of our credentials (permanent, as a 407), or of the connection to the target (transient). */
function socksFailure(
  code: string,
  message: string,
  context: TransportErrorContext,
  where: string,
  base: { mailbox: string | undefined; authorizationServer: string | undefined; cause: unknown },
): BrokerError {
  if (SOCKS5_AUTH_CODES.has(code)) {
    return new BrokerError(`${where}SOCKS5 proxy ${context.proxyName ?? ''} (${context.proxyUrl ?? ''}) refused our credentials (${code}).`, {
      ...base,
      code: 'proxy_auth_failed',
      permanent: true,
      remediation: `Check proxies.${context.proxyName ?? ''}.username and password (or passwordFile), and that the SOCKS5 server allows username/password authentication.`,
    });
  }
  return new BrokerError(`${where}SOCKS5 proxy ${context.proxyName ?? ''} could not connect to ${context.target} (${message}).`, {
    ...base,
    code: 'proxy_unreachable',
    remediation: `${RETRIES} Check that proxy ${context.proxyName ?? ''} can resolve and reach ${context.target}.`,
  });
}

/**
 * Every transport failure is transient: a network path, a proxy or a
 * certificate that fails now may be fixed in seconds, and an hour's pause
 * would outlast the fault by far. Only a proxy refusing our credentials
 * (407) needs a person, so only that one is permanent.
 */
export function classifyTransportError(error: unknown, context: TransportErrorContext): BrokerError {
  if (error instanceof BrokerError) return error;
  const innermost = innermostCode(error);
  const { code, message } = innermost;
  const where = context.mailbox === undefined ? '' : `mailbox ${context.mailbox}: `;
  const base = {
    mailbox: context.mailbox,
    authorizationServer: context.authorizationServer,
    cause: error,
  };
  const status = proxyStatus(message);
  const challenge = challengeIn(error);
  const unsupported = unsupportedSchemes(challenge?.schemes ?? []);
  if (context.proxyName !== undefined && unsupported.length > 0) {
    const names = unsupported.join(' or ');
    return new BrokerError(
      `${where}proxy ${context.proxyName} (${context.proxyUrl ?? ''}) asks for ${names} authentication (HTTP 407); the broker authenticates to HTTP proxies with Basic only.`,
      {
        ...base,
        code: 'proxy_auth_failed',
        permanent: true,
        remediation:
          `Run a local authenticating proxy such as cntlm (or px) that logs in to ${context.proxyName} with ${names}, and set proxies.${context.proxyName}.url ` +
          'to it (e.g. http://127.0.0.1:3128); or ask for Basic authentication, or an exemption, for the broker on that proxy.',
      },
    );
  }
  if (context.proxyName !== undefined && status !== undefined) {
    if (status === 407) {
      return new BrokerError(`${where}proxy ${context.proxyName} (${context.proxyUrl ?? ''}) refused our credentials (HTTP 407).`, {
        ...base,
        code: 'proxy_auth_failed',
        permanent: true,
        remediation:
          context.proxyName === ENVIRONMENT_PROXY_NAME
            ? "Check the user name and password in the broker's HTTPS_PROXY / HTTP_PROXY (http://user:password@host:port, percent-encoded)."
            : `Check proxies.${context.proxyName}.username and password (or passwordFile).`,
      });
    }
    return new BrokerError(`${where}proxy ${context.proxyName} answered HTTP ${status} when asked to connect to ${context.target}.`, {
      ...base,
      code: 'proxy_unreachable',
      remediation: `${RETRIES} Check that proxy ${context.proxyName} allows CONNECT to ${context.target}.`,
    });
  }
  if (context.proxyName !== undefined && code?.startsWith(SOCKS5_CODE_PREFIX) === true) {
    return socksFailure(code, message, context, where, base);
  }
  if (code !== undefined && TLS_TRUST_CODES.has(code)) {
    return new BrokerError(`${where}the TLS certificate of ${context.target} is not trusted (${code}).`, {
      ...base,
      code: 'tls_untrusted',
      remediation:
        `${RETRIES} If a TLS-inspecting proxy or a private CA sits in between, put its CA certificate in the authorization server's caFile.`,
    });
  }
  if (code !== undefined && TIMEOUT_CODES.has(code)) {
    return new BrokerError(`${where}no answer from ${context.target} in time (${code}).`, {
      ...base,
      code: 'timeout',
      remediation: 'The broker retries; check the network path to the authorization server.',
    });
  }
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return new BrokerError(`${where}no answer from ${context.target} in time.`, {
      ...base,
      code: 'timeout',
      remediation: 'The broker retries; check the network path to the authorization server.',
    });
  }
  if (code !== undefined && LOST_CONNECTION_CODES.has(code) && !endedWhileConnecting(innermost)) {
    return lostConnection(innermost, code, context, where, base);
  }
  if (context.proxyName !== undefined && (code === undefined || UNREACHABLE_CODES.has(code) || LOST_CONNECTION_CODES.has(code))) {
    return new BrokerError(`${where}cannot reach ${context.target} through proxy ${context.proxyName} (${code ?? message}).`, {
      ...base,
      code: 'proxy_unreachable',
      remediation: `${RETRIES} Check that proxy ${context.proxyName} (${context.proxyUrl ?? ''}) is running and reachable.`,
    });
  }
  return new BrokerError(`${where}cannot reach ${context.target} (${code ?? message}).`, {
    ...base,
    code: 'server_unreachable',
    remediation: 'The broker retries; check DNS, firewall and that the authorization server URL is right.',
  });
}

/**
 * The connection was open and the request on its way (or sent), and then it
 * ended: the server was reached, so "cannot reach" would send ops to check
 * DNS and firewalls for nothing. Say what happened instead.
 */
function lostConnection(
  innermost: Innermost,
  code: string,
  context: TransportErrorContext,
  where: string,
  base: { mailbox: string | undefined; authorizationServer: string | undefined; cause: unknown },
): BrokerError {
  const target = context.proxyName === undefined ? context.target : `${context.target} (through proxy ${context.proxyName})`;
  const remediation =
    `${RETRIES} If it recurs, the authorization server is failing, or a proxy or load balancer in between cuts connections short: ` +
    `check the status of ${context.authorizationServer ?? context.target}${context.proxyName === undefined ? '' : ` and proxy ${context.proxyName}`}.`;
  if (innermost.answerStarted) {
    return new BrokerError(`${where}the answer from ${target} was cut short: the connection closed before all of it arrived (${code}).`, {
      ...base,
      code: 'authorization_server_error',
      remediation,
    });
  }
  const sending = code === 'EPIPE' || innermost.syscall === 'write';
  const ended = code === 'ECONNRESET' ? 'reset the connection' : 'closed the connection';
  const when = sending ? 'while the request was being sent' : 'after the request was sent, without answering';
  return new BrokerError(`${where}${target} ${ended} ${when} (${code}).`, {
    ...base,
    code: 'authorization_server_error',
    remediation,
  });
}
