// How the token endpoint recognizes an OAuth client: client_secret_post or
// client_secret_basic, and no secret for a client registered without one.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Directory } from './directory.js';
import { googleErrors } from './google-errors.js';
import type { GoogleError } from './google-errors.js';
import type { GoogleClientRegistration } from './types.js';

export interface ClientCredentials {
  readonly clientId: string | undefined;
  readonly secret: string | undefined;
}

export function credentialsOf(params: URLSearchParams, basic: { clientId: string; secret: string } | undefined): ClientCredentials {
  if (basic !== undefined) return { clientId: basic.clientId, secret: basic.secret };
  return { clientId: params.get('client_id') ?? undefined, secret: params.get('client_secret') ?? undefined };
}

export function authenticateClient(directory: Directory, credentials: ClientCredentials): GoogleClientRegistration | GoogleError {
  if (credentials.clientId === undefined) return googleErrors.noClientId();
  const client = directory.client(credentials.clientId);
  if (client === undefined) return googleErrors.clientNotFound();
  if (client.clientSecret === undefined) return client;
  if (credentials.secret === undefined) return googleErrors.missingSecret();
  return sameText(credentials.secret, client.clientSecret) ? client : googleErrors.wrongSecret();
}

function sameText(a: string, b: string): boolean {
  // Hashing first gives equal lengths, so the comparison time says nothing about the secret.
  const digest = (value: string): Buffer => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(a), digest(b));
}

export function isGoogleError(value: object): value is GoogleError {
  return 'status' in value && 'body' in value;
}
