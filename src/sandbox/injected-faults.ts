// The token endpoint's `faultNext`: answers no OAuth server should send
// (a maintenance page, half a body, the request quoted back with its
// secrets) and answers that never come, so tests see how a client copes with
// the faults found in the field, not only with well-formed refusals.
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { renderEntraError } from './entra-errors.js';
import type { ErrorContext } from './entra-errors.js';
import { sendJson } from './http-io.js';
import type { InjectedFault } from './types.js';

interface Pending {
  readonly fault: InjectedFault;
  remaining: number;
}

export class FaultQueue {
  readonly #pending: Pending[] = [];

  push(fault: InjectedFault): void {
    checkFault(fault);
    this.#pending.push({ fault: { ...fault }, remaining: fault.count ?? 1 });
  }

  /** The fault for this request, if any is queued. */
  take(): InjectedFault | undefined {
    const head = this.#pending[0];
    if (head === undefined) return undefined;
    head.remaining -= 1;
    if (head.remaining <= 0) this.#pending.shift();
    return head.fault;
  }
}

/** The token request as it arrived, for the fault that quotes it back. */
export interface ReceivedRequest {
  /** The body as sent, not re-encoded. */
  readonly body: string;
  readonly authorization: string | undefined;
}

export function answerWithFault(response: ServerResponse, fault: InjectedFault, request: ReceivedRequest, errorContext: ErrorContext): void {
  switch (fault.kind) {
    case 'answer': {
      const status = fault.status ?? 200;
      response.writeHead(status, {
        'content-type': fault.contentType ?? 'text/html; charset=utf-8',
        'content-length': Buffer.byteLength(fault.body),
        'cache-control': 'no-store, no-cache',
      });
      response.end(fault.body);
      return;
    }
    case 'close':
      response.destroy();
      return;
    case 'truncate': {
      const body = JSON.stringify({ token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: randomBytes(600).toString('base64url') });
      response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store, no-cache' });
      // Half the body reaches the client before the connection ends, as when a gateway dies mid-answer.
      response.write(body.slice(0, body.length >> 1), () => response.destroy());
      return;
    }
    case 'echo': {
      const quoted = `${request.body}${request.authorization === undefined ? '' : ` (Authorization: ${request.authorization})`}`;
      const status = fault.status ?? 400;
      const body = renderEntraError({ status, error: fault.error ?? 'invalid_request', aadsts: 900144, message: `The request could not be processed: ${quoted}` }, errorContext);
      sendJson(response, status, { ...body, error_uri: `${body.error_uri}&request=${encodeURIComponent(request.body)}` });
      return;
    }
    default: {
      const unknown: never = fault;
      throw new TypeError(`unknown fault kind ${String((unknown as { kind?: unknown }).kind)}`);
    }
  }
}

function checkFault(fault: InjectedFault): void {
  if (fault.count !== undefined && (!Number.isInteger(fault.count) || fault.count < 1)) {
    throw new RangeError(`"count" must be a positive integer, got ${String(fault.count)}`);
  }
  if (fault.kind === 'answer' && typeof fault.body !== 'string') throw new TypeError('"body" must be a string');
  if (fault.kind === 'echo' && fault.error !== undefined && (typeof fault.error !== 'string' || fault.error.length === 0)) {
    throw new TypeError('"error" must be a non-empty string');
  }
  if ((fault.kind === 'answer' || fault.kind === 'echo') && fault.status !== undefined && (!Number.isInteger(fault.status) || fault.status < 200 || fault.status > 599)) {
    throw new RangeError(`"status" must be an HTTP status (200-599), got ${String(fault.status)}`);
  }
  if (!['answer', 'close', 'truncate', 'echo'].includes(fault.kind)) {
    throw new TypeError(`"kind" must be answer, close, truncate or echo, got ${String((fault as { kind?: unknown }).kind)}`);
  }
}
