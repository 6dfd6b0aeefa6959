// Server reflection, as grpcurl and other generic clients use it: a client
// built only from the reflection protos (v1 and v1alpha) lists the services
// and fetches the file that defines TokenBroker. Daemon in-process on a unix socket.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { credentials, loadPackageDefinition } from '@grpc/grpc-js';
import type { ClientDuplexStream, ServiceClientConstructor } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import type { RunningDaemon } from '../../src/daemon/index.js';
import { startIdleDaemon } from '../support/idle-daemon.js';

const REFLECTION_PROTOS = path.join(path.dirname(createRequire(import.meta.url).resolve('@grpc/reflection')), '../proto/grpc/reflection');

interface ReflectionResponse {
  readonly list_services_response?: { readonly service: readonly { readonly name: string }[] };
  readonly file_descriptor_response?: { readonly file_descriptor_proto: readonly Buffer[] };
  readonly error_response?: { readonly error_code: number; readonly error_message: string };
}

type ReflectionStream = ClientDuplexStream<Record<string, string>, ReflectionResponse>;

/** One request on a fresh ServerReflectionInfo stream, and its one answer. */
function ask(address: string, version: 'v1' | 'v1alpha', request: Record<string, string>): Promise<ReflectionResponse> {
  const definition = loadSync(path.join(REFLECTION_PROTOS, version, 'reflection.proto'), { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const loaded = loadPackageDefinition(definition) as unknown as { grpc: { reflection: Record<string, { ServerReflection: ServiceClientConstructor }> } };
  const Reflection = loaded.grpc.reflection[version]?.ServerReflection;
  assert.ok(Reflection !== undefined);
  const client = new Reflection(address, credentials.createInsecure());
  return new Promise((resolve, reject) => {
    const stream = (client as unknown as { ServerReflectionInfo(): ReflectionStream }).ServerReflectionInfo();
    stream.once('data', (response: ReflectionResponse) => {
      resolve(response);
      stream.end();
      client.close();
    });
    stream.once('error', reject);
    stream.write({ host: '', ...request });
  });
}

/** The few FileDescriptorProto fields the test reads, from the protobuf wire format. */
interface FileDescriptor {
  readonly name: string;
  readonly package: string;
  readonly services: readonly { readonly name: string; readonly methods: readonly string[] }[];
}

function fields(bytes: Buffer): { readonly number: number; readonly value: Buffer | number }[] {
  const out: { number: number; value: Buffer | number }[] = [];
  let offset = 0;
  const varint = (): number => {
    let result = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = bytes[offset++] ?? 0;
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
    }
  };
  while (offset < bytes.length) {
    const key = varint();
    const wireType = key & 7;
    if (wireType === 0) out.push({ number: key >>> 3, value: varint() });
    else if (wireType === 2) {
      const length = varint();
      out.push({ number: key >>> 3, value: bytes.subarray(offset, offset + length) });
      offset += length;
    } else if (wireType === 1) offset += 8;
    else if (wireType === 5) offset += 4;
    else throw new Error(`unexpected wire type ${wireType}`);
  }
  return out;
}

const text = (value: Buffer | number): string => (Buffer.isBuffer(value) ? value.toString('utf8') : String(value));
const nested = (value: Buffer | number): Buffer => (Buffer.isBuffer(value) ? value : Buffer.alloc(0));

function decodeFile(bytes: Buffer): FileDescriptor {
  const top = fields(bytes);
  return {
    name: text(top.find((field) => field.number === 1)?.value ?? 0),
    package: text(top.find((field) => field.number === 2)?.value ?? 0),
    services: top
      .filter((field) => field.number === 6)
      .map((field) => {
        const service = fields(nested(field.value));
        return {
          name: text(service.find((entry) => entry.number === 1)?.value ?? 0),
          methods: service.filter((entry) => entry.number === 2).map((entry) => text(fields(nested(entry.value)).find((method) => method.number === 1)?.value ?? 0)),
        };
      }),
  };
}

describe('server reflection', () => {
  let directory: string;
  let daemon: RunningDaemon;
  let address: string;

  before(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'tb-reflection-'));
    address = `unix://${path.join(directory, 'broker.sock')}`;
    daemon = await startIdleDaemon(directory, address);
  });

  after(async () => {
    await daemon?.stop(0);
    await rm(directory, { recursive: true, force: true });
  });

  for (const version of ['v1', 'v1alpha'] as const) {
    test(`grpc.reflection.${version} lists TokenBroker, BrokerAdmin and Health`, async () => {
      const response = await ask(address, version, { list_services: '' });
      const names = (response.list_services_response?.service ?? []).map((service) => service.name).sort();
      assert.deepEqual(names, ['grpc.health.v1.Health', 'tokenbroker.v1.BrokerAdmin', 'tokenbroker.v1.TokenBroker']);
    });
  }

  test('the file containing tokenbroker.v1.TokenBroker describes both services and their methods', async () => {
    const response = await ask(address, 'v1', { file_containing_symbol: 'tokenbroker.v1.TokenBroker' });
    assert.equal(response.error_response, undefined, response.error_response?.error_message);
    const files = (response.file_descriptor_response?.file_descriptor_proto ?? []).map((bytes) => decodeFile(Buffer.from(bytes)));
    const broker = files.find((file) => file.services.some((service) => service.name === 'TokenBroker'));
    assert.ok(broker, `no file with TokenBroker among ${files.map((file) => file.name).join(', ')}`);
    assert.equal(broker.package, 'tokenbroker.v1');
    assert.deepEqual(
      broker.services.map((service) => [service.name, service.methods]),
      [
        ['TokenBroker', ['GetToken', 'WatchToken', 'ReportRejected', 'ListMailboxes']],
        ['BrokerAdmin', ['StartAuthorization', 'CompleteAuthorization', 'GetMailboxStatus', 'Reload']],
      ],
    );
  });

  test('an unknown symbol is an error answer, not a broken stream', async () => {
    const response = await ask(address, 'v1', { file_containing_symbol: 'tokenbroker.v1.NoSuchService' });
    assert.equal(response.error_response?.error_code, 5); // NOT_FOUND
  });
});
