// What the sandbox's "Google Cloud project" and "Workspace domain" hold:
// OAuth clients, service accounts with their public keys, and users.
import { createPublicKey, X509Certificate } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { GoogleClientRegistration, GoogleServiceAccountRegistration } from './types.js';

export interface ServiceAccountKey {
  /** Undefined for a key registered without an id (then only an assertion without kid finds it). */
  readonly keyId: string | undefined;
  readonly publicKey: KeyObject;
}

export interface ServiceAccount {
  readonly clientId: string;
  readonly keys: readonly ServiceAccountKey[];
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
    // Another registration of the account adds a key (a rotation holds two); the latest delegation applies.
    const keys = this.#serviceAccounts.get(account.clientId)?.keys ?? [];
    this.#serviceAccounts.set(account.clientId, { clientId: account.clientId, keys: [...keys, { keyId: account.keyId, publicKey }], delegatedScopes: account.delegatedScopes });
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
