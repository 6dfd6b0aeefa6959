// Who is calling, and may they read this mailbox? Implements server.clients:
// a bearer key in the `authorization` metadata, matched in constant time
// against each client's key digest, or else the subject of the verified mTLS
// client certificate; then the client's mailbox patterns, resolved against
// the configured mailboxes once per config, and its policy: the protocols it
// may receive tokens for, whether and how many WatchToken streams it may
// hold, and its call budget. The list is replaced whole on reload (budgets
// start full again); each call sees either the old or the new.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { Metadata, ServerInterceptingCall, status as GrpcStatus } from '@grpc/grpc-js';
import type { ServerInterceptor, ServiceError } from '@grpc/grpc-js';
import { canonicalCertificateSubject, formatCertificateSubject, subjectAttributesOf } from '../config/index.js';
import type { ClientConfig, Protocol } from '../config/index.js';
import { systemClock } from '../time/index.js';
import type { Clock } from '../time/index.js';
import { CallBudget } from './call-budget.js';
import { clientText } from './client-text.js';
import { MailboxAllowList } from './mailbox-allow-list.js';
import { mailboxNameLimit, malformedMailbox, unknownMailbox } from './mailbox-request.js';
import type { MailboxDirectory } from './mailbox-request.js';

export interface AuthenticatedClient {
  readonly name: string;
  readonly admin: boolean;
  mayRead(mailbox: string): boolean;
  /** May receive tokens of mailboxes of `protocol` (server.clients[].protocols). */
  mayReceive(protocol: Protocol): boolean;
  /** server.clients[].protocols, for messages; undefined: every protocol. */
  readonly protocols?: readonly Protocol[];
  /** May open WatchToken streams (server.clients[].watch). */
  readonly watch: boolean;
  /** WatchToken streams it may hold open at once; undefined: no limit. */
  readonly maxWatches?: number;
  /** server.clients[].callsPerSecond, for messages; undefined: no limit. */
  readonly callsPerSecond?: number;
  /** Takes one call from its budget at `now` (ms): 0 when it may go ahead, else the ms until it may. */
  takeCall(now: number): number;
}

/** Without server.clients every caller that can reach a listener is trusted (CONTRACT.md). */
const TRUSTED: AuthenticatedClient = { name: 'local', admin: true, mayRead: () => true, mayReceive: () => true, watch: true, takeCall: () => 0 };

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

/** Each call's verdict, keyed by its metadata like the certificates above, and valid for the client list it was made against (a reload swaps it). */
const verdicts = new WeakMap<Metadata, { readonly list: ClientList; readonly verdict: AuthenticatedClient | Partial<ServiceError> }>();

export class ClientAuthenticator {
  /** Swapped whole on reload, so a call never sees half of one list and half of another. */
  #list: ClientList;
  readonly #directory: MailboxDirectory;
  readonly #clock: Clock;

  /** `directory`: the engine, whose mailboxes the clients' patterns are resolved against; `clock` times the call budgets. */
  constructor(clients: readonly ClientConfig[] | undefined, directory: MailboxDirectory, clock: Clock = systemClock) {
    this.#directory = directory;
    this.#clock = clock;
    this.#list = clientList(clients, directory);
  }

  /**
   * authenticate(), then one call from the client's budget: what every
   * handler calls once per call (the audit and re-checks of open streams use
   * authenticate() alone, and take nothing).
   */
  admit(metadata: Metadata): AuthenticatedClient | Partial<ServiceError> {
    const client = this.authenticate(metadata);
    if (!isAuthenticated(client)) return client;
    const waitMs = client.takeCall(this.#clock.now());
    if (waitMs === 0) return client;
    return {
      code: GrpcStatus.RESOURCE_EXHAUSTED,
      details: `client ${client.name} called more than ${client.callsPerSecond ?? 0} times a second (server.clients[].callsPerSecond); retry in ${waitMs} ms, and cache tokens: one lives about an hour.`,
      metadata: resourceExhaustedMetadata(waitMs),
    };
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
    // The handler, the audit log and the metrics each ask about the same call: the key is hashed and compared once.
    const known = verdicts.get(metadata);
    if (known?.list === list) return known.verdict;
    const verdict = verifyClient(list, metadata);
    verdicts.set(metadata, { list, verdict });
    return verdict;
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
    const protocol = this.#directory.protocolOf(mailbox);
    if (protocol === undefined) return unknownMailbox(mailbox);
    if (access === 'read' && !client.mayReceive(protocol)) {
      return permissionDenied(client, `receive tokens for ${protocol} mailboxes such as ${clientText(mailbox)} (its protocols: ${(client.protocols ?? []).join(', ')})`);
    }
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
  const protocols = config.protocols === undefined ? undefined : new Set(config.protocols);
  const budget = config.callsPerSecond === undefined ? undefined : new CallBudget(config.callsPerSecond);
  const client: AuthenticatedClient = {
    name: config.name,
    admin: config.admin,
    mayRead: (mailbox) => allowList.mayRead(mailbox),
    mayReceive: (protocol) => protocols === undefined || protocols.has(protocol),
    ...(config.protocols === undefined ? {} : { protocols: config.protocols }),
    watch: config.watch ?? true,
    ...(config.maxWatches === undefined ? {} : { maxWatches: config.maxWatches }),
    ...(config.callsPerSecond === undefined ? {} : { callsPerSecond: config.callsPerSecond }),
    takeCall: (now) => budget?.take(now) ?? 0,
  };
  return digest === undefined ? client : { ...client, digest };
}

/** grpc-js clients retry RESOURCE_EXHAUSTED after this pushback when a retry policy allows it (gRFC A6). */
function resourceExhaustedMetadata(waitMs: number): Metadata {
  const metadata = new Metadata();
  metadata.set('grpc-retry-pushback-ms', String(waitMs));
  return metadata;
}

/** Who sent the call, by its client key (or mTLS certificate), against `list`: the work authenticate() does once per call. */
function verifyClient(list: ClientList, metadata: Metadata): AuthenticatedClient | Partial<ServiceError> {
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
