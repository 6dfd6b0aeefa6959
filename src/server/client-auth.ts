// Who is calling, and may they read this mailbox? Implements server.clients:
// a bearer key in the `authorization` metadata, matched in constant time
// against each client's key digest, then the client's mailbox patterns. The
// list is replaced whole on reload; each call sees either the old or the new.
import { createHash, timingSafeEqual } from 'node:crypto';
import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import type { ClientConfig } from '../config/index.js';

export interface AuthenticatedClient {
  readonly name: string;
  readonly admin: boolean;
  mayRead(mailbox: string): boolean;
}

/** Without server.clients every caller that can reach a listener is trusted (CONTRACT.md). */
const TRUSTED: AuthenticatedClient = { name: 'local', admin: true, mayRead: () => true };

interface KnownClient extends AuthenticatedClient {
  readonly digest: Buffer;
}

export class ClientAuthenticator {
  #clients: readonly KnownClient[] | undefined;

  constructor(clients: readonly ClientConfig[] | undefined) {
    this.#clients = clients?.map(knownClient);
  }

  /** Applies a reloaded server.clients from the next call on; undefined (no list) trusts every caller again. */
  replace(clients: readonly ClientConfig[] | undefined): void {
    this.#clients = clients?.map(knownClient);
  }

  get enforcing(): boolean {
    return this.#clients !== undefined;
  }

  /** The caller, or a status error to answer with. */
  authenticate(metadata: Metadata): AuthenticatedClient | Partial<ServiceError> {
    const clients = this.#clients;
    if (clients === undefined) return TRUSTED;
    const header = metadata.get('authorization')[0];
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (match?.[1] === undefined) {
      return unauthenticated('no client key: send metadata "authorization: Bearer <client key>" (token-broker CLI: --key-file or $TOKEN_BROKER_KEY).');
    }
    const digest = createHash('sha256').update(match[1], 'utf8').digest();
    let found: KnownClient | undefined;
    // Compare against every client, without stopping early, so timing says nothing about which key is close.
    for (const client of clients) {
      if (timingSafeEqual(client.digest, digest)) found ??= client;
    }
    return found ?? unauthenticated('unknown client key: it matches no entry of server.clients.');
  }
}

export function isAuthenticated(value: AuthenticatedClient | Partial<ServiceError>): value is AuthenticatedClient {
  return 'mayRead' in value;
}

export function permissionDenied(client: AuthenticatedClient, what: string): Partial<ServiceError> {
  return { code: GrpcStatus.PERMISSION_DENIED, details: `client ${client.name} may not ${what}; see server.clients in the broker config.` };
}

function unauthenticated(details: string): Partial<ServiceError> {
  return { code: GrpcStatus.UNAUTHENTICATED, details, metadata: new Metadata() };
}

function knownClient(config: ClientConfig): KnownClient {
  const digest =
    config.key !== undefined
      ? createHash('sha256').update(config.key.reveal(), 'utf8').digest()
      : Buffer.from(config.keySha256 ?? '', 'hex');
  const patterns = config.mailboxes.map(globToRegExp);
  return {
    name: config.name,
    admin: config.admin,
    digest,
    mayRead: (mailbox) => patterns.some((pattern) => pattern.test(mailbox)),
  };
}

/**
 * `*` any run of characters, `?` one character, everything else literal.
 * Written here rather than taken from a glob library: mailbox names are flat
 * identifiers, not paths, and path-glob rules (dotfiles, `/`) would only surprise.
 */
export function globToRegExp(pattern: string): RegExp {
  const body = [...pattern]
    .map((char) => (char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`);
}
