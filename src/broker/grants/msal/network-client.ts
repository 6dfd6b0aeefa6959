// msal-node's INetworkModule on top of our HttpTransport, so msal's requests
// take the mailbox's proxy and CAs like every other request. A transport
// failure is thrown as an AuthError carrying our BrokerError: msal replaces
// any other error with a bare "network_error" and the reason would be lost.
// (Not an AuthError subclass: AuthError's constructor resets the prototype,
// so instanceof on a subclass never holds. A symbol property survives.)
//
// Answers msal would throttle by itself (429, 5xx, any error with
// Retry-After) never reach it either: they are thrown the same way, carrying
// status, OAuth body and Retry-After. msal would otherwise cache them per
// request (ThrottlingUtils) and fail the next identical request for up to an
// hour without sending it, with no status and no Retry-After to show; the
// engine's retry policy decides when to ask again, not a hidden cache.
import { AuthError } from '@azure/msal-node';
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';
import { BrokerError } from '../../../errors/index.js';
import { parseRetryAfter } from '../../../http/index.js';
import type { HttpResponse, HttpTransport, RouteOptions } from '../../../http/index.js';
import type { Clock } from '../../../time/index.js';
import { aadstsNumber } from '../oauth-errors.js';
import type { ErrorAnswer } from '../oauth-errors.js';

const BROKER_ERROR = Symbol('token-broker.brokerError');
const ERROR_ANSWER = Symbol('token-broker.errorAnswer');

function transportAuthError(brokerError: BrokerError): AuthError {
  // AuthError(errorCode, correlationId, errorMessage): no correlation id of ours.
  return Object.assign(new AuthError(brokerError.code, '', brokerError.message), { [BROKER_ERROR]: brokerError });
}

/** The BrokerError our network client threw through msal, if this is one. */
export function transportFailureOf(error: unknown): BrokerError | undefined {
  if (typeof error !== 'object' || error === null || !(BROKER_ERROR in error)) return undefined;
  const carried = error[BROKER_ERROR];
  return carried instanceof BrokerError ? carried : undefined;
}

/** The error answer our network client kept from msal, if this is one. */
export function errorAnswerOf(error: unknown): ErrorAnswer | undefined {
  if (typeof error !== 'object' || error === null || !(ERROR_ANSWER in error)) return undefined;
  return error[ERROR_ANSWER] as ErrorAnswer;
}

export class MsalNetworkClient implements INetworkModule {
  readonly #transport: HttpTransport;
  readonly #route: RouteOptions;
  readonly #clock: Clock;

  constructor(transport: HttpTransport, route: RouteOptions, clock: Clock) {
    this.#transport = transport;
    this.#route = route;
    this.#clock = clock;
  }

  sendGetRequestAsync<T>(url: string, options?: NetworkRequestOptions, timeout?: number): Promise<NetworkResponse<T>> {
    return this.#send<T>('GET', url, options, timeout);
  }

  sendPostRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    return this.#send<T>('POST', url, options);
  }

  async #send<T>(method: 'GET' | 'POST', url: string, options?: NetworkRequestOptions, timeoutMs?: number): Promise<NetworkResponse<T>> {
    let response: HttpResponse;
    try {
      response = await this.#transport.send({ method, url, headers: options?.headers, body: options?.body, timeoutMs }, this.#route);
    } catch (error) {
      if (error instanceof BrokerError) throw transportAuthError(error);
      throw error;
    }
    if (msalWouldThrottle(response)) {
      throw Object.assign(new AuthError('server_error', '', `HTTP ${response.status}`), { [ERROR_ANSWER]: errorAnswer(response, this.#clock.now()) });
    }
    return { status: response.status, headers: response.headers, body: parseJsonBody<T>(response.body, response.status, url) };
  }
}

/** msal-common's ThrottlingUtils.postProcess condition, which caches the answer as a throttle. */
function msalWouldThrottle(response: HttpResponse): boolean {
  const { status, headers } = response;
  return status === 429 || status >= 500 || ((status < 200 || status >= 300) && headers['retry-after'] !== undefined);
}

function errorAnswer(response: HttpResponse, receivedAt: number): ErrorAnswer {
  const body = jsonObject(response.body);
  const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
  const errorDescription = text(body['error_description']);
  const codes = body['error_codes'];
  const firstCode = Array.isArray(codes) && (typeof codes[0] === 'number' || typeof codes[0] === 'string') ? String(codes[0]) : undefined;
  return {
    error: text(body['error']),
    errorDescription,
    aadsts: firstCode ?? aadstsNumber(errorDescription),
    httpStatus: response.status,
    retryAfterMs: parseRetryAfter(response.headers['retry-after'], receivedAt),
  };
}

/** The body's fields when it is a JSON object (Entra's error answers); none for an HTML page or plain text. */
function jsonObject(body: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function parseJsonBody<T>(body: string, status: number, url: string): T {
  try {
    return JSON.parse(body) as T;
  } catch (cause) {
    // A maintenance page, a proxy's or load balancer's HTML error page, an
    // empty or garbled body: say so instead of a JSON syntax error. The server
    // was reached (not "unreachable"), and such answers pass: transient.
    throw transportAuthError(
      new BrokerError(`${new URL(url).host} answered HTTP ${status} with a body that is not JSON.`, {
        code: 'authorization_server_error',
        oauth: { httpStatus: status },
        remediation: 'The broker retries with backoff. If it lasts, check that the authorization server URL is right and that no proxy rewrites the answer.',
        cause,
      }),
    );
  }
}
