// Turns what undici throws into BrokerErrors an operator can act on. undici
// wraps the real reason (refused connection, untrusted certificate, proxy
// 407) in a generic "fetch failed"; ops need the reason, so we unwrap it.
import { BrokerError } from '../errors/index.js';

export interface TransportErrorContext {
  /** Host (and port) we tried to reach, never a URL with a query string. */
  readonly target: string;
  /** Name of the configured proxy, when the request went through one. */
  readonly proxyName?: string;
  readonly proxyUrl?: string;
  readonly mailbox?: string;
  readonly authorizationServer?: string;
}

const TLS_TRUST_CODES = new Set([
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

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/** Walks `cause` links to the innermost error that carries a code. */
function innermostCode(error: unknown): { code: string | undefined; message: string } {
  let current: unknown = error;
  let found: { code: string | undefined; message: string } = { code: undefined, message: String(error) };
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    const code = (current as Error & { code?: unknown }).code;
    if (typeof code === 'string') found = { code, message: current.message };
    else if (found.code === undefined) found = { code: undefined, message: current.message };
    current = (current as Error & { cause?: unknown }).cause;
  }
  return found;
}

function proxyStatus(message: string): number | undefined {
  // undici: "Proxy response (407) !== 200 when HTTP Tunneling"
  const match = /Proxy response \((\d{3})\)/.exec(message);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

export function classifyTransportError(error: unknown, context: TransportErrorContext): BrokerError {
  if (error instanceof BrokerError) return error;
  const { code, message } = innermostCode(error);
  const where = context.mailbox === undefined ? '' : `mailbox ${context.mailbox}: `;
  const base = {
    mailbox: context.mailbox,
    authorizationServer: context.authorizationServer,
    cause: error,
  };
  const status = proxyStatus(message);
  if (context.proxyName !== undefined && status !== undefined) {
    if (status === 407) {
      return new BrokerError(`${where}proxy ${context.proxyName} (${context.proxyUrl ?? ''}) refused our credentials (HTTP 407).`, {
        ...base,
        code: 'proxy_auth_failed',
        permanent: true,
        remediation: `Check proxies.${context.proxyName}.username and password (or passwordFile).`,
      });
    }
    return new BrokerError(`${where}proxy ${context.proxyName} answered HTTP ${status} when asked to connect to ${context.target}.`, {
      ...base,
      code: 'proxy_unreachable',
      remediation: `Check that proxy ${context.proxyName} allows CONNECT to ${context.target}.`,
    });
  }
  if (code !== undefined && TLS_TRUST_CODES.has(code)) {
    return new BrokerError(`${where}the TLS certificate of ${context.target} is not trusted (${code}).`, {
      ...base,
      code: 'tls_untrusted',
      permanent: true,
      remediation:
        'If a TLS-inspecting proxy or a private CA sits in between, put its CA certificate in the authorization server\'s caFile.',
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
  if (context.proxyName !== undefined && (code === undefined || UNREACHABLE_CODES.has(code))) {
    return new BrokerError(`${where}cannot reach ${context.target} through proxy ${context.proxyName} (${code ?? message}).`, {
      ...base,
      code: 'proxy_unreachable',
      remediation: `Check that proxy ${context.proxyName} (${context.proxyUrl ?? ''}) is running and reachable.`,
    });
  }
  return new BrokerError(`${where}cannot reach ${context.target} (${code ?? message}).`, {
    ...base,
    code: 'server_unreachable',
    remediation: 'The broker retries; check DNS, firewall and that the authorization server URL is right.',
  });
}
