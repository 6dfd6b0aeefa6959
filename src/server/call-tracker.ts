// Knows every call the server is answering, so a stop can wait for the unary
// ones, end the streams that never end by themselves, say how many calls it
// cut, and answer those with UNAVAILABLE (a status a client retries) rather
// than the CANCELLED a dropped connection gives.
import { ServerInterceptingCall, status as GrpcStatus } from '@grpc/grpc-js';
import type { ServerInterceptor } from '@grpc/grpc-js';

interface OpenCall {
  readonly call: ServerInterceptingCall;
  /** Responds with a stream (WatchToken, health Watch, reflection): these never finish while the client listens. */
  readonly streaming: boolean;
  /** A status went out: anything the handler sends afterwards is dropped, so each call gets exactly one. */
  ended: boolean;
}

export class CallTracker {
  readonly #open = new Set<OpenCall>();

  readonly interceptor: ServerInterceptor = (method, next) => {
    const entry: OpenCall = {
      call: new ServerInterceptingCall(next, {
        start: (proceed) => {
          this.#open.add(entry);
          proceed({ onCancel: () => this.#finish(entry) });
        },
        sendMessage: (message, proceed) => {
          if (!entry.ended) proceed(message);
        },
        sendStatus: (status, proceed) => {
          if (entry.ended) return;
          this.#finish(entry);
          proceed(status);
        },
      }),
      streaming: method.responseStream,
      ended: false,
    };
    return entry.call;
  };

  /** Unary calls (a request, one answer) not yet answered. */
  get unaryInFlight(): number {
    let count = 0;
    for (const entry of this.#open) if (!entry.streaming) count++;
    return count;
  }

  /** Ends every open stream with UNAVAILABLE; returns how many. */
  endStreams(details: string): number {
    return this.#end((entry) => entry.streaming, details);
  }

  /** Ends every open call with UNAVAILABLE; returns how many unary calls it cut. */
  endAll(details: string): number {
    const unary = this.unaryInFlight;
    this.#end(() => true, details);
    return unary;
  }

  #end(which: (entry: OpenCall) => boolean, details: string): number {
    const ending = [...this.#open].filter(which);
    for (const entry of ending) entry.call.sendStatus({ code: GrpcStatus.UNAVAILABLE, details });
    return ending.length;
  }

  #finish(entry: OpenCall): void {
    entry.ended = true;
    this.#open.delete(entry);
  }
}
