// What one connection to the gRPC server may hold, and for how long. Without
// these grpc-js keeps a connection forever: 300 that never sent a byte, or
// whose client vanished, stayed open. The requests are tiny, so is the
// bound on a message.
import type { ServerOptions } from '@grpc/grpc-js';

export interface ConnectionLimits {
  /**
   * A connection with no call open this long is closed (GOAWAY); a client
   * that calls again reconnects by itself. A WatchToken stream is a call, so
   * a watching connector is never idle.
   */
  readonly idleMs: number;
  /**
   * Every this long the server pings the client; no answer within
   * keepaliveTimeoutMs and the connection is dropped. This ends connections
   * whose peer is gone (half-open) and those that never spoke HTTP/2, idle or
   * not. A TLS connection that never completes its handshake is Node's to
   * end (tls.Server's handshakeTimeout, 120 s).
   */
  readonly keepaliveTimeMs: number;
  readonly keepaliveTimeoutMs: number;
  /**
   * Calls open at once on one connection; the client queues the rest. High
   * enough for a connector that watches many mailboxes over one channel.
   */
  readonly maxConcurrentStreams: number;
  /** The largest request message accepted; larger ones are RESOURCE_EXHAUSTED. */
  readonly maxReceiveMessageBytes: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  idleMs: 5 * 60_000,
  keepaliveTimeMs: 2 * 60_000,
  keepaliveTimeoutMs: 20_000,
  maxConcurrentStreams: 1_000,
  maxReceiveMessageBytes: 64 * 1024,
};

/**
 * The grpc-js server options for `limits`. Not grpc.max_connection_age_ms:
 * it would end every connection after that age, and with it each
 * WatchToken stream, which the contract keeps open until the client cancels.
 */
export function connectionOptions(limits: ConnectionLimits): ServerOptions {
  return {
    'grpc.max_connection_idle_ms': limits.idleMs,
    'grpc.keepalive_time_ms': limits.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': limits.keepaliveTimeoutMs,
    'grpc.max_concurrent_streams': limits.maxConcurrentStreams,
    'grpc.max_receive_message_length': limits.maxReceiveMessageBytes,
  };
}
