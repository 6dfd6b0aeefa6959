// A request whose bytes are no protobuf message of the method's request type
// is the client's mistake: INVALID_ARGUMENT, as CONTRACT.md says for a
// malformed request. grpc-js answers INTERNAL when a deserializer throws, and
// has no option for it (that status is sent below the interceptors). So the
// server's deserializers never throw: they hand an UndecodableRequest on, and
// an interceptor answers it before any handler sees it.
import { Server, ServerInterceptingCall, status as GrpcStatus } from '@grpc/grpc-js';
import type { ServerInterceptor, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { BrokerError } from '../errors/index.js';
import { clientText } from './client-text.js';
import { toStatus } from './to-status.js';

/** What a guarded deserializer returns instead of throwing. */
class UndecodableRequest {
  readonly error: BrokerError;

  constructor(path: string, cause: unknown) {
    // The decoder's complaint ("index out of range: 1 + 1 > 1") says where the bytes went wrong; it is about client input, so excerpted.
    const reason = clientText(cause instanceof Error ? cause.message : String(cause), 120);
    this.error = new BrokerError(`the request to ${path} is not a valid protobuf message (${reason}).`, {
      code: 'invalid_request',
      permanent: true,
      remediation: 'Send the request message the method takes, serialized from the service\'s .proto (server reflection lists them).',
    });
  }
}

/** `service` with deserializers that return an UndecodableRequest where the original throws. */
export function guardDecoding(service: ServiceDefinition): ServiceDefinition {
  const guarded: Record<string, ServiceDefinition[string]> = {};
  for (const [name, method] of Object.entries(service)) {
    guarded[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer): unknown => {
        try {
          return method.requestDeserialize(bytes);
        } catch (error) {
          return new UndecodableRequest(method.path, error);
        }
      },
    };
  }
  return guarded;
}

/** Answers an UndecodableRequest with its INVALID_ARGUMENT; the handler never sees the call. */
export const undecodableRequestInterceptor: ServerInterceptor = (_method, next) => {
  const call: ServerInterceptingCall = new ServerInterceptingCall(next, {
    start: (proceed) => {
      proceed({
        onReceiveMessage: (message, pass) => {
          if (!(message instanceof UndecodableRequest)) {
            pass(message);
            return;
          }
          const { code = GrpcStatus.INVALID_ARGUMENT, details = '', metadata } = toStatus(message.error);
          call.sendStatus({ code, details, metadata });
        },
      });
    },
  });
  return call;
};

/**
 * A grpc-js Server whose every service, ours and those the health and
 * reflection libraries add, decodes through guardDecoding. Serve it with
 * undecodableRequestInterceptor.
 */
export class DecodeGuardedServer extends Server {
  override addService(service: ServiceDefinition, implementation: UntypedServiceImplementation): void {
    super.addService(guardDecoding(service), implementation);
  }
}
