// The HTTP chores the endpoints share: a bounded form body, JSON answers the
// way Google sends them (never cached), and redirects.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';

const MAX_BODY_BYTES = 64 * 1024;

/** The form body, or an empty one when the body is not form-encoded or too large. */
export async function readForm(request: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  const contentType = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  if (size > MAX_BODY_BYTES || contentType !== 'application/x-www-form-urlencoded') return new URLSearchParams();
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

export function sendJson(response: ServerResponse, status: number, body: unknown, headers: OutgoingHttpHeaders = {}): void {
  const payload = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    'cache-control': 'no-cache, no-store, max-age=0, must-revalidate',
    pragma: 'no-cache',
    ...headers,
  });
  response.end(payload);
}

export function redirect(response: ServerResponse, location: URL): void {
  response.writeHead(302, { location: location.href, 'content-length': 0 });
  response.end();
}

/** `Authorization: Basic` credentials (form-decoded, RFC 6749 2.3.1), if sent. */
export function basicCredentials(request: IncomingMessage): { clientId: string; secret: string } | undefined {
  const header = request.headers.authorization;
  if (header === undefined || !/^basic /i.test(header)) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const decode = (value: string): string => decodeURIComponent(value.replaceAll('+', ' '));
  try {
    return { clientId: decode(decoded.slice(0, colon)), secret: decode(decoded.slice(colon + 1)) };
  } catch {
    return undefined;
  }
}
