// Every grant is created through here (registry.ts), so every failure a grant
// reports passes one scrubbing before the engine logs it, stores it as the
// mailbox's status or hands it to a gRPC caller: the secrets of the mailbox
// (configured, and those of the call: refresh token, PKCE verifier, code)
// and anything shaped like a secret parameter are taken out of every text of
// the BrokerError. A server or proxy that echoes the request (secrets and all)
// in its answer then shows nothing but its own words, error code and AADSTS
// number included.
import type { MailboxConfig } from '../../config/index.js';
import { BrokerError, redactBrokerError } from '../../errors/index.js';
import type { AuthorizationStart, Grant, GrantState, PendingAuthorization, TokenResult } from './grant.js';
import { SecretScrubber } from './secret-scrubber.js';

export function withSecretsScrubbed(grant: Grant, mailbox: MailboxConfig): Grant {
  /** Rethrows `error` scrubbed of the mailbox's configured secrets and `ofTheCall`. */
  const scrubbed =
    (ofTheCall: readonly (string | undefined)[]) =>
    (error: unknown): never => {
      throw scrubbedFailure(error, new SecretScrubber([...configuredSecrets(mailbox), ...ofTheCall]), mailbox);
    };
  const startAuthorization = grant.startAuthorization?.bind(grant);
  const completeAuthorization = grant.completeAuthorization?.bind(grant);
  return {
    type: grant.type,
    interactive: grant.interactive,
    acquire: (state: GrantState): Promise<TokenResult> => grant.acquire(state).catch(scrubbed([state.refreshToken])),
    ...(startAuthorization === undefined
      ? {}
      : {
          startAuthorization: async (): Promise<AuthorizationStart> => {
            const start = await startAuthorization().catch(scrubbed([]));
            if (start.kind !== 'device-code') return start;
            // The device code itself never leaves the grant: the parameter rule finds it in an echo.
            return { ...start, completion: start.completion.catch(scrubbed([])), cancel: () => start.cancel() };
          },
        }),
    ...(completeAuthorization === undefined
      ? {}
      : {
          completeAuthorization: (pending: PendingAuthorization, callbackUrl: URL): Promise<TokenResult> =>
            completeAuthorization(pending, callbackUrl).catch(scrubbed([pending.codeVerifier, callbackUrl.searchParams.get('code') ?? undefined])),
        }),
  };
}

/**
 * The secrets a request for this mailbox may carry. The certificate's
 * private key is not among them: it signs locally and is never sent.
 */
function configuredSecrets(mailbox: MailboxConfig): (string | undefined)[] {
  return [mailbox.clientSecret?.reveal(), mailbox.password?.reveal(), mailbox.certificate?.password?.reveal(), mailbox.proxy?.password?.reveal()];
}

function scrubbedFailure(error: unknown, scrubber: SecretScrubber, mailbox: MailboxConfig): BrokerError {
  const scrub = (text: string): string => scrubber.scrub(text);
  if (error instanceof BrokerError) return redactBrokerError(error, scrub);
  // Grants throw BrokerErrors; anything else is a bug, whose message may still quote an answer.
  return redactBrokerError(
    new BrokerError(`mailbox ${mailbox.name}: the ${mailbox.grantType} grant failed unexpectedly: ${error instanceof Error ? error.message : String(error)}`, {
      code: 'internal',
      mailbox: mailbox.name,
      authorizationServer: mailbox.authorizationServer.name,
      remediation: 'This is unexpected; the broker retries. If it persists, report it with the log lines around it.',
      cause: error,
    }),
    scrub,
  );
}
