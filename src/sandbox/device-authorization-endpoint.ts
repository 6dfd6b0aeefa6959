// POST /{tenant}/oauth2/v2.0/devicecode: starts a device authorization (RFC
// 8628) with Entra's answer fields and message; the user side is simulated by
// Sandbox.approveDeviceCode / declineDeviceCode.
import { DEVICE_CODE_LIFETIME_SECONDS } from './device-codes.js';
import type { DeviceCodeStore } from './device-codes.js';
import type { Directory } from './directory.js';
import { GENERAL_AUDIENCES } from './directory.js';
import { entraErrors, isEntraError } from './entra-errors.js';
import type { EntraError } from './entra-errors.js';
import { nonEmpty } from './http-io.js';
import { parseUserScopes } from './scopes.js';
import type { TokenRequestStats } from './stats.js';
import type { SandboxClock } from './types.js';

export interface DeviceAuthorizationContext {
  readonly directory: Directory;
  readonly stats: TokenRequestStats;
  readonly clock: SandboxClock;
  readonly deviceCodes: DeviceCodeStore;
  readonly authorityUrl: string;
  readonly deviceCodeIntervalSeconds: number;
}

export interface DeviceAuthorizationBody {
  user_code: string;
  device_code: string;
  verification_uri: string;
  expires_in: number;
  interval: number;
  message: string;
}

export type DeviceAuthorizationOutcome =
  | { readonly kind: 'success'; readonly body: DeviceAuthorizationBody }
  | { readonly kind: 'error'; readonly error: EntraError };

export function handleDeviceAuthorization(
  context: DeviceAuthorizationContext,
  tenant: string,
  params: URLSearchParams,
): DeviceAuthorizationOutcome {
  context.stats.recordDeviceCode();
  const general = GENERAL_AUDIENCES.has(tenant.toLowerCase());
  const tenantId = general ? undefined : context.directory.tenantId(tenant);
  if (!general && tenantId === undefined) return fail(entraErrors.tenantNotFound(tenant));
  const clientId = nonEmpty(params.get('client_id'));
  if (clientId === undefined) return fail(entraErrors.missingParameter('client_id'));
  const scope = nonEmpty(params.get('scope'));
  if (scope === undefined) return fail(entraErrors.missingParameter('scope'));
  const application =
    tenantId === undefined ? context.directory.findApplicationAnywhere(clientId) : context.directory.findApplication(tenantId, clientId);
  if (application === undefined) return fail(entraErrors.applicationNotFound(clientId, tenant));
  const scopes = parseUserScopes(scope);
  if (isEntraError(scopes)) return fail(scopes);

  const record = context.deviceCodes.issue({ clientId: application.clientId, tenantId, scopes }, context.clock.now());
  const verificationUri = `${context.authorityUrl}/devicelogin`;
  return {
    kind: 'success',
    body: {
      user_code: record.userCode,
      device_code: record.deviceCode,
      verification_uri: verificationUri,
      expires_in: DEVICE_CODE_LIFETIME_SECONDS,
      interval: context.deviceCodeIntervalSeconds,
      message: `To sign in, use a web browser to open the page ${verificationUri} and enter the code ${record.userCode} to authenticate.`,
    },
  };
}

function fail(error: EntraError): DeviceAuthorizationOutcome {
  return { kind: 'error', error };
}
