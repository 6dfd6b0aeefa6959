// A one-shot HTTP listener for a loopback redirect URI
// (http://localhost:PORT/path, http://127.0.0.1:PORT/path): the browser comes
// back to it after sign-in, it completes the authorization by itself, shows
// the outcome, and closes. Bound to the loopback address of the URI only
// (127.0.0.1 for localhost): loopbackRedirectAddress.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { loopbackRedirectAddress } from '../../config/index.js';

/** True for http redirect URIs on a loopback host with an explicit port (loopbackRedirectAddress). */
export function isLoopbackRedirect(redirectUri: string): boolean {
  return loopbackRedirectAddress(redirectUri) !== undefined;
}

export interface RedirectOutcome {
  readonly ok: boolean;
  /** Shown in the browser; never a secret. */
  readonly message: string;
}

export class LoopbackRedirectListener {
  readonly #server: Server;
  #closed = false;

  private constructor(server: Server) {
    this.#server = server;
  }

  /**
   * Listens for one redirect to `redirectUri`. `onRedirect` gets the full URL
   * the browser asked for. Rejects when the port cannot be bound.
   */
  static start(redirectUri: string, onRedirect: (url: URL) => Promise<RedirectOutcome>, lifetimeMs: number): Promise<LoopbackRedirectListener> {
    const expected = new URL(redirectUri);
    const address = loopbackRedirectAddress(redirectUri);
    if (address === undefined) return Promise.reject(new Error(`${redirectUri} is not an http loopback redirect URI with a port`));
    return new Promise((resolve, reject) => {
      let listener: LoopbackRedirectListener | undefined;
      const server = createServer((request, response) => {
        const url = new URL(request.url ?? '/', `http://${expected.host}`);
        if (request.method !== 'GET' || url.pathname !== expected.pathname) {
          response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' }).end('Not the redirect URI of this authorization.\n');
          return;
        }
        onRedirect(url).then(
          (outcome) => answer(outcome),
          (error: unknown) => answer({ ok: false, message: String(error) }),
        );
        const answer = (outcome: RedirectOutcome): void => {
          response
            .writeHead(outcome.ok ? 200 : 400, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', connection: 'close' })
            .end(page(outcome), () => {
              // After a failure (denied consent, a stray request) keep waiting for the real redirect until expiry.
              if (outcome.ok) listener?.close();
            });
        };
      });
      server.once('error', reject);
      server.listen(address.port, address.host, () => {
        server.off('error', reject);
        listener = new LoopbackRedirectListener(server);
        const timer = setTimeout(() => listener?.close(), lifetimeMs);
        timer.unref();
        server.once('close', () => clearTimeout(timer));
        resolve(listener);
      });
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // Stops accepting; idle keep-alive sockets close now, a request being
    // answered (the redirect that completes the flow) finishes first.
    this.#server.close();
    this.#server.closeIdleConnections();
  }
}

function page(outcome: RedirectOutcome): string {
  const escaped = outcome.message.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
  const title = outcome.ok ? 'Authorization complete' : 'Authorization failed';
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1><p>${escaped}</p><p>You can close this window.</p></body></html>\n`;
}
