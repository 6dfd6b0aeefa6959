// Hostile bytes on every RPC, property-based (fast-check), against the real
// daemon (in-process) on a unix socket: a request that does not decode is
// INVALID_ARGUMENT, no request whatever its bytes is answered INTERNAL or
// UNKNOWN or with a long echo of itself, and the server keeps answering
// everyone else. Raw calls go through a grpc-js Client with identity
// serializers, so the bytes reach the server exactly as generated.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client, credentials, Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import fc from 'fast-check';
import type { TokenBrokerClient } from '../../src/client/index.js';
import { loadBrokerProto } from '../../src/proto/index.js';
import { clientCredentialsMailbox, startInProcessBroker } from '../support/in-process-broker.js';
import type { InProcessBroker } from '../support/in-process-broker.js';

const SEED = process.env.FC_SEED === undefined ? 20261205 : Number(process.env.FC_SEED);
const RUNS = (fallback: number): number => (process.env.FC_RUNS === undefined ? fallback : Number(process.env.FC_RUNS));

const ADMIN_KEY = `admin-${randomUUID()}`;

const UNARY_METHODS = [
  '/tokenbroker.v1.TokenBroker/GetToken',
  '/tokenbroker.v1.TokenBroker/ReportRejected',
  '/tokenbroker.v1.TokenBroker/ListMailboxes',
  '/tokenbroker.v1.BrokerAdmin/StartAuthorization',
  '/tokenbroker.v1.BrokerAdmin/CompleteAuthorization',
  '/tokenbroker.v1.BrokerAdmin/GetMailboxStatus',
  '/tokenbroker.v1.BrokerAdmin/Reload',
];
const STREAM_METHODS = ['/tokenbroker.v1.TokenBroker/WatchToken'];
const ALL_METHODS = [...UNARY_METHODS, ...STREAM_METHODS];

/** The server's own decoders, as the oracle of which bytes are a request at all. */
function referenceDecoders(): Map<string, (bytes: Buffer) => unknown> {
  const proto = loadBrokerProto();
  const decoders = new Map<string, (bytes: Buffer) => unknown>();
  for (const service of [proto.tokenBrokerService, proto.brokerAdminService] as unknown as Record<string, { path: string; requestDeserialize: (bytes: Buffer) => unknown }>[]) {
    for (const method of Object.values(service)) decoders.set(method.path, method.requestDeserialize);
  }
  return decoders;
}

function decodes(decoder: (bytes: Buffer) => unknown, bytes: Buffer): boolean {
  try {
    decoder(bytes);
    return true;
  } catch {
    return false;
  }
}

interface Answer {
  readonly code: number;
  readonly details: string;
}

describe('hostile bytes on every RPC', () => {
  let broker: InProcessBroker;
  let raw: Client;
  let good: TokenBrokerClient;

  before(async () => {
    const app = { tenantId: randomUUID(), clientId: randomUUID(), clientSecret: 'app-secret' };
    broker = await startInProcessBroker({
      prefix: 'tb-hostile-grpc-',
      setup: async (sandbox, directory) => {
        sandbox.registerApplication(app);
        await writeFile(path.join(directory, 'admin.key'), `${ADMIN_KEY}\n`, { mode: 0o600 });
      },
      config: ({ sandbox, address }) => `server:
  listen: ["${address}"]
  clients:
    - { name: ops, keyFile: admin.key, mailboxes: ["*"], admin: true }
store: { url: "memory:" }
authorizationServers:
  microsoft: { authorityHost: "${sandbox.url}", caFile: ca.pem }
mailboxes:
${clientCredentialsMailbox('sales-imap', app)}`,
    });
    raw = new Client(broker.address, credentials.createInsecure());
    good = broker.connect(ADMIN_KEY);
    await good.getToken('sales-imap');
  });

  after(async () => {
    raw?.close();
    await broker?.stop();
  });

  const identity = (value: Buffer): Buffer => value;
  const metadata = (): Metadata => {
    const result = new Metadata();
    result.set('authorization', `Bearer ${ADMIN_KEY}`);
    return result;
  };

  /** Sends `bytes` as the request of `method` and resolves with how the call ended (a stream is cancelled after its first message). */
  function call(method: string, bytes: Buffer): Promise<Answer> {
    const deadline = Date.now() + 30_000;
    if (STREAM_METHODS.includes(method)) {
      return new Promise((resolve) => {
        const stream = raw.makeServerStreamRequest(method, identity, identity, bytes, metadata(), { deadline });
        stream.on('data', () => stream.cancel());
        stream.on('error', (error: ServiceError) => resolve({ code: error.code, details: error.details }));
        stream.on('status', (status: { code: GrpcStatus; details: string }) => {
          if (status.code === GrpcStatus.OK) resolve({ code: status.code, details: status.details });
        });
      });
    }
    return new Promise((resolve) => {
      raw.makeUnaryRequest(method, identity, identity, bytes, metadata(), { deadline }, (error: ServiceError | null) => {
        resolve(error === null ? { code: GrpcStatus.OK, details: '' } : { code: error.code, details: error.details });
      });
    });
  }

  function assertAnsweredWell(method: string, answer: Answer): void {
    assert.notEqual(answer.code, GrpcStatus.INTERNAL, `${method}: INTERNAL (${answer.details})`);
    assert.notEqual(answer.code, GrpcStatus.UNKNOWN, `${method}: UNKNOWN (${answer.details})`);
    assert.notEqual(answer.code, GrpcStatus.DEADLINE_EXCEEDED, `${method}: no answer within the deadline`);
    assert.ok(answer.details.length <= 1_000, `${method}: a status message of ${answer.details.length} characters`);
  }

  test('random bytes on every RPC: INVALID_ARGUMENT when they are no request, else a deliberate answer; never INTERNAL, UNKNOWN or a long echo', async () => {
    const decoders = referenceDecoders();
    assert.deepEqual([...decoders.keys()].sort(), [...ALL_METHODS].sort(), 'the methods of this test are the methods of the proto');
    let undecodable = 0;
    // Short inputs and protobuf-looking prefixes (a length-delimited field 1) make both kinds of input common.
    const bytes = fc.oneof(fc.uint8Array({ maxLength: 8 }), fc.uint8Array({ maxLength: 2_048 }), fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 64 })).map(([length, tail]) => Uint8Array.from([0x0a, length, ...tail])));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ALL_METHODS), bytes, async (method, generated) => {
        const request = Buffer.from(generated);
        const answer = await call(method, request);
        assertAnsweredWell(method, answer);
        if (!decodes(decoders.get(method)!, request)) {
          undecodable++;
          assert.equal(answer.code, GrpcStatus.INVALID_ARGUMENT, `${method} with undecodable bytes: ${GrpcStatus[answer.code]} (${answer.details})`);
        }
      }),
      { seed: SEED, numRuns: RUNS(250) },
    );
    assert.ok(undecodable > 10, `only ${undecodable} undecodable inputs were generated: the property did not test what it claims`);
  });

  test('oversized names on every RPC that takes one are refused briefly, and others are still served', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 300, max: 3_000_000 }), fc.constantFrom('a', '-', '*', '\u0001', 'é'), async (length, unit) => {
        const name = unit.repeat(length);
        const answers = await Promise.all([
          good.getToken(name).then(
            () => undefined,
            (error: ServiceError) => error,
          ),
          good.getMailboxStatus(name).then(
            () => undefined,
            (error: ServiceError) => error,
          ),
        ]);
        for (const error of answers) {
          assert.ok(error !== undefined, 'an oversized mailbox name was answered with a token or status');
          assertAnsweredWell('name', { code: error.code, details: error.details });
          assert.ok([GrpcStatus.INVALID_ARGUMENT, GrpcStatus.NOT_FOUND, GrpcStatus.RESOURCE_EXHAUSTED].includes(error.code), `${GrpcStatus[error.code]}: ${error.details}`);
        }
        assert.ok((await good.getToken('sales-imap')).accessToken.length > 0);
      }),
      { seed: SEED, numRuns: RUNS(12) },
    );
  });

  test('after all of it the daemon serves a real mailbox', async () => {
    const token = await good.getToken('sales-imap');
    assert.ok(broker.sandbox.verifyAccessToken(token.accessToken));
  });
});
