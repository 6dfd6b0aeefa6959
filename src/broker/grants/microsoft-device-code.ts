// Device code on Microsoft Entra ID (our addition, for headless servers): the
// broker shows a code, the operator enters it on another device, msal-node
// polls until the sign-in is done. Always a public client flow on Entra.
import type { DeviceCodeRequest } from '@azure/msal-node';
import type { MailboxConfig } from '../../config/index.js';
import type { AuthorizationStart, Grant, GrantDependencies, GrantState, TokenResult } from './grant.js';
import { MsalUserOperations, needsAuthorization } from './msal/operations.js';

export function microsoftDeviceCodeGrant(mailbox: MailboxConfig, dependencies: GrantDependencies, tenant: string): Grant {
  const operations = new MsalUserOperations(mailbox, dependencies, { tenant });
  return {
    type: 'device-code',
    interactive: true,
    async acquire(state: GrantState): Promise<TokenResult> {
      if (state.refreshToken === undefined) throw needsAuthorization(mailbox, 'no refresh token yet: the mailbox has not been authorized.');
      return operations.refresh(state.refreshToken);
    },
    startAuthorization(): Promise<AuthorizationStart> {
      const application = operations.publicApplication();
      // msal polls until this flag is set; it is read on every poll.
      const request: DeviceCodeRequest & { cancel: boolean } = {
        scopes: [...mailbox.scopes],
        cancel: false,
        deviceCodeCallback: () => undefined,
      };
      return new Promise<AuthorizationStart>((resolve, reject) => {
        request.deviceCodeCallback = (response) => {
          resolve({
            kind: 'device-code',
            userCode: response.userCode,
            verificationUri: response.verificationUri,
            message: response.message,
            expiresAt: dependencies.clock.now() + response.expiresIn * 1000,
            completion,
            cancel: () => {
              request.cancel = true;
            },
          });
        };
        const completion = operations.run(application, () => application.acquireTokenByDeviceCode(request));
        // Before the callback fired, a failure means the code was never issued.
        completion.catch(reject);
      });
    },
  };
}
