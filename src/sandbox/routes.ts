// Routes Entra's paths to the endpoint modules and writes their answers:
// JSON for token and devicecode, redirects or error pages for authorize,
// discovery documents for the rest.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { handleAuthorizeRequest, redirectLocation } from './authorize-endpoint.js';
import type { AuthorizeContext } from './authorize-endpoint.js';
import { handleDeviceAuthorization } from './device-authorization-endpoint.js';
import type { DeviceAuthorizationContext } from './device-authorization-endpoint.js';
import { GENERAL_AUDIENCES } from './directory.js';
import { handleExchangeRequest } from './exchange-introspection.js';
import { handleGraphRequest } from './graph-endpoint.js';
import { instanceDiscovery, openIdConfiguration } from './discovery.js';
import { entraErrors, renderEntraError } from './entra-errors.js';
import type { EntraError } from './entra-errors.js';
import { errorRedirectParams, renderEntraErrorPage } from './error-page.js';
import { nonEmpty, readForm, sendHtml, sendJson, sendRedirect } from './http-io.js';
import { answerWithFault } from './injected-faults.js';
import type { FaultQueue } from './injected-faults.js';
import type { ResourceServerContext } from './resource-servers.js';
import { namedClientId } from './client-authentication.js';
import type { SecretsSeen } from './secrets-seen.js';
import { handleTokenRequest } from './token-endpoint.js';
import type { TokenEndpointContext } from './token-endpoint.js';
import type { SandboxHooks } from './types.js';

export interface SandboxContext extends TokenEndpointContext, DeviceAuthorizationContext, AuthorizeContext, ResourceServerContext {
  readonly hooks: SandboxHooks;
  /** faultNext: applied to token requests before anything else, failNext included. */
  readonly faults: FaultQueue;
  /** Every secret issued or received, for Sandbox.secretsSeen(). */
  readonly secretsSeen: SecretsSeen;
}

export async function route(request: IncomingMessage, response: ServerResponse, context: SandboxContext): Promise<void> {
  const url = context.authorityUrl;
  const requestUrl = new URL(request.url ?? '/', url);
  const segments = requestUrl.pathname.split('/').filter((segment) => segment.length > 0).map(safeDecode);
  // The resource servers come before the tenant is read: `exchange` and
  // `v1.0` are no tenant's name (requireTenantId refuses them). Their traffic
  // is a mail server's or a connector's, not a client's of the authorization
  // server, so it is not counted in `stats`.
  const resourceServer = segments[0]?.toLowerCase();
  if (resourceServer === 'exchange') return handleExchangeRequest(context, request, response, segments);
  if (resourceServer === 'v1.0') return handleGraphRequest(context, request, response, segments);
  const [tenant = '', ...rest] = segments;
  const path = rest.join('/');
  const method = request.method ?? 'GET';
  const correlationId = clientRequestId(request, requestUrl);
  const errorContext = { authorityUrl: url, now: context.clock.now(), correlationId };
  const answerError = (error: EntraError, headers: Record<string, string> = {}): void => {
    const body = renderEntraError(error, errorContext);
    sendJson(response, error.status, body, { 'x-ms-request-id': body.trace_id, ...headers, ...echo(correlationId) });
  };

  if (path === 'oauth2/v2.0/token') {
    if (method !== 'POST') return answerError(entraErrors.postOnly(method));
    const form = await readForm(request, response);
    if (form === undefined) return;
    const { params } = form;
    const authorization = request.headers.authorization;
    context.secretsSeen.fromRequest(params, authorization);
    const fault = context.faults.take();
    if (fault !== undefined) {
      context.stats.record(namedClientId(params, authorization), nonEmpty(params.get('grant_type')));
      return answerWithFault(response, fault, { body: form.body, authorization }, errorContext);
    }
    const outcome = handleTokenRequest(context, { tenant, params, authorization, host: request.headers.host });
    if (outcome.kind === 'error') return answerError(outcome.error, outcome.headers);
    context.secretsSeen.fromAnswer(outcome.body);
    const hook = context.hooks.beforeTokenResponse;
    if (hook !== undefined) {
      try {
        const { refresh_token: issued, access_token: accessToken } = outcome.body as { refresh_token?: unknown; access_token?: unknown };
        await hook({
          ...outcome.info,
          ...(typeof issued === 'string' ? { refreshToken: issued } : {}),
          ...(typeof accessToken === 'string' ? { accessToken } : {}),
        });
      } catch {
        // The test wants this answer lost: the tokens exist, the client never sees them.
        return void response.destroy();
      }
    }
    return sendJson(response, 200, outcome.body, { 'x-ms-request-id': randomUUID(), ...echo(correlationId) });
  }

  if (path === 'oauth2/v2.0/devicecode') {
    if (method !== 'POST') return answerError(entraErrors.postOnly(method));
    const form = await readForm(request, response);
    if (form === undefined) return;
    const outcome = handleDeviceAuthorization(context, tenant, form.params);
    if (outcome.kind === 'error') return answerError(outcome.error);
    context.secretsSeen.fromAnswer(outcome.body);
    return sendJson(response, 200, outcome.body, { 'x-ms-request-id': randomUUID(), ...echo(correlationId) });
  }

  if (path === 'oauth2/v2.0/authorize' && (method === 'GET' || method === 'HEAD')) {
    const outcome = handleAuthorizeRequest(context, tenant, requestUrl.searchParams);
    if (outcome.kind === 'page') {
      const { html, traceId } = renderEntraErrorPage(outcome.error, errorContext);
      return sendHtml(response, outcome.error.status, html, { 'x-ms-request-id': traceId });
    }
    if (outcome.kind === 'redirect') context.secretsSeen.add('authorization_code', outcome.params['code']);
    const params =
      outcome.kind === 'redirect' ? outcome.params : errorRedirectParams(outcome.error, errorContext, outcome.state);
    return sendRedirect(response, redirectLocation(outcome.redirectUri, outcome.responseMode, params), {
      'x-ms-request-id': randomUUID(),
    });
  }

  context.stats.recordOther();
  if (method !== 'GET' && method !== 'HEAD') {
    return sendJson(response, 405, { error: 'invalid_request', error_description: `${method} is not allowed here` }, { allow: 'GET' });
  }
  if (tenant.toLowerCase() === 'common' && path === 'discovery/instance') {
    return sendJson(response, 200, instanceDiscovery(url, requestUrl.searchParams.get('authorization_endpoint')));
  }
  if (tenant === 'devicelogin' && path === '') {
    return sendHtml(response, 200, DEVICE_LOGIN_PAGE);
  }
  const knownTenant = GENERAL_AUDIENCES.has(tenant.toLowerCase()) || context.directory.hasTenant(tenant);
  if (path === 'v2.0/.well-known/openid-configuration' || path === 'discovery/v2.0/keys') {
    // Entra answers discovery for an unknown tenant with this error code.
    if (!knownTenant) return answerError(entraErrors.tenantNotFound(tenant, 'invalid_tenant'));
    return sendJson(response, 200, path === 'discovery/v2.0/keys' ? context.signer.jwks : openIdConfiguration(url, tenant));
  }
  return sendJson(response, 404, { error: 'not_found', error_description: `no sandbox endpoint at ${requestUrl.pathname}` });
}

const DEVICE_LOGIN_PAGE =
  '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Enter code</title></head>\n<body>\n' +
  '<h1>Enter code</h1>\n<p>This is the token broker sandbox: codes are approved by the test that runs it ' +
  '(Sandbox.approveDeviceCode), not on this page.</p>\n</body></html>\n';

/**
 * The caller's correlation id, from the header or (as msal-node sends it) the
 * query; echoed only when it looks like an id, so arbitrary text is never reflected.
 */
function clientRequestId(request: IncomingMessage, requestUrl: URL): string | undefined {
  const header = request.headers['client-request-id'];
  const value = typeof header === 'string' ? header : requestUrl.searchParams.get('client-request-id');
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
