// GET /o/oauth2/v2/auth: Google's consent screen with nobody at it. The
// login_hint user (or the only user) signs in and consents at once, and the
// browser is sent back with code, state and scope. Problems Google shows as
// an error page (unknown client, unregistered redirect URI) are answered as
// JSON instead of redirecting, as Google never redirects to an unknown URI.
import type { GoogleContext } from './context.js';
import { googleErrors } from './google-errors.js';
import type { GoogleError } from './google-errors.js';

export type AuthorizeAnswer = { readonly kind: 'redirect'; readonly location: URL } | { readonly kind: 'page'; readonly error: GoogleError };

export function handleAuthorize(context: GoogleContext, query: URLSearchParams): AuthorizeAnswer {
  const page = (error: GoogleError): AuthorizeAnswer => ({ kind: 'page', error });
  const clientId = query.get('client_id');
  if (clientId === null) return page(googleErrors.missingParameter('client_id'));
  const client = context.directory.client(clientId);
  if (client === undefined) return page(googleErrors.clientNotFound());
  const redirectUri = query.get('redirect_uri');
  if (redirectUri === null) return page(googleErrors.missingParameter('redirect_uri'));
  if (!client.redirectUris.includes(redirectUri)) return page(googleErrors.redirectUriMismatch());
  const scope = query.get('scope');
  if (scope === null || scope.trim() === '') return page(googleErrors.missingParameter('scope'));
  const method = query.get('code_challenge_method') ?? 'plain';
  if (query.has('code_challenge') && method !== 'S256' && method !== 'plain') return page(googleErrors.missingParameter('code_challenge_method'));

  const back = new URL(redirectUri);
  const state = query.get('state');
  if (state !== null) back.searchParams.set('state', state);
  const answer = (parameters: Record<string, string>): AuthorizeAnswer => {
    for (const [name, value] of Object.entries(parameters)) back.searchParams.set(name, value);
    return { kind: 'redirect', location: back };
  };
  if (query.get('response_type') !== 'code') return answer({ error: 'unsupported_response_type' });
  const hint = query.get('login_hint');
  const user = hint === null ? context.directory.soleUser() : context.directory.hasUser(hint) ? hint.toLowerCase() : undefined;
  if (user === undefined) return answer({ error: 'access_denied' });

  const code = context.issued.issueCode({
    clientId,
    redirectUri,
    user,
    scope,
    codeChallenge: query.get('code_challenge') ?? undefined,
    codeChallengeMethod: method,
    // Google's rule: a refresh token only for offline access.
    offline: query.get('access_type') === 'offline',
  });
  return answer({ code, scope, authuser: '0', prompt: 'consent' });
}
