// Who is calling, and may they read this mailbox? Implements server.clients:
// a bearer key in the `authorization` metadata, matched in constant time
// against each client's key digest, or else the subject of the verified mTLS
// client certificate; then the client's mailbox patterns, resolved against
// the configured mailboxes once per config. The list is replaced whole on
// reload; each call sees either the old or the new.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { Metadata, ServerInterceptingCall, status as GrpcStatus } from '@grpc/grpc-js';
import type { ServerInterceptor, ServiceError } from '@grpc/grpc-js';
import { canonicalCertificateSubject, formatCertificateSubject, subjectAttributesOf } from '../config/index.js';
import type { ClientConfig } from '../config/index.js';
import { clientText } from './client-text.js';
import { MailboxAllowList } from './mailbox-allow-list.js';
import { mailboxNameLimit, malformedMailbox, unknownMailbox } from './mailbox-request.js';
import type { MailboxDirectory } from './mailbox-request.js';

export interface AuthenticatedClient {
  readonly name: string;
  readonly admin: boolean;
  mayRead(mailbox: string): boolean;
}

/** Without server.clients every caller that can reach a listener is trusted (CONTRACT.md). */
const TRUSTED: AuthenticatedClient = { name: 'local', admin: true, mayRead: () => true };

interface KnownClient extends AuthenticatedClient {
  /** SHA-256 of the key; absent for a client known by its certificate. */
  readonly digest?: Buffer;
}

interface ClientList {
  /** Undefined: no server.clients, every caller is trusted. */
  readonly clients: readonly KnownClient[] | undefined;
  readonly keyClients: readonly (KnownClient & { readonly digest: Buffer })[];
  readonly bySubject: ReadonlyMap<string, KnownClient>;
  /** The longest mailbox name a request may carry (mailboxNameLimit). */
  readonly nameLimit: number;
}

function clientList(configs: readonly ClientConfig[] | undefined, directory: MailboxDirectory): ClientList {
  const configured = new Set(directory.mailboxNames());
  const known = configs?.map((config) => ({ config, client: knownClient(config, configured) }));
  const clients = known?.map(({ client }) => client);
  return {
    clients,
    keyClients: (clients ?? []).filter((client): client is KnownClient & { readonly digest: Buffer } => client.digest !== undefined),
    bySubject: new Map((known ?? []).flatMap(({ config, client }) => (config.certificateSubject === undefined ? [] : [[config.certificateSubject, client] as const]))),
    nameLimit: mailboxNameLimit(configured),
  };
}

/**
 * The verified client certificate of each call, keyed by the call's own
 * metadata object: handlers see only the metadata, and unlike a metadata
 * entry this cannot be forged by the caller.
 */
const peerCertificates = new WeakMap<Metadata, PeerCertificate>();

export class ClientAuthenticator {
  /** Swapped whole on reload, so a call never sees half of one list and half of another. */
  #list: ClientList;
  readonly #directory: MailboxDirectory;

  /** `directory`: the engine, whose mailboxes the clients' patterns are resolved against. */
  constructor(clients: readonly ClientConfig[] | undefined, directory: MailboxDirectory) {
    this.#directory = directory;
    this.#list = clientList(clients, directory);
  }

  /**
   * Applies a reloaded server.clients from the next call on; undefined (no
   * list) trusts every caller again. Call it after the engine applied the
   * reload's mailboxes: the patterns are resolved against those. Until then a
   * name the old resolution does not know is matched against the patterns.
   */
  replace(clients: readonly ClientConfig[] | undefined): void {
    this.#list = clientList(clients, this.#directory);
  }

  get enforcing(): boolean {
    return this.#list.clients !== undefined;
  }

  /** Whether some client is known by its certificate. */
  get usesCertificates(): boolean {
    return this.#list.bySubject.size > 0;
  }

  /**
   * Records each call's verified client certificate (mTLS) for authenticate().
   * grpc-js hands over only certificates that passed verification against
   * server.tls.clientCaFile.
   */
  readonly interceptor: ServerInterceptor = (_method, call) =>
    new ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            const certificate = call.getAuthContext().sslPeerCertificate;
            if (certificate !== undefined) peerCertificates.set(metadata, certificate);
            nextMetadata(metadata);
          },
        });
      },
    });

  /**
   * The caller, or a status error to answer with. A client key, when sent,
   * decides; without one, the mTLS certificate's subject does.
   */
  authenticate(metadata: Metadata): AuthenticatedClient | Partial<ServiceError> {
    const list = this.#list;
    if (list.clients === undefined) return TRUSTED;
    const header = metadata.get('authorization')[0];
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (match?.[1] === undefined) {
      const certificate = peerCertificates.get(metadata);
      if (certificate !== undefined) return byCertificate(list, certificate);
      return unauthenticated('no client key: send metadata "authorization: Bearer <client key>" (token-broker CLI: --key-file or $TOKEN_BROKER_KEY).');
    }
    const digest = createHash('sha256').update(match[1], 'utf8').digest();
    let found: KnownClient | undefined;
    // Compare against every client, without stopping early, so timing says nothing about which key is close.
    for (const client of list.keyClients) {
      if (timingSafeEqual(client.digest, digest)) found ??= client;
    }
    return found ?? unauthenticated('unknown client key: it matches no entry of server.clients.');
  }

  /**
   * Why `client` may not make an `rpc` call about `mailbox`, or undefined:
   * an empty or overlong name (INVALID_ARGUMENT, before any pattern sees it),
   * then for `read` calls a name outside the client's patterns
   * (PERMISSION_DENIED), then a name no mailbox has (NOT_FOUND). Admin calls
   * (`admin`) may name any mailbox.
   */
  refuseMailbox(client: AuthenticatedClient, mailbox: string, rpc: string, access: 'read' | 'admin'): Partial<ServiceError> | undefined {
    const malformed = malformedMailbox(rpc, mailbox, this.#list.nameLimit);
    if (malformed !== undefined) return malformed;
    if (access === 'read' && !client.mayRead(mailbox)) return permissionDenied(client, `read mailbox ${clientText(mailbox)}`);
    if (!this.#directory.has(mailbox)) return unknownMailbox(mailbox);
    return undefined;
  }
}

function byCertificate(list: ClientList, certificate: PeerCertificate): AuthenticatedClient | Partial<ServiceError> {
  const attributes = subjectAttributesOf(certificate.subject);
  const client = list.bySubject.get(canonicalCertificateSubject(attributes));
  if (client !== undefined) return client;
  // The subject is not secret (the server's CA issued it) and is what the operator needs to write.
  return unauthenticated(
    `no client key, and the client certificate's subject ${formatCertificateSubject(attributes)} matches no server.clients[].certificateSubject: send a client key, or add that subject to the client's entry.`,
  );
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

function knownClient(config: ClientConfig, configured: ReadonlySet<string>): KnownClient {
  const digest =
    config.key !== undefined
      ? createHash('sha256').update(config.key.reveal(), 'utf8').digest()
      : config.keySha256 !== undefined
        ? Buffer.from(config.keySha256, 'hex')
        : undefined;
  const allowList = new MailboxAllowList(config.mailboxes, configured);
  const mayRead = (mailbox: string): boolean => allowList.mayRead(mailbox);
  return digest === undefined ? { name: config.name, admin: config.admin, mayRead } : { name: config.name, admin: config.admin, digest, mayRead };
}
