// `server` in the document schema: sections/server.ts reads it.
import { z } from 'zod';
import { DEFAULT_LISTEN } from '../defaults.js';
import { filePath, flag, octalMode, patternList, SAFE_NAME, SAFE_NAME_RULE, sha256Hex, wholeNumber } from '../fields.js';
import { certificateSubjectField, listenList, protocolList } from '../sections/server.js';
import { emptyAllowed, key, oneOrList, secretPair } from './keys.js';

/** server.limits: the reader bounds each with wholeNumber(min) piped through a maximum. */
const bounded = (min: number, max: number) => wholeNumber(min).pipe(z.number().max(max));

const limits = z
  .object({
    maxRequestBytes: key(bounded(1_024, 4 * 1024 * 1024), {
      description: 'The largest request message a client may send, in bytes (1 KiB to 4 MiB); a larger one is refused with RESOURCE_EXHAUSTED. Applied at start: a change needs a restart.',
      default: 65_536,
    }).optional(),
    maxStreamsPerConnection: key(bounded(1, 100_000), {
      description: 'Calls open at once on one connection (1 to 100,000). Applied at start.',
      default: 1_000,
    }).optional(),
    idleConnectionSeconds: key(bounded(10, 86_400), {
      description: 'A connection with no call open this long (10 s to a day) is closed. Applied at start.',
      default: 300,
    }).optional(),
  })
  .strict()
  .meta({ description: 'Bounds on what one connection may send and hold (an addition to the contract); keys left out keep the defaults.' });

const tls = z
  .object({
    certFile: key(filePath, {
      description: "The PEM certificate (chain) the gRPC server presents on tcp:// addresses; relative to the config file's folder. Its expiry is part of the token-death forecast.",
      examples: ['/etc/token-broker/tls/server.pem'],
    }),
    keyFile: key(filePath, {
      description: 'The PEM private key of certFile (not encrypted). A secret file: at most 64 KiB, a warning when its group or others may read it.',
      examples: ['/etc/token-broker/tls/server.key'],
    }),
    clientCaFile: key(filePath, {
      description: 'The CA that issues client certificates: with it every TCP client must present a certificate it issued (mTLS), and clients may be known by certificateSubject.',
      examples: ['/etc/token-broker/tls/clients-ca.pem'],
    }).optional(),
  })
  .strict()
  .meta({ description: 'TLS for tcp:// addresses; needed for any address beyond loopback.' });

const client = z
  .object({
    name: key(z.string().regex(SAFE_NAME), {
      description: `The client's name, unique among the clients (${SAFE_NAME_RULE}); it appears in logs, the audit log and metrics.`,
      examples: ['connector-1'],
    }),
    ...secretPair('key', 'The bearer key the client sends (gRPC metadata `authorization: Bearer KEY`, or the CLI\'s --key-file).'),
    keySha256: key(sha256Hex, {
      description: 'Instead of key: the SHA-256 of the key as 64 hexadecimal digits (printf %s "$KEY" | sha256sum), so the broker holds no copy of it.',
    }).optional(),
    certificateSubject: key(certificateSubjectField, {
      description:
        "Instead of a key: the whole subject of the client's mTLS certificate (every attribute, in any order), as `openssl x509 -noout -subject` prints it. Needs server.tls.clientCaFile. Exactly one of key, keyFile, keySha256 and certificateSubject is required (checked by the loader).",
      examples: ['CN=connector-1, O=Acme'],
    }).optional(),
    mailboxes: key(patternList, {
      description: 'The mailbox names or glob patterns this client may use: * any run of characters, ? one, [...] one of a set such as [a-c] or [!0-9]. A name that matches no mailbox is a warning.',
      examples: [['sales-*', 'support']],
    }),
    admin: key(flag, { description: 'May call BrokerAdmin (reload, authorization, status of every mailbox).', default: false }).optional(),
    protocols: key(protocolList, {
      description: 'Tokens only for mailboxes of these protocols (an SMTP sender gets no IMAP token): PERMISSION_DENIED for the others. Left out: every protocol.',
      examples: [['smtp']],
    }).optional(),
    watch: key(flag, { description: 'May open WatchToken streams; false refuses them.', default: true }).optional(),
    maxWatches: key(wholeNumber(1), { description: 'WatchToken streams this client may hold open at once; beyond, RESOURCE_EXHAUSTED. Left out: no limit.' }).optional(),
    callsPerSecond: key(wholeNumber(1), {
      description: "Calls per second: every call draws on a budget holding two seconds' worth; beyond, RESOURCE_EXHAUSTED with the wait in the message and grpc-retry-pushback-ms. Left out: no limit.",
    }).optional(),
  })
  .strict();

export const serverSection = emptyAllowed(
  z
    .object({
      listen: key(oneOrList(listenList), {
        description:
          'Where the gRPC server listens: one address or a list of them, each unix:///absolute/path or tcp://host:port. Plain TCP beyond loopback (127.0.0.1, ::1, localhost) needs server.tls; a unix path may not be under /proc, /sys or /dev.',
        default: [DEFAULT_LISTEN],
        examples: [['unix:///run/token-broker/broker.sock', 'tcp://127.0.0.1:50051']],
      }).optional(),
      socketMode: key(octalMode, {
        description: 'Permission bits of the unix sockets, as a quoted octal string (YAML reads an unquoted 0660 as the number 660).',
        default: '0660',
      }).optional(),
      tls: tls.optional(),
      clients: key(z.array(client), {
        description: 'The allow-list of clients. Without it, any caller that can open the socket (or reach the TCP port) is trusted.',
      }).optional(),
      limits: limits.optional(),
    })
    .strict(),
).meta({ description: 'The gRPC server: where it listens, its TLS, and which clients may call it.' });
