// The byte stream under one mail session: CRLF lines in and out, exact byte
// counts for IMAP literals, a STARTTLS upgrade in place, a deadline on every
// wait, and the transcript, in which no secret the client sent appears.
import type { Socket } from 'node:net';
import tls from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { cancelled, protocolError, timedOut, tlsFailure } from './mail-errors.js';
import type { MailEndpoint } from './mail-errors.js';

/** A line longer than this is no mail protocol's: a wrong port (an HTTP server's body) or a hostile peer. */
const MAX_LINE_BYTES = 256 * 1024;

export interface TlsOptions {
  /** PEM text trusted in addition to the system roots. */
  readonly ca?: string;
  /** The name the certificate must carry (and SNI); default the host. */
  readonly servername?: string;
}

export interface WireOptions {
  readonly endpoint: MailEndpoint;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

export class MailWire {
  readonly endpoint: MailEndpoint;
  readonly #timeoutMs: number;
  readonly #signal: AbortSignal | undefined;
  readonly #transcript: string[] = [];
  /** Strings that must never reach the transcript (what authenticate() sent), with what stands in for them. */
  readonly #secrets: [string, string][] = [];
  #socket: Socket;
  #buffer: Buffer = Buffer.alloc(0);
  #wake: (() => void) | undefined;
  #failure: Error | undefined;
  #ended = false;
  readonly #onData = (chunk: Buffer): void => {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    this.#wake?.();
  };
  readonly #onEnd = (): void => {
    this.#ended = true;
    this.#wake?.();
  };
  readonly #onError = (error: Error): void => {
    this.#failure ??= error;
    this.#wake?.();
  };

  constructor(socket: Socket, options: WireOptions) {
    this.endpoint = options.endpoint;
    this.#timeoutMs = options.timeoutMs;
    this.#signal = options.signal;
    this.#socket = socket;
    this.#attach(socket);
  }

  get transcript(): readonly string[] {
    return this.#transcript;
  }

  get encrypted(): boolean {
    return (this.#socket as Partial<TLSSocket>).encrypted === true;
  }

  /** Keeps `secret` out of the transcript from now on, shown as `shownAs` (server lines that echo it included). */
  hide(secret: string, shownAs: string): void {
    if (secret !== '') this.#secrets.push([secret, shownAs]);
  }

  /** `text` with every hidden secret replaced: for server lines that leave the session (replies, error messages). */
  scrub(text: string): string {
    let shown = text;
    for (const [secret, shownAs] of this.#secrets) shown = shown.split(secret).join(shownAs);
    return shown;
  }

  /**
   * A server line for an error message: scrubbed, THEN cut to `max`
   * characters. Cut first, a secret the server echoed would no longer match
   * whole and its first part would be quoted.
   */
  quote(line: string, max = 200): string {
    return this.scrub(line).slice(0, max);
  }

  /** Writes one line (CRLF added); the transcript shows it with every hidden secret replaced. */
  writeLine(line: string): void {
    this.#record('C', line);
    this.#socket.write(`${line}\r\n`);
  }

  /** The next line, without its CRLF (a bare LF is taken too). */
  async readLine(waitingFor: string): Promise<string> {
    for (;;) {
      const end = this.#buffer.indexOf(0x0a);
      if (end >= 0) {
        const line = this.#buffer.subarray(0, end > 0 && this.#buffer[end - 1] === 0x0d ? end - 1 : end).toString('utf8');
        this.#buffer = this.#buffer.subarray(end + 1);
        this.#record('S', line);
        return line;
      }
      if (this.#buffer.length > MAX_LINE_BYTES) {
        throw protocolError(this.endpoint, `sent a line longer than ${MAX_LINE_BYTES} bytes (waiting for ${waitingFor}).`);
      }
      await this.#more(waitingFor);
    }
  }

  /** Exactly `count` bytes (an IMAP literal), as text; the transcript notes their size only. */
  async readBytes(count: number, waitingFor: string): Promise<string> {
    if (count > MAX_LINE_BYTES) throw protocolError(this.endpoint, `announced a literal of ${count} bytes (waiting for ${waitingFor}).`);
    while (this.#buffer.length < count) await this.#more(waitingFor);
    const bytes = this.#buffer.subarray(0, count);
    this.#buffer = this.#buffer.subarray(count);
    this.#transcript.push(`S: <literal, ${count} bytes>`);
    return bytes.toString('utf8');
  }

  /**
   * Puts TLS under the session (implicit TLS at connect, or after the
   * server's yes to STARTTLS). Bytes the server sent before the handshake
   * are dropped: a plain-text answer injected ahead of TLS must not be read as
   * if it came over it (the STARTTLS command-injection flaw, RFC 3207 s. 4.2).
   */
  async startTls(options: TlsOptions, afterStarttls: boolean): Promise<void> {
    const raw = this.#socket;
    this.#detach(raw);
    this.#buffer = Buffer.alloc(0);
    const servername = options.servername ?? this.endpoint.host;
    const isAddress = /^[\d.]+$|:/.test(servername);
    const secure = tls.connect({
      socket: raw,
      // The identity checked is `servername`, else `host`; SNI carries only names, never addresses.
      host: servername,
      ...(isAddress ? {} : { servername }),
      // An explicit `ca` replaces Node's roots: keep them beside the extra anchor.
      ...(options.ca === undefined ? {} : { ca: [...tls.rootCertificates, options.ca] }),
    });
    try {
      await this.#until(
        new Promise<void>((resolve, reject) => {
          secure.once('secureConnect', resolve);
          secure.once('error', reject);
          secure.once('close', () => reject(Object.assign(new Error('the connection closed during the TLS handshake'), { code: 'ECONNRESET' })));
        }),
        'the TLS handshake',
      );
    } catch (error) {
      secure.destroy();
      if (error instanceof Error && (error as { code?: string }).code === 'TB_TIMEOUT') throw timedOut(this.endpoint, this.#timeoutMs, 'the TLS handshake');
      if (error instanceof Error && (error as { code?: string }).code === 'TB_CANCELLED') throw cancelled(this.endpoint);
      throw tlsFailure(this.endpoint, error, afterStarttls);
    }
    this.#transcript.push(`-- TLS ${secure.getProtocol() ?? ''} established with ${servername} --`);
    this.#socket = secure;
    this.#failure = undefined;
    this.#ended = false;
    this.#attach(secure);
  }

  close(): void {
    this.#detach(this.#socket);
    this.#socket.on('error', () => undefined);
    this.#socket.destroy();
  }

  #record(direction: 'C' | 'S', line: string): void {
    this.#transcript.push(`${direction}: ${this.scrub(line)}`);
  }

  #attach(socket: Socket): void {
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onEnd);
    socket.on('error', this.#onError);
    // A socket handed over paused (after a SOCKS5 handshake) stays paused on a new 'data' listener.
    socket.resume();
  }

  #detach(socket: Socket): void {
    socket.off('data', this.#onData);
    socket.off('end', this.#onEnd);
    socket.off('close', this.#onEnd);
    socket.off('error', this.#onError);
  }

  async #more(waitingFor: string): Promise<void> {
    if (this.#failure !== undefined) {
      throw protocolError(this.endpoint, `broke the connection (${(this.#failure as { code?: string }).code ?? this.#failure.message}) while we waited for ${waitingFor}.`);
    }
    if (this.#ended) throw protocolError(this.endpoint, `closed the connection while we waited for ${waitingFor}.`);
    try {
      await this.#until(new Promise<void>((resolve) => (this.#wake = resolve)), waitingFor);
    } catch (error) {
      if ((error as { code?: string }).code === 'TB_CANCELLED') throw cancelled(this.endpoint);
      throw timedOut(this.endpoint, this.#timeoutMs, waitingFor);
    } finally {
      this.#wake = undefined;
    }
  }

  /** `promise`, or a TB_TIMEOUT / TB_CANCELLED rejection when the deadline or the signal comes first. */
  #until<T>(promise: Promise<T>, waitingFor: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const signal = this.#signal;
      const onAbort = (): void => finish(() => reject(Object.assign(new Error('cancelled'), { code: 'TB_CANCELLED' })));
      const timer = setTimeout(() => finish(() => reject(Object.assign(new Error(`timeout waiting for ${waitingFor}`), { code: 'TB_TIMEOUT' }))), this.#timeoutMs);
      const finish = (then: () => void): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        then();
      };
      if (signal?.aborted === true) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      promise.then(
        (value) => finish(() => resolve(value)),
        (error: unknown) => finish(() => reject(error instanceof Error ? error : new Error(String(error)))),
      );
    });
  }
}
