// One mailbox's connection to a google- or generic-type server through
// openid-client: the Configuration (metadata, client authentication, our
// fetch) built lazily on first use and kept for the grant's lifetime, plus
// the pieces every grant shares: failure mapping and token results.
import { allowInsecureRequests, Configuration, customFetch } from 'openid-client';
import type { ClientAuth, ServerMetadata, TokenEndpointResponse } from 'openid-client';
import type { MailboxConfig } from '../../../config/index.js';
import { BrokerError } from '../../../errors/index.js';
import type { GrantDependencies, TokenResult } from '../grant.js';
import { classifyOAuthError } from '../oauth-errors.js';
import type { OAuthFailureContext } from '../oauth-errors.js';
import { routeFor } from '../route.js';
import { clientAuthentication, clientAuthMethod } from './client-authentication.js';
import { customFetchFor } from './custom-fetch.js';
import { discoverServerMetadata } from './discovery.js';
import { fromOpenIdClientError } from './errors.js';
import type { OAuthClassifier } from './errors.js';
import { withGoogleDeviceResponseFix } from './google-device-response.js';
import { classifyGoogleOAuthError } from './google-errors.js';
import { metadataSource, usesLoopbackHttp, withOverrides } from './server-metadata.js';
import { toTokenResult } from './token-result.js';

export interface OidcClientOptions {
  /**
   * Replaces the mailbox's own client authentication (secret, certificate):
   * the service-account grant authenticates with its assertion alone.
   */
  readonly clientAuthentication?: ClientAuth;
  /** How the server's error answers are explained; default by server type. */
  readonly classify?: OAuthClassifier;
}

export class OidcClient {
  readonly mailbox: MailboxConfig;
  readonly context: OAuthFailureContext;
  readonly google: boolean;
  readonly #dependencies: GrantDependencies;
  readonly #options: OidcClientOptions;
  readonly #classify: OAuthClassifier;
  #configuration: Promise<Configuration> | undefined;

  constructor(mailbox: MailboxConfig, dependencies: GrantDependencies, options: OidcClientOptions = {}) {
    this.mailbox = mailbox;
    this.google = mailbox.authorizationServer.type === 'google';
    this.context = { mailbox: mailbox.name, authorizationServer: mailbox.authorizationServer.name, grantType: mailbox.grantType };
    this.#dependencies = dependencies;
    this.#options = options;
    this.#classify = options.classify ?? (this.google ? classifyGoogleOAuthError : classifyOAuthError);
  }

  /** Built on first use; a failed build (discovery unreachable) is tried again next time. */
  configuration(): Promise<Configuration> {
    this.#configuration ??= this.#build().catch(async (error: unknown) => {
      this.#configuration = undefined;
      throw error instanceof BrokerError ? error : await this.failure(error);
    });
    return this.#configuration;
  }

  /** Any failure of an openid-client call, as the BrokerError to throw. */
  failure(error: unknown): Promise<BrokerError> {
    return fromOpenIdClientError(error, this.context, this.#classify, this.#dependencies.clock.now());
  }

  tokenResult(response: TokenEndpointResponse, options: { previousRefreshToken?: string; keepsRefreshToken: boolean }): TokenResult {
    return toTokenResult(response, { now: this.#dependencies.clock.now(), requestedScopes: this.mailbox.scopes, ...options });
  }

  async #build(): Promise<Configuration> {
    const { mailbox } = this;
    const baseFetch = customFetchFor(this.#dependencies.transport, routeFor(mailbox));
    const source = metadataSource(mailbox.authorizationServer, mailbox.grantType);
    const metadata: ServerMetadata =
      source.kind === 'static' ? source.metadata : withOverrides(await discoverServerMetadata(source.issuer, baseFetch, this.context, this.#dependencies.clock), source.overrides);
    const authentication = this.#options.clientAuthentication ?? (await clientAuthentication(clientAuthMethod(mailbox, metadata), mailbox));
    const configuration = new Configuration(metadata, mailbox.clientId, undefined, authentication);
    configuration[customFetch] = this.google ? withGoogleDeviceResponseFix(baseFetch, metadata.device_authorization_endpoint) : baseFetch;
    if (usesLoopbackHttp(metadata)) allowInsecureRequests(configuration);
    this.#dependencies.logger.debug(
      { mailbox: mailbox.name, authorizationServer: mailbox.authorizationServer.name, metadata: source.kind, tokenEndpoint: metadata.token_endpoint },
      'openid-client configuration ready',
    );
    return configuration;
  }
}
