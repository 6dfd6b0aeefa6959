// How the authorize endpoint reports problems: Entra's HTML error page when
// the redirect URI cannot be trusted, else the OAuth error parameters it
// appends to the redirect. Both carry the AADSTS line of the JSON errors.
import { renderEntraError } from './entra-errors.js';
import type { EntraError, ErrorContext } from './entra-errors.js';

export function renderEntraErrorPage(failure: EntraError, context: ErrorContext): { readonly html: string; readonly traceId: string } {
  const body = renderEntraError(failure, context);
  const [summary = ''] = body.error_description.split('\r\n');
  const html =
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Sign in to your account</title></head>\n<body>\n' +
    '<h1>Sign in</h1>\n<p>Sorry, but we\u2019re having trouble signing you in.</p>\n' +
    `<p id="error" data-error="${escapeHtml(body.error)}" data-error-code="${failure.aadsts}">${escapeHtml(summary)}</p>\n` +
    '<dl>\n' +
    `<dt>Request Id</dt><dd>${body.trace_id}</dd>\n` +
    `<dt>Correlation Id</dt><dd>${body.correlation_id}</dd>\n` +
    `<dt>Timestamp</dt><dd>${body.timestamp}</dd>\n` +
    `<dt>More information</dt><dd><a href="${escapeHtml(body.error_uri)}">${escapeHtml(body.error_uri)}</a></dd>\n` +
    '</dl>\n</body></html>\n';
  return { html, traceId: body.trace_id };
}

/** The parameters of an error redirect: `error`, `error_description` (with the trace lines), `error_uri`, `state`. */
export function errorRedirectParams(failure: EntraError, context: ErrorContext, state: string | undefined): Record<string, string> {
  const body = renderEntraError(failure, context);
  const params: Record<string, string> = {
    error: body.error,
    error_description: body.error_description,
    error_uri: body.error_uri,
  };
  if (state !== undefined) params['state'] = state;
  return params;
}

/** The page quotes request values (a redirect URI, a tenant): never let them become markup. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}
