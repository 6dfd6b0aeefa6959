// One HTTP seam (undici) for every request to an authorization server.
export { HttpTransport } from './http-transport.js';
export type { HttpRequest, HttpResponse, HttpTransportOptions, ProxyRoute, RouteOptions } from './http-transport.js';
export { classifyTransportError, transportFailureCode } from './transport-errors.js';
export type { TransportErrorContext } from './transport-errors.js';
export { MAX_RETRY_AFTER_MS, parseRetryAfter } from './retry-after.js';
