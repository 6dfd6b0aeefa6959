// The browser half of authorization-code: the parameters of the
// authorization URL (PKCE S256, state, Google's offline access), and the
// checks on the URL the operator pastes back before any code is redeemed.
import type { MailboxConfig } from '../../../config/index.js';
import type { BrokerError } from '../../../errors/index.js';
import type { PendingAuthorization } from '../grant.js';
import { foreignCallback } from './grant-errors.js';

export interface AuthorizationParameterInput {
  readonly google: boolean;
  readonly redirectUri: string;
  readonly scopes: readonly string[];
  readonly state: string;
  readonly codeChallenge: string;
  /** The mailbox user: pre-fills the sign-in so the operator does not authorize the wrong account. */
  readonly loginHint: string;
}

export function authorizationParameters(input: AuthorizationParameterInput): Record<string, string> {
  return {
    response_type: 'code',
    redirect_uri: input.redirectUri,
    scope: input.scopes.join(' '),
    state: input.state,
    code_challenge: input.codeChallenge,
    code_challenge_method: 'S256',
    login_hint: input.loginHint,
    // Google issues a refresh token only for offline access, and only on the
    // first consent unless consent is asked for again: a re-authorization
    // without prompt=consent would leave the broker with no refresh token.
    ...(input.google ? { access_type: 'offline', prompt: 'consent' } : {}),
  };
}

/**
 * The redirect URI as sent: openid-client derives the token request's
 * redirect_uri from the callback URL's href, so both must be in URL's
 * normalized form (a bare origin gains its "/") or the server sees a mismatch.
 */
export function normalizedRedirectUri(redirectUri: string): string {
  return new URL(redirectUri).href;
}

/**
 * The callback openid-client should process: the pasted URL's parameters on
 * the redirect URI of the pending authorization, so a browser's cosmetic
 * change to the address (host case, a trailing slash) cannot break the
 * redirect_uri match. Refuses a URL without our state or without a code.
 */
export function callbackFor(mailbox: MailboxConfig, pending: PendingAuthorization, pasted: URL): URL | BrokerError {
  const state = pasted.searchParams.get('state');
  if (state === null) return foreignCallback(mailbox, 'it has no "state" parameter');
  if (state !== pending.state) return foreignCallback(mailbox, 'its "state" differs');
  if (!pasted.searchParams.has('code') && !pasted.searchParams.has('error')) {
    return foreignCallback(mailbox, 'it carries neither an authorization code nor an error; it may be the authorization URL itself');
  }
  const callback = new URL(pending.redirectUri);
  callback.search = pasted.search;
  return callback;
}
