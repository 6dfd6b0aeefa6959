// Reads a generic server's metadata from its issuer: OpenID Connect
// discovery first, RFC 8414 (/.well-known/oauth-authorization-server) when
// the server has no OpenID document. Failures name the issuer setting;
// a throttled discovery request is `throttled`, like a token request.
import { allowInsecureRequests, customFetch, discovery } from 'openid-client';
import type { CustomFetch, ServerMetadata } from 'openid-client';
import { BrokerError } from '../../../errors/index.js';
import type { Clock } from '../../../time/index.js';
import { classifyErrorAnswer, isThrottling } from '../oauth-errors.js';
import type { OAuthFailureContext } from '../oauth-errors.js';
import { brokerErrorIn, responseIn, retryAfterOf } from './errors.js';
import { isLoopbackHttp } from './server-metadata.js';

export async function discoverServerMetadata(issuer: URL, fetch: CustomFetch, context: OAuthFailureContext, clock: Clock): Promise<ServerMetadata> {
  const options = { [customFetch]: fetch, execute: isLoopbackHttp(issuer) ? [allowInsecureRequests] : [] };
  try {
    // The client id is irrelevant here: only the server's metadata is kept.
    return (await discovery(issuer, 'metadata-only', undefined, undefined, options)).serverMetadata();
  } catch (oidcError) {
    if (brokerErrorIn(oidcError) !== undefined || !isNotFound(oidcError)) throw discoveryFailure(oidcError, issuer, context, clock.now());
    try {
      return (await discovery(issuer, 'metadata-only', undefined, undefined, { ...options, algorithm: 'oauth2' })).serverMetadata();
    } catch (oauthError) {
      throw discoveryFailure(oauthError, issuer, context, clock.now());
    }
  }
}

function isNotFound(error: unknown): boolean {
  const response = error instanceof Error ? error.cause : undefined;
  return typeof response === 'object' && response !== null && 'status' in response && response.status === 404;
}

function discoveryFailure(error: unknown, issuer: URL, context: OAuthFailureContext, now: number): BrokerError {
  const transport = brokerErrorIn(error);
  if (transport !== undefined) return transport;
  const response = responseIn(error instanceof Error ? error.cause : undefined);
  const retryAfterMs = retryAfterOf(response, now);
  if (response !== undefined && isThrottling(response.status, retryAfterMs)) {
    return classifyErrorAnswer({ httpStatus: response.status, retryAfterMs }, { ...context, request: `discovery request to ${issuer.host}` });
  }
  const reason = error instanceof Error ? error.message : String(error);
  const detail = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : '';
  const setting = `authorizationServers.${context.authorizationServer}`;
  return new BrokerError(`mailbox ${context.mailbox}: discovery of authorization server ${context.authorizationServer} at ${issuer.href} failed: ${reason}${detail}.`, {
    code: 'authorization_server_error',
    mailbox: context.mailbox,
    authorizationServer: context.authorizationServer,
    remediation: `Check ${setting}.issuer (it must be exactly the issuer the server's metadata names), or configure ${setting}.tokenEndpoint and the other endpoints instead. The broker retries.`,
    cause: error,
  });
}
