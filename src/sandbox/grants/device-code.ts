// grant_type=urn:ietf:params:oauth:grant-type:device_code: the client's poll.
// authorization_pending until a test approves the user code, then tokens once;
// declined and expired codes answer as Entra does.
import { randomUUID } from 'node:crypto';
import { entraErrors, isEntraError } from '../entra-errors.js';
import { userGrantErrors } from '../user-grant-errors.js';
import { applicationFor, authenticate, fail, param, userTokensGranted } from './grant-context.js';
import type { GrantContext, GrantOutcome, GrantRequest } from './grant-context.js';

export const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';
/** What msal-node sends (Entra accepts both spellings). */
export const DEVICE_CODE_SHORT = 'device_code';

export function deviceCodeGrant(context: GrantContext, request: GrantRequest): GrantOutcome {
  const { params, presented } = request;
  // msal-node sends `device_code` (RFC 8628); Entra's v1 endpoint took `code`.
  const deviceCode = param(params, 'device_code') ?? param(params, 'code');
  if (deviceCode === undefined) return fail(entraErrors.missingParameter('device_code'));

  const record = context.deviceCodes.findByDeviceCode(deviceCode);
  if (record === undefined || record.clientId.toLowerCase() !== presented.clientId.toLowerCase()) {
    return fail(userGrantErrors.deviceCodeUnknown());
  }
  const { state } = record;
  const user = state.kind === 'approved' || state.kind === 'redeemed' ? context.users.findByObjectId(state.userObjectId) : undefined;
  if (user !== undefined) context.stats.recordUser(user.username);
  const application = applicationFor(context, request, user?.tenantId ?? record.tenantId);
  if (isEntraError(application)) return fail(application);
  const authentication = authenticate(context, request, application, request.grantType);
  if (isEntraError(authentication)) return fail(authentication);

  if (context.clock.now() >= record.expiresAt) return fail(userGrantErrors.deviceCodeExpired());
  if (state.kind === 'pending') return fail(userGrantErrors.authorizationPending());
  if (state.kind === 'declined') return fail(userGrantErrors.authorizationDeclined());
  if (state.kind === 'redeemed' || user === undefined) return fail(userGrantErrors.codeRedeemed());

  record.state = { kind: 'redeemed', userObjectId: user.objectId };
  return userTokensGranted(context, request, {
    grantType: request.grantType,
    clientId: application.clientId,
    session: {
      clientId: application.clientId,
      tenantId: user.tenantId,
      userObjectId: user.objectId,
      scopes: record.scopes,
      // The person signed in at the verification page, second factor included.
      amr: user.kind === 'mfa' ? ['pwd', 'mfa'] : ['pwd'],
      sessionId: randomUUID(),
    },
    user,
    authentication,
  });
}
