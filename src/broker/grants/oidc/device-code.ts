// Device authorization (RFC 8628) on google- and generic-type servers: the
// broker shows a user code, the operator enters it on any device, and the
// grant polls until the sign-in is done, the code expires or it is cancelled.
import { initiateDeviceAuthorization, pollDeviceAuthorizationGrant } from 'openid-client';
import type { DeviceAuthorizationResponse } from 'openid-client';
import type { MailboxConfig } from '../../../config/index.js';
import { BrokerError } from '../../../errors/index.js';
import type { AuthorizationStart, Grant, GrantDependencies, GrantState, TokenResult } from '../grant.js';
import { authorizeCommand } from './grant-errors.js';
import { OidcClient } from './oidc-client.js';
import { refreshAccessToken } from './refresh.js';

export function oidcDeviceCodeGrant(mailbox: MailboxConfig, dependencies: GrantDependencies): Grant {
  const client = new OidcClient(mailbox, dependencies);
  return {
    type: 'device-code',
    interactive: true,
    acquire: (state: GrantState): Promise<TokenResult> => refreshAccessToken(client, state),

    async startAuthorization(): Promise<AuthorizationStart> {
      const configuration = await client.configuration();
      let device: DeviceAuthorizationResponse;
      try {
        device = await initiateDeviceAuthorization(configuration, { scope: mailbox.scopes.join(' ') });
      } catch (error) {
        throw await client.failure(error);
      }
      const cancelled = new AbortController();
      const expired = AbortSignal.timeout(device.expires_in * 1000);
      const completion = pollDeviceAuthorizationGrant(configuration, device, undefined, { signal: AbortSignal.any([cancelled.signal, expired]) }).then(
        (response) => client.tokenResult(response, { keepsRefreshToken: true }),
        async (error: unknown) => {
          // Checked first: an abort in the middle of a request also surfaces as our transport's timeout error.
          if (cancelled.signal.aborted) throw stopped(mailbox, 'was cancelled (a newer authorization replaced it, or the broker is shutting down)');
          if (expired.aborted) throw stopped(mailbox, 'expired before the sign-in was finished');
          throw await client.failure(error);
        },
      );
      // The engine may drop a cancelled authorization without awaiting it; its
      // rejection must not become an unhandled one. Awaiting callers still see it.
      completion.catch(() => undefined);
      return {
        kind: 'device-code',
        userCode: device.user_code,
        verificationUri: device.verification_uri,
        ...(typeof device['message'] === 'string' ? { message: device['message'] } : {}),
        expiresAt: dependencies.clock.now() + device.expires_in * 1000,
        completion,
        cancel: () => cancelled.abort(),
      };
    },
  };
}

function stopped(mailbox: MailboxConfig, what: string): BrokerError {
  return new BrokerError(`mailbox ${mailbox.name}: the device authorization ${what}.`, {
    code: 'needs_authorization',
    permanent: true,
    mailbox: mailbox.name,
    authorizationServer: mailbox.authorizationServer.name,
    remediation: authorizeCommand(mailbox),
  });
}
