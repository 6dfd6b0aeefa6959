// The HTTPS server: routes Entra's paths to the endpoint modules and owns the
// lifecycle (keys and certificates at start, connections at close).
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTlsMaterial } from './certificates.js';
import { Directory, GENERAL_AUDIENCES } from './directory.js';
import { instanceDiscovery, openIdConfiguration } from './discovery.js';
import { entraErrors, renderEntraError } from './entra-errors.js';
import type { EntraError } from './entra-errors.js';
import { FailureQueue } from './failures.js';
import { BodyTooLargeError, readBody, sendJson } from './http-io.js';
import { TokenSigner } from './jwt.js';
import { TokenRequestStats } from './stats.js';
import { handleTokenRequest, verifyAppToken } from './token-endpoint.js';
import type { TokenEndpointContext } from './token-endpoint.js';
import type { AccessTokenClaims, InjectedFailure, Sandbox, SandboxApplication, SandboxOptions } from './types.js';

const DEFAULT_LIFETIME_SECONDS = 3600;

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 0;
  const lifetime = options.accessTokenLifetimeSeconds ?? DEFAULT_LIFETIME_SECONDS;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`"port" must be an integer in 0..65535, got ${String(port)}`);
  }
  if (!Number.isInteger(lifetime) || lifetime < 1) {
    throw new RangeError(`"accessTokenLifetimeSeconds" must be a positive integer, got ${String(lifetime)}`);
  }
  const clock = options.clock ?? { now: () => Date.now() };

  const [tls, signer] = await Promise.all([createTlsMaterial(Date.now(), options.hostnames ?? []), TokenSigner.create()]);
  const context: TokenEndpointContext = {
    directory: new Directory(),
    signer,
    stats: new TokenRequestStats(),
    failures: new FailureQueue(),
    clock,
    accessTokenLifetimeSeconds: lifetime,
  };

  // The URL is only known once listening; requests cannot arrive before.
  let url = '';
  const server = createServer({ key: tls.serverKeyPem, cert: tls.serverCertificatePem }, (request, response) => {
    route(request, response, url, context).catch((error: unknown) => {
      if (!response.headersSent) sendJson(response, 500, { error: 'server_error', error_description: String(error) });
      else response.destroy();
    });
  });
  const boundPort = await listen(server, port, host);
  url = `https://localhost:${boundPort}`;

  return {
    url,
    port: boundPort,
    caCertificatePem: tls.caCertificatePem,
    stats: context.stats,
    registerApplication(app: SandboxApplication): void {
      context.directory.register(app);
    },
    failNext(failure: InjectedFailure): void {
      context.failures.push(failure);
    },
    verifyAccessToken(token: string): AccessTokenClaims | undefined {
      return verifyAppToken(signer, clock, token);
    },
    close: () => close(server),
  };
}

async function route(
  request: IncomingMessage,
  response: ServerResponse,
  url: string,
  context: TokenEndpointContext,
): Promise<void> {
  const requestUrl = new URL(request.url ?? '/', url);
  const segments = requestUrl.pathname.split('/').filter((segment) => segment.length > 0).map(safeDecode);
  const [tenant = '', ...rest] = segments;
  const path = rest.join('/');
  const method = request.method ?? 'GET';
  const correlationId = clientRequestId(request);
  const answerError = (error: EntraError, headers: Record<string, string> = {}): void => {
    const body = renderEntraError(error, { authorityUrl: url, now: context.clock.now(), correlationId });
    sendJson(response, error.status, body, { 'x-ms-request-id': body.trace_id, ...headers, ...echo(correlationId) });
  };

  if (path === 'oauth2/v2.0/token') {
    if (method !== 'POST') return answerError(entraErrors.postOnly(method));
    let body: string;
    try {
      body = await readBody(request);
    } catch (error) {
      if (error instanceof BodyTooLargeError) return sendJson(response, 413, { error: 'invalid_request', error_description: error.message });
      throw error;
    }
    const params = isFormEncoded(request) ? new URLSearchParams(body) : new URLSearchParams();
    const outcome = handleTokenRequest(context, { tenant, params, authorization: request.headers.authorization });
    if (outcome.kind === 'error') {
      const retryAfter = outcome.retryAfterSeconds;
      return answerError(outcome.error, retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) });
    }
    return sendJson(response, 200, outcome.body, { 'x-ms-request-id': randomUUID(), ...echo(correlationId) });
  }

  context.stats.recordOther();
  if (method !== 'GET' && method !== 'HEAD') {
    return sendJson(response, 405, { error: 'invalid_request', error_description: `${method} is not allowed here` }, { allow: 'GET' });
  }
  if (tenant.toLowerCase() === 'common' && path === 'discovery/instance') {
    return sendJson(response, 200, instanceDiscovery(url, requestUrl.searchParams.get('authorization_endpoint')));
  }
  const knownTenant = GENERAL_AUDIENCES.has(tenant.toLowerCase()) || context.directory.hasTenant(tenant);
  if (path === 'v2.0/.well-known/openid-configuration' || path === 'discovery/v2.0/keys') {
    // Entra answers discovery for an unknown tenant with this error code.
    if (!knownTenant) return answerError(entraErrors.tenantNotFound(tenant, 'invalid_tenant'));
    return sendJson(response, 200, path === 'discovery/v2.0/keys' ? context.signer.jwks : openIdConfiguration(url, tenant));
  }
  return sendJson(response, 404, { error: 'not_found', error_description: `no sandbox endpoint at ${requestUrl.pathname}` });
}

function isFormEncoded(request: IncomingMessage): boolean {
  const contentType = request.headers['content-type'] ?? '';
  return contentType.split(';')[0]?.trim().toLowerCase() === 'application/x-www-form-urlencoded';
}

/** Echoed only when it looks like an id, so arbitrary header text is never reflected. */
function clientRequestId(request: IncomingMessage): string | undefined {
  const value = request.headers['client-request-id'];
  return typeof value === 'string' && /^[0-9A-Za-z-]{1,64}$/.test(value) ? value : undefined;
}

function echo(correlationId: string | undefined): Record<string, string> {
  return correlationId === undefined ? {} : { 'client-request-id': correlationId };
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Idle keep-alive sockets would hold `close` open for seconds: cut them. */
function close(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!server.listening) return resolve();
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}
