// msal-node's INetworkModule on top of our HttpTransport, so msal's requests
// take the mailbox's proxy and CAs like every other request. A transport
// failure is thrown as an AuthError carrying our BrokerError: msal replaces
// any other error with a bare "network_error" and the reason would be lost.
// (Not an AuthError subclass: AuthError's constructor resets the prototype,
// so instanceof on a subclass never holds. A symbol property survives.)
import { AuthError } from '@azure/msal-node';
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';
import { BrokerError } from '../../../errors/index.js';
import type { HttpTransport, RouteOptions } from '../../../http/index.js';

const BROKER_ERROR = Symbol('token-broker.brokerError');

function transportAuthError(brokerError: BrokerError): AuthError {
  return Object.assign(new AuthError(brokerError.code, brokerError.message), { [BROKER_ERROR]: brokerError });
}

/** The BrokerError our network client threw through msal, if this is one. */
export function transportFailureOf(error: unknown): BrokerError | undefined {
  if (typeof error !== 'object' || error === null || !(BROKER_ERROR in error)) return undefined;
  const carried = error[BROKER_ERROR];
  return carried instanceof BrokerError ? carried : undefined;
}

export class MsalNetworkClient implements INetworkModule {
  readonly #transport: HttpTransport;
  readonly #route: RouteOptions;

  constructor(transport: HttpTransport, route: RouteOptions) {
    this.#transport = transport;
    this.#route = route;
  }

  sendGetRequestAsync<T>(url: string, options?: NetworkRequestOptions, timeout?: number): Promise<NetworkResponse<T>> {
    return this.#send<T>('GET', url, options, timeout);
  }

  sendPostRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    return this.#send<T>('POST', url, options);
  }

  async #send<T>(method: 'GET' | 'POST', url: string, options?: NetworkRequestOptions, timeoutMs?: number): Promise<NetworkResponse<T>> {
    try {
      const response = await this.#transport.send(
        { method, url, headers: options?.headers, body: options?.body, timeoutMs },
        this.#route,
      );
      return { status: response.status, headers: response.headers, body: parseJsonBody<T>(response.body, response.status, url) };
    } catch (error) {
      if (error instanceof BrokerError) throw transportAuthError(error);
      throw error;
    }
  }
}

function parseJsonBody<T>(body: string, status: number, url: string): T {
  try {
    return JSON.parse(body) as T;
  } catch (cause) {
    // A proxy's or load balancer's HTML error page: say so instead of a JSON syntax error.
    throw transportAuthError(
      new BrokerError(`${new URL(url).host} answered HTTP ${status} with a body that is not JSON.`, {
        code: status >= 500 || status === 429 ? 'authorization_server_error' : 'server_unreachable',
        oauth: { httpStatus: status },
        remediation: 'Check that the authorization server URL is right and that no proxy rewrites the answer.',
        cause,
      }),
    );
  }
}
