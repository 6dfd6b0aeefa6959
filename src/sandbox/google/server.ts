// A standalone, Google-shaped HTTPS authorization server for the broker's
// tests: routes Google's paths to the endpoint modules and owns the
// lifecycle. It imports nothing from the broker (only the sandbox's own PKI).
import { createServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createTlsMaterial } from '../certificates.js';
import { FailureQueue, retryAfterHeader } from '../failures.js';
import { SecretsSeen } from '../secrets-seen.js';
import { handleAuthorize } from './authorize-endpoint.js';
import type { GoogleContext } from './context.js';
import { handleDeviceCode } from './device-endpoint.js';
import { Directory } from './directory.js';
import { basicCredentials, readForm, redirect, sendJson } from './http.js';
import { Issued } from './issued.js';
import { TokenStats } from './stats.js';
import { checkInjectedFailure, injectedAnswer, throttleFailure } from './injected-failures.js';
import { handleToken } from './token-endpoint.js';
import type { GoogleInjectedFailure, GoogleSandbox, GoogleSandboxOptions, TokenRequestEvent } from './types.js';
import { close, listen } from '../listening.js';

export const GOOGLE_PATHS = { authorize: '/o/oauth2/v2/auth', token: '/token', device: '/device/code' } as const;

export async function startGoogleSandbox(options: GoogleSandboxOptions = {}): Promise<GoogleSandbox> {
  const lifetime = options.accessTokenLifetimeSeconds ?? 3599;
  const interval = options.deviceCodeIntervalSeconds ?? 5;
  const refreshLifetime = options.refreshTokenLifetimeSeconds;
  const checked: [string, number][] = [['accessTokenLifetimeSeconds', lifetime], ['deviceCodeIntervalSeconds', interval]];
  if (refreshLifetime !== undefined) checked.push(['refreshTokenLifetimeSeconds', refreshLifetime]);
  for (const [name, value] of checked) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`"${name}" must be a positive integer, got ${String(value)}`);
  }
  const clock = options.clock ?? { now: () => Date.now() };
  let url = '';
  const context: GoogleContext = {
    directory: new Directory(),
    issued: new Issued(clock),
    stats: new TokenStats(),
    clock,
    accessTokenLifetimeSeconds: lifetime,
    refreshTokenLifetimeSeconds: refreshLifetime,
    deviceCodeIntervalSeconds: interval,
    url: () => url,
    secretsSeen: new SecretsSeen(),
  };

  const failures = new FailureQueue<GoogleInjectedFailure>(checkInjectedFailure);
  const tls = await createTlsMaterial(Date.now(), options.hostnames ?? []);
  const server = createServer({ key: tls.serverKeyPem, cert: tls.serverCertificatePem }, (request, response) => {
    route(request, response, context, failures, options.onTokenRequest).catch((error: unknown) => {
      if (!response.headersSent) sendJson(response, 500, { error: 'internal_failure', error_description: String(error) });
      else response.destroy();
    });
  });
  const port = await listen(server, options.port ?? 0, options.host ?? '127.0.0.1');
  url = `https://localhost:${port}`;

  return {
    url,
    endpoints: { authorizationEndpoint: `${url}${GOOGLE_PATHS.authorize}`, tokenEndpoint: `${url}${GOOGLE_PATHS.token}`, deviceAuthorizationEndpoint: `${url}${GOOGLE_PATHS.device}` },
    caCertificatePem: tls.caCertificatePem,
    registerClient: (client) => context.directory.registerClient(client),
    registerServiceAccount: (account) => context.directory.registerServiceAccount(account),
    registerUser: (email) => context.directory.registerUser(email),
    approveDeviceCode: (userCode, email) => context.directory.hasUser(email) && context.issued.approveDeviceCode(userCode, email.toLowerCase()),
    revokeRefreshTokens: (email) => context.issued.revokeRefreshTokens(email),
    stats: context.stats,
    failNext: (failure) => failures.push(failure),
    throttleNext: (throttle) => failures.push(throttleFailure(throttle)),
    verifyAccessToken: (token) => context.issued.accessToken(token),
    secretsSeen: () => context.secretsSeen.list(),
    close: () => close(server),
  };
}

async function route(
  request: IncomingMessage,
  response: ServerResponse,
  context: GoogleContext,
  failures: FailureQueue<GoogleInjectedFailure>,
  onTokenRequest: ((event: TokenRequestEvent) => void) | undefined,
): Promise<void> {
  const requestUrl = new URL(request.url ?? '/', context.url());
  const method = request.method ?? 'GET';
  const path = requestUrl.pathname;
  if (path === GOOGLE_PATHS.authorize && method === 'GET') {
    const answer = handleAuthorize(context, requestUrl.searchParams);
    if (answer.kind === 'redirect') context.secretsSeen.add('authorization_code', new URL(answer.location).searchParams.get('code'));
    return answer.kind === 'redirect' ? redirect(response, answer.location) : sendJson(response, answer.error.status, answer.error.body);
  }
  if (path === GOOGLE_PATHS.token && method === 'POST') {
    const params = await readForm(request);
    context.secretsSeen.fromRequest(params, request.headers.authorization);
    const basic = basicCredentials(request);
    const grantType = params.get('grant_type') ?? undefined;
    const clientId = basic?.clientId ?? params.get('client_id') ?? undefined;
    context.stats.record(grantType, clientId);
    const injected = failures.take();
    const answer = injected === undefined ? handleToken(context, { params, basic }) : injectedAnswer(injected);
    context.secretsSeen.fromAnswer(answer.body);
    sendJson(response, answer.status, answer.body, injected === undefined ? {} : retryAfterHeader(injected));
    const error = 'error' in answer.body && typeof answer.body.error === 'string' ? answer.body.error : undefined;
    onTokenRequest?.({ grantType, clientId, error });
    return;
  }
  if (path === GOOGLE_PATHS.device && method === 'POST') {
    const answer = handleDeviceCode(context, await readForm(request));
    context.secretsSeen.fromAnswer(answer.body);
    return sendJson(response, answer.status, answer.body);
  }
  return sendJson(response, 404, { error: 'not_found', error_description: `no sandbox endpoint for ${method} ${path}` });
}
