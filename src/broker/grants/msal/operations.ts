// The msal-node calls the Microsoft user grants share: each runs on a fresh
// application (so its cache holds exactly this call's refresh token), maps
// failures to BrokerErrors, and returns our TokenResult.
import type { ConfidentialClientApplication, PublicClientApplication } from '@azure/msal-node';
import type { MailboxConfig } from '../../../config/index.js';
import { BrokerError } from '../../../errors/index.js';
import { warnIfCertificateExpiring } from '../certificate-expiry.js';
import type { GrantDependencies, TokenResult } from '../grant.js';
import { routeFor } from '../route.js';
import { confidentialCredentialOf, createConfidentialClient, createPublicClient } from './applications.js';
import type { MsalContext } from './applications.js';
import { fromMsalError } from './errors.js';
import { refreshTokenFromCache, toTokenResult } from './results.js';

export type UserApplication = PublicClientApplication | ConfidentialClientApplication;

export class MsalUserOperations {
  readonly #mailbox: MailboxConfig;
  readonly #context: MsalContext;
  readonly #dependencies: GrantDependencies;

  constructor(mailbox: MailboxConfig, dependencies: GrantDependencies, options: { tenant: string; useProxy?: boolean }) {
    const route = routeFor(mailbox);
    this.#mailbox = mailbox;
    this.#dependencies = dependencies;
    this.#context = {
      mailbox,
      tenant: options.tenant,
      transport: dependencies.transport,
      route: options.useProxy === false ? { ...route, proxy: undefined } : route,
      logger: dependencies.logger,
      clock: dependencies.clock,
    };
  }

  /** A public client when the mailbox has no client credential, else a confidential one. */
  application(): UserApplication {
    warnIfCertificateExpiring(this.#mailbox, this.#dependencies);
    const credential = confidentialCredentialOf(this.#mailbox);
    return credential === undefined ? createPublicClient(this.#context) : createConfidentialClient(this.#context, credential);
  }

  publicApplication(): PublicClientApplication {
    return createPublicClient(this.#context);
  }

  /** Runs one msal call on `application` and converts its outcome. */
  async run(
    application: UserApplication,
    call: (application: UserApplication) => Promise<Parameters<typeof toTokenResult>[1]>,
  ): Promise<TokenResult> {
    let result;
    try {
      result = await call(application);
    } catch (error) {
      throw this.failure(error);
    }
    return toTokenResult(this.#mailbox, result, result === null ? undefined : refreshTokenFromCache(application, result));
  }

  refresh(refreshToken: string): Promise<TokenResult> {
    return this.run(this.application(), (application) =>
      application.acquireTokenByRefreshToken({ refreshToken, scopes: [...this.#mailbox.scopes], forceCache: true }),
    );
  }

  failure(error: unknown): BrokerError {
    return fromMsalError(error, {
      mailbox: this.#mailbox.name,
      authorizationServer: this.#mailbox.authorizationServer.name,
      grantType: this.#mailbox.grantType,
    });
  }
}

/** The error for an interactive mailbox that has no refresh token (never authorized, or revoked). */
export function needsAuthorization(mailbox: MailboxConfig, why: string): BrokerError {
  return new BrokerError(`mailbox ${mailbox.name}: ${why}`, {
    code: 'needs_authorization',
    permanent: true,
    mailbox: mailbox.name,
    authorizationServer: mailbox.authorizationServer.name,
    remediation: `Run: token-broker authorize ${mailbox.name}`,
  });
}
