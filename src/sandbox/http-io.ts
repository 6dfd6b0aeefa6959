// The few HTTP chores the endpoints share: reading a bounded body, writing
// JSON, HTML and redirects the way Entra does (UTF-8, never cached).
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';

/** Token requests are a few hundred bytes; anything near this is abuse or a bug. */
export const MAX_BODY_BYTES = 64 * 1024;

export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
}

export async function readBody(request: IncomingMessage, limit = MAX_BODY_BYTES): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  // Keep draining past the limit so the client sees our answer, not a reset.
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) tooLarge = true;
    else chunks.push(chunk);
  }
  if (tooLarge) throw new BodyTooLargeError(`request body exceeds ${limit} bytes`);
  return Buffer.concat(chunks).toString('utf8');
}

export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: OutgoingHttpHeaders = {},
): void {
  const payload = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    'cache-control': 'no-store, no-cache',
    pragma: 'no-cache',
    ...headers,
  });
  response.end(payload);
}

export function sendHtml(response: ServerResponse, status: number, html: string, headers: OutgoingHttpHeaders = {}): void {
  response.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
    'cache-control': 'no-store, no-cache',
    pragma: 'no-cache',
    ...headers,
  });
  response.end(html);
}

/** Entra answers authorization requests with 302 Found. */
export function sendRedirect(response: ServerResponse, location: string, headers: OutgoingHttpHeaders = {}): void {
  response.writeHead(302, { location, 'content-length': 0, 'cache-control': 'no-store, no-cache', pragma: 'no-cache', ...headers });
  response.end();
}

/** A form or query value, with empty meaning absent (as Entra reads them). */
export function nonEmpty(value: string | null | undefined): string | undefined {
  return value === null || value === undefined || value.length === 0 ? undefined : value;
}

/** The form body of a POST, parsed and as sent; undefined when an answer (413) was already sent. */
export async function readForm(request: IncomingMessage, response: ServerResponse): Promise<{ params: URLSearchParams; body: string } | undefined> {
  let body: string;
  try {
    body = await readBody(request);
  } catch (error) {
    if (error instanceof BodyTooLargeError) {
      sendJson(response, 413, { error: 'invalid_request', error_description: error.message });
      return undefined;
    }
    throw error;
  }
  return { params: isFormEncoded(request) ? new URLSearchParams(body) : new URLSearchParams(), body };
}

function isFormEncoded(request: IncomingMessage): boolean {
  const contentType = request.headers['content-type'] ?? '';
  return contentType.split(';')[0]?.trim().toLowerCase() === 'application/x-www-form-urlencoded';
}
