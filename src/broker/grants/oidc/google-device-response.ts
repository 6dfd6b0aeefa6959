// Google's device authorization answer names the verification address
// `verification_url` (its pre-RFC 8628 name) instead of `verification_uri`,
// which openid-client requires. This wraps the fetch so that one answer gains
// the standard name; every other request passes untouched.
import type { CustomFetch } from 'openid-client';

export function withGoogleDeviceResponseFix(fetch: CustomFetch, deviceAuthorizationEndpoint: string | undefined): CustomFetch {
  if (deviceAuthorizationEndpoint === undefined) return fetch;
  const endpoint = new URL(deviceAuthorizationEndpoint).href;
  return async (url, options) => {
    const response = await fetch(url, options);
    if (response.status !== 200 || new URL(url).href !== endpoint) return response;
    const text = await response.text();
    return new Response(withVerificationUri(text), { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}

/** The body with `verification_uri` copied from `verification_url` when only the latter is there. */
export function withVerificationUri(body: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return body;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return body;
  const fields = parsed as Record<string, unknown>;
  if (fields['verification_uri'] !== undefined || typeof fields['verification_url'] !== 'string') return body;
  return JSON.stringify({ ...fields, verification_uri: fields['verification_url'] });
}
