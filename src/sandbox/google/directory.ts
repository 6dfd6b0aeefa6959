// What the sandbox's "Google Cloud project" and "Workspace domain" hold:
// OAuth clients, service accounts with their public keys, and users.
import { createPublicKey, X509Certificate } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { GoogleClientRegistration, GoogleServiceAccountRegistration } from './types.js';

export interface ServiceAccount {
  readonly clientId: string;
  readonly publicKey: KeyObject;
  readonly delegatedScopes: readonly string[] | undefined;
}

export class Directory {
  readonly #clients = new Map<string, GoogleClientRegistration>();
  readonly #serviceAccounts = new Map<string, ServiceAccount>();
  readonly #users = new Set<string>();

  registerClient(client: GoogleClientRegistration): void {
    this.#clients.set(client.clientId, { ...client, redirectUris: [...client.redirectUris] });
  }

  client(clientId: string): GoogleClientRegistration | undefined {
    return this.#clients.get(clientId);
  }

  registerServiceAccount(account: GoogleServiceAccountRegistration): void {
    const pem = account.publicKeyPem ?? account.certificatePem;
    if (pem === undefined) throw new TypeError('registerServiceAccount needs publicKeyPem or certificatePem');
    const publicKey = account.publicKeyPem !== undefined ? createPublicKey(account.publicKeyPem) : new X509Certificate(pem).publicKey;
    this.#serviceAccounts.set(account.clientId, { clientId: account.clientId, publicKey, delegatedScopes: account.delegatedScopes });
  }

  serviceAccount(clientId: string): ServiceAccount | undefined {
    return this.#serviceAccounts.get(clientId);
  }

  registerUser(email: string): void {
    this.#users.add(email.toLowerCase());
  }

  hasUser(email: string): boolean {
    return this.#users.has(email.toLowerCase());
  }

  /** The only user, for a sign-in without login_hint. */
  soleUser(): string | undefined {
    return this.#users.size === 1 ? [...this.#users][0] : undefined;
  }
}
