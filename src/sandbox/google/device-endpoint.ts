// POST /device/code: Google's device authorization, answered with Google's
// own field name `verification_url` (not RFC 8628's verification_uri), and
// Google's rule that only a few scopes may be asked for this way.
import type { GoogleContext, JsonAnswer } from './context.js';
import { googleErrors } from './google-errors.js';
import { DEVICE_CODE_LIFETIME_SECONDS } from './issued.js';

/** Google's list for "TVs and Limited Input devices" is short; Gmail's scope is not on it. */
export const DEVICE_FLOW_SCOPES: readonly string[] = [
  'openid',
  'email',
  'profile',
  'https://www.googleapis.com/auth/userinfo.email',
  'https://www.googleapis.com/auth/userinfo.profile',
  'https://www.googleapis.com/auth/drive.file',
  'https://www.googleapis.com/auth/drive.appdata',
  'https://www.googleapis.com/auth/youtube',
  'https://www.googleapis.com/auth/youtube.readonly',
];

export function handleDeviceCode(context: GoogleContext, params: URLSearchParams): JsonAnswer {
  const clientId = params.get('client_id');
  if (clientId === null) return { status: 400, body: googleErrors.noClientId().body };
  if (context.directory.client(clientId) === undefined) return answer(googleErrors.clientNotFound());
  const scope = params.get('scope')?.trim() ?? '';
  if (scope === '') return answer(googleErrors.missingParameter('scope'));
  const refused = scope.split(/\s+/).filter((each) => !DEVICE_FLOW_SCOPES.includes(each));
  if (refused.length > 0) return answer(googleErrors.invalidScope(refused));
  const { deviceCode, code } = context.issued.issueDeviceCode(clientId, scope);
  return {
    status: 200,
    body: {
      device_code: deviceCode,
      user_code: code.userCode,
      expires_in: DEVICE_CODE_LIFETIME_SECONDS,
      interval: context.deviceCodeIntervalSeconds,
      verification_url: `${context.url()}/device`,
    },
  };
}

function answer(error: { status: number; body: object }): JsonAnswer {
  return { status: error.status, body: error.body };
}
