// A seam for whoever counts the requests the engine sends to authorization
// servers (the metrics): told when a token request starts and how it ended.
// The engine knows nothing of what is done with it.
import type { GrantTypeName } from '../config/index.js';
import { BrokerError } from '../errors/index.js';

/** One request to an authorization server: the server's name in the config and the mailbox's grant type. */
export interface TokenRequest {
  readonly server: string;
  readonly grant: GrantTypeName;
}

/** Called as a request is sent; the function it returns hears the outcome once: "ok" or the failure's BrokerError code. */
export type TokenRequestObserver = (request: TokenRequest) => (outcome: string) => void;

/** `send()`, reported to `observer` (when there is one) as it starts and as it ends. */
export async function observeTokenRequest<T>(observer: TokenRequestObserver | undefined, request: TokenRequest, send: () => Promise<T>): Promise<T> {
  if (observer === undefined) return send();
  const finish = observer(request);
  try {
    const result = await send();
    finish('ok');
    return result;
  } catch (error) {
    finish(error instanceof BrokerError ? error.code : 'internal');
    throw error;
  }
}
